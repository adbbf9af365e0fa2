/**
 * The loop `count.ts` runs under callgrind: W1's per-job path (8 workers, a
 * no-op handler, capacity 1024), `n` submits one after another, then a
 * shutdown. The tree measured is the one at `ROOT` (this checkout by
 * default), so another commit's worktree can be counted with the same loop.
 *
 *   ROOT=/path/to/tree node bench/callgrind/loop.ts 20000 [variant]
 *
 * The variant is how the pool is observed: `defaults` (the pool's own
 * defaults: the only one a tree from before metrics and tracing knows),
 * `off` (`metrics: false, tracing: false`), `timings` (`jobTimings: true`),
 * `span` (every submit under a span, with a tracer that makes spans and
 * keeps none: a span per job).
 */
import { fileURLToPath } from "node:url"

const root = process.env["ROOT"] ?? fileURLToPath(new URL("../..", import.meta.url))
const n = Number(process.argv[2])
if (!Number.isInteger(n) || n < 0) throw new Error(`loop.ts: expected a job count, got ${process.argv[2]}`)
const variant = process.argv[3] ?? "defaults"
const options = { defaults: {}, off: { metrics: false, tracing: false }, timings: { jobTimings: true }, span: {} }[variant]
if (options === undefined) throw new Error(`loop.ts: unknown variant ${variant}`)

// Both through the tree's own node_modules, so the pool and the loop share one Effect.
const { Effect, Tracer } = await import(`${root}/node_modules/effect/dist/index.js`)
const { Pool } = await import(`${root}/src/index.ts`)

const dropping = Tracer.make({ span: (spanOptions: unknown) => new Tracer.NativeSpan(spanOptions) })
await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const pool = yield* Pool.make({ workers: 8, capacity: 1024, handler: () => Effect.void, ...options })
  const produce = Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* pool.submit(i)
  })
  yield* variant === "span" ? Effect.withTracer(Effect.withSpan(produce, "producer"), dropping) : produce
  yield* pool.shutdown()
})))
