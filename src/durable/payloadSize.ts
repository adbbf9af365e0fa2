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
 * Why `jobs` cannot be offered under `limit` bytes per payload, if one of
 * them is too large: the first such job, its size and the limit. A payload
 * with no JSON text (a cycle, a `BigInt`) is left for the engine to refuse.
 */
export const oversizedPayload = (jobs: ReadonlyArray<Offered>, limit: number, engine: string): string | undefined => {
  for (const job of jobs) {
    let json: string | undefined
    try {
      json = JSON.stringify(job.payload)
    } catch {
      continue
    }
    if (json === undefined) continue
    const bytes = overBy(json, limit)
    if (bytes !== undefined) {
      return `the payload of ${JSON.stringify(job.id)} is ${bytes} bytes of JSON, ` +
        `over the ${engine} store's limit of ${limit} bytes`
    }
  }
  return undefined
}
