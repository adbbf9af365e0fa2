/**
 * The loop `store.ts` runs under callgrind: `n` batches of 528 jobs through
 * the PostgreSQL store of the checkout at `ROOT` (this one by default), on a
 * server at `URL` outside valgrind: each batch offered, claimed and
 * completed, one call after the other. What is counted is the client's
 * whole path for a job (the boundary, the statements' parameters, the
 * driver's encoding and decoding, the JIT and the collector's share), not
 * the server's.
 *
 *   URL=postgres://... [ROOT=<checkout>] node bench/callgrind/storeLoop.ts 15
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { thisCheckout } from "../kit/alternation.ts"

const n = Number(process.argv[2])
const url = process.env["URL"]
if (!Number.isInteger(n) || n < 0 || url === undefined) throw new Error("storeLoop.ts: URL=... node storeLoop.ts <batches>")
const root = process.env["ROOT"] ?? thisCheckout
const PostgresStore: typeof import("../../src/durable/PostgresStore.ts") = await import(
  pathToFileURL(resolve(root, "src/durable/PostgresStore.ts")).href
)

/** The jobs of a batch: as many as one claim of the benchmark's consumer takes. */
const batch = 528

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const store = yield* PostgresStore.make({ url })
  const queue = `callgrind_${process.pid}`
  for (let b = 0; b < n; b++) {
    yield* store.offer(queue, Array.from({ length: batch }, (_, i) => ({ id: `${b}-${i}`, payload: { n: i } })))
    const claimed = yield* store.claim(queue, batch, Duration.minutes(1))
    if (claimed.length !== batch) throw new Error(`claimed ${claimed.length} of ${batch}`)
    yield* store.complete(queue, claimed)
  }
})))
process.exit(0)
