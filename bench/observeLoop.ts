/**
 * One W1 run of `jobs` no-op jobs with the options of one variant of
 * bench/observe.ts, and nothing else: for counting instructions per job
 * with callgrind (the count at 120k jobs minus the count at 20k, over 100k).
 *
 * Usage: valgrind --tool=callgrind node --predictable --single-threaded \
 *          bench/observeLoop.ts <jobs> <off|defaults|timings|span>
 *
 * `span`: every submit under a span, with bench/observe.ts's dropping tracer installed.
 */
import * as Effect from "effect/Effect"
import { Pool } from "../src/index.ts"
import { droppingTracer } from "./observe.ts"

const jobs = Number(process.argv[2] ?? 20_000)
const variant = process.argv[3] ?? "defaults"
const options = variant === "off"
  ? { metrics: false, tracing: false }
  : variant === "timings"
  ? { jobTimings: true }
  : {}
let count = 0
const job = Effect.sync(() => {
  count++
})
const items = Array.from({ length: jobs }, (_, i) => i)
const produce = (pool: Pool.WorkerPool<number, void, never>) =>
  Effect.forEach(items, (item) => pool.submit(item), { discard: true })

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const pool = yield* Pool.make<number, void, never, never>({ workers: 8, capacity: 1024, handler: () => job, ...options })
  yield* variant === "span" ? Effect.withTracer(Effect.withSpan(produce(pool), "producer"), droppingTracer) : produce(pool)
  yield* pool.shutdown()
})))
if (count !== jobs) throw new Error(`ran ${count} of ${jobs} jobs`)
