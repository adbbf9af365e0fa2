/**
 * How large a payload the Redis store takes: the server's
 * `proto-max-bulk-len`, the longest string a command may carry (512 MB by
 * default). A longer one would not be refused as a command: the server would
 * close the connection, which looks like an outage and would be tried
 * again for ever. Read once, at connect; a server that does not let us read
 * its configuration (`CONFIG` renamed or refused, as managed services do)
 * is taken to have the default.
 *
 * Internal: not an entry point of the package.
 */
import { redisDefaultLimit } from "../payloadSize.ts"
import type { Sender } from "./scripts.ts"

/** The setting's value in a `CONFIG GET` reply: a flat array in RESP2, a map in RESP3. */
const valueOf = (reply: unknown): unknown =>
  Array.isArray(reply) ? reply[1] : typeof reply === "object" && reply !== null
    ? (reply as Record<string, unknown>)["proto-max-bulk-len"]
    : undefined

/** The largest payload the server behind `client` takes, in bytes of JSON text. */
export const payloadLimit = async (client: Sender): Promise<number> => {
  try {
    const limit = Number(String(valueOf(await client.sendCommand(["CONFIG", "GET", "proto-max-bulk-len"]))))
    return Number.isSafeInteger(limit) && limit > 0 ? limit : redisDefaultLimit
  } catch {
    return redisDefaultLimit
  }
}
