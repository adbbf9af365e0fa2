/**
 * The payload limit every store keeps at `offer`: a job whose payload, as
 * JSON text in UTF-8, is larger than its engine takes is refused by name,
 * with the limit, before anything of the batch is sent. Stored, it could be
 * refused by the server later, or fail every claim of its queue.
 *
 * Each engine declares its own limit (`boundary.ts`'s `maxPayloadBytes`):
 * PostgreSQL's follows from its driver's largest message (`postgres/limits.ts`),
 * Redis's is the server's `proto-max-bulk-len`, read at connect, and the
 * memory store takes the PostgreSQL default, so that what a test accepts on
 * it production accepts too.
 *
 * Internal: not an entry point of the package.
 */
import { safeString } from "../internal/options.ts"
import type { Offered } from "./Store.ts"

/** The memory store's limit: PostgreSQL's under its driver's default (8 MiB of JSON). */
export const memoryLimit = 8 * 1024 * 1024

/** Redis's `proto-max-bulk-len` by default (512 MB), for a server that does not say its own. */
export const redisDefaultLimit = 512 * 1024 * 1024

/**
 * The size of `text` in UTF-8 bytes, or a bound that already decides: a
 * UTF-16 unit is 1 to 3 bytes, so most texts are clearly under or over
 * without being counted.
 */
const overBy = (text: string, limit: number): number | undefined => {
  if (text.length * 3 <= limit) return undefined
  const bytes = Buffer.byteLength(text, "utf8")
  return bytes > limit ? bytes : undefined
}

/**
 * The JSON text of each payload of `jobs`, or why the batch cannot be
 * offered: the first payload with no JSON text (`JSON.stringify` threw: a
 * cycle, a `BigInt`), or the first larger than `limit` bytes, its size and
 * the limit. `undefined` stands for a payload that has no JSON form (itself
 * `undefined`, a function). The engine sends these texts, never a text of
 * its own: a payload read again could be another (a Proxy, a getter, an
 * object changed meanwhile), and so pass the limit it does not keep.
 */
export const payloadTexts = (
  jobs: ReadonlyArray<Offered>,
  limit: number,
  engine: string
): ReadonlyArray<string | undefined> | string => {
  const texts = new Array<string | undefined>(jobs.length)
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    let json: string | undefined
    try {
      json = JSON.stringify(job.payload)
    } catch (cause) {
      return `the payload of ${JSON.stringify(job.id)} is not JSON: ${safeString(cause)}`
    }
    const bytes = json === undefined ? undefined : overBy(json, limit)
    if (bytes !== undefined) {
      return `the payload of ${JSON.stringify(job.id)} is ${bytes} bytes of JSON, ` +
        `over the ${engine} store's limit of ${limit} bytes`
    }
    texts[i] = json
  }
  return texts
}
