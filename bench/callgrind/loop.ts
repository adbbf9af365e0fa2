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
 * keeps none: a span per job), `durable` (the durable pool's consumer path
 * instead: see `durable` below).
 */
import { fileURLToPath } from "node:url"

const root = process.env["ROOT"] ?? fileURLToPath(new URL("../..", import.meta.url))
const n = Number(process.argv[2])
if (!Number.isInteger(n) || n < 0) throw new Error(`loop.ts: expected a job count, got ${process.argv[2]}`)
const variant = process.argv[3] ?? "defaults"
const options = { defaults: {}, off: { metrics: false, tracing: false }, timings: { jobTimings: true }, span: {}, durable: {} }[
  variant
]
if (options === undefined) throw new Error(`loop.ts: unknown variant ${variant}`)

// Both through the tree's own node_modules, so the pool and the loop share one Effect.
const { Effect, Tracer } = await import(`${root}/node_modules/effect/dist/index.js`)
const { Durable, Pool } = await import(`${root}/src/index.ts`)
const Boundary = await import(`${root}/src/durable/boundary.ts`)
const { Deferred, Schema } = await import(`${root}/node_modules/effect/dist/index.js`)

/**
 * The durable pool's per-job path in a consumer, without a server: a
 * `Durable.make` as the durable benchmark's consumer makes it (32 workers,
 * prefetch 64, a no-op handler, payload `{ n }`) on an engine that answers
 * at once, wrapped by the store boundary as every engine is. Its claim makes
 * up to `max` of `n` jobs (as a server would hand them over: fresh
 * objects), its `complete` counts them; the loop ends, and the pool shuts
 * down, once all `n` are acknowledged. What is counted is ours: claim,
 * decode, lease book, submit, run, settle, the boundary around each store
 * operation.
 */
const durable = Effect.gen(function*() {
  const done = Deferred.makeUnsafe()
  let made = 0
  let completed = 0
  const none = () => Effect.succeed([])
  const zero = () => Effect.succeed(0)
  const store = Boundary.makeStore({
    offer: none,
    claim: (_queue: string, max: number) =>
      Effect.sync(() => {
        const claimed = []
        for (const end = Math.min(n, made + max); made < end; made++) {
          claimed.push({ id: `job-${made}`, payload: { n: made }, attempt: 1, token: "token" })
        }
        return claimed
      }),
    complete: (_queue: string, leases: ReadonlyArray<unknown>) =>
      Effect.sync(() => {
        completed += leases.length
        if (completed >= n) Deferred.doneUnsafe(done, Effect.void)
      }),
    retry: () => Effect.void,
    bury: () => Effect.void,
    release: () => Effect.void,
    extend: none,
    counts: () => Effect.succeed({ ready: 0, leased: 0, completed, buried: 0 }),
    buried: none,
    lookup: () => Effect.undefined,
    redrive: zero,
    remove: zero,
    cancel: () => Effect.undefined,
    purge: zero
  }, { engine: "memory" })
  const pool = yield* Durable.make({
    store,
    queue: "q",
    schema: Schema.Struct({ n: Schema.Number }),
    workers: 32,
    prefetch: 64,
    handler: () => Effect.void
  })
  if (n > 0) yield* Deferred.await(done)
  yield* pool.shutdown()
})

const dropping = Tracer.make({ span: (spanOptions: unknown) => new Tracer.NativeSpan(spanOptions) })
await Effect.runPromise(Effect.scoped(variant === "durable" ? durable : Effect.gen(function*() {
  const pool = yield* Pool.make({ workers: 8, capacity: 1024, handler: () => Effect.void, ...options })
  const produce = Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* pool.submit(i)
  })
  yield* variant === "span" ? Effect.withTracer(Effect.withSpan(produce, "producer"), dropping) : produce
  yield* pool.shutdown()
})))
