/**
 * The pools' metrics: each series, its attributes, what it counts, and the
 * `name` and `metrics` options. Every test reads a registry of its own
 * (`Metric.MetricRegistry`), on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { type Job, Metrics, Pool } from "../src/index.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { settle } from "./support/workload.ts"

/** `effect` with a metric registry of its own. */
const isolated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(Effect.scoped(effect), Metric.MetricRegistry, new Map())

/** The snapshots of `id` whose attributes include `attributes`. */
const series = (id: string, attributes: Record<string, string>) =>
  Effect.map(Metric.snapshot, (all) =>
    all.filter((one) =>
      one.id === id && Object.entries(attributes).every(([key, value]) => one.attributes?.[key] === value)
    ))

/** The one value of a counter or gauge series; `undefined` if there is none. */
const valueOf = (id: string, attributes: Record<string, string>) =>
  Effect.map(series(id, attributes), (found) => {
    assert.isAtMost(found.length, 1, `one series of ${id} ${JSON.stringify(attributes)}`)
    if (found.length === 0) return undefined
    const state = found[0].state as { count?: number; value?: number }
    return state.count ?? state.value
  })

const histogramOf = (id: string, attributes: Record<string, string>) =>
  Effect.map(series(id, attributes), (found) => {
    assert.strictEqual(found.length, 1, `one series of ${id} ${JSON.stringify(attributes)}`)
    return found[0].state as Metric.HistogramState
  })

const ended = (pool: string, outcome: string) => valueOf(Metrics.jobsEnded.id, { pool, outcome })

describe("in-memory pool", () => {
  it.effect("counts jobs submitted and ended by outcome, under the pool's name", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make<string, void, string, never>({
        name: "mail",
        workers: 2,
        handler: (job) =>
          job.payload === "fail" ? Effect.fail("no") : job.payload === "die" ? Effect.die("boom") : Effect.void
      })
      for (const payload of ["ok", "ok", "fail", "die"]) yield* Effect.exit(pool.run(payload))
      assert.strictEqual(yield* valueOf(Metrics.jobsSubmitted.id, { pool: "mail" }), 4)
      assert.strictEqual(yield* ended("mail", "succeeded"), 2)
      assert.strictEqual(yield* ended("mail", "failed"), 1)
      assert.strictEqual(yield* ended("mail", "died"), 1)
      for (const outcome of ["interrupted", "cancelled", "abandoned"]) assert.strictEqual(yield* ended("mail", outcome), 0)
      assert.strictEqual(yield* valueOf(Metrics.workers.id, { pool: "mail" }), 2)
    })))

  it.effect("the pool is named \"default\" unless told", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      yield* pool.run(1)
      assert.strictEqual(yield* ended("default", "succeeded"), 1)
    })))

  it.effect("gauges: queued and active jobs as they are when read", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, capacity: 5, handler: () => Effect.sleep("1 second") })
      for (let i = 0; i < 3; i++) yield* pool.submit(i)
      yield* settle
      assert.strictEqual(yield* valueOf(Metrics.jobsActive.id, { pool: "default" }), 1)
      assert.strictEqual(yield* valueOf(Metrics.jobsQueued.id, { pool: "default" }), 2)
      yield* TestClock.adjust("3 seconds")
      yield* settle
      assert.strictEqual(yield* valueOf(Metrics.jobsActive.id, { pool: "default" }), 0)
      assert.strictEqual(yield* valueOf(Metrics.jobsQueued.id, { pool: "default" }), 0)
    })))

  it.effect("histograms: each job's wait (ready to started) and run time, in seconds", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, jobTimings: true, handler: () => Effect.sleep("2 seconds") })
      const first = yield* Effect.forkChild(pool.run(1))
      const second = yield* Effect.forkChild(pool.run(2))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      const run = yield* histogramOf(Metrics.jobRunSeconds.id, { pool: "default" })
      assert.strictEqual(run.count, 2)
      assert.strictEqual(run.sum, 4)
      const wait = yield* histogramOf(Metrics.jobWaitSeconds.id, { pool: "default" })
      assert.strictEqual(wait.count, 2)
      // The first started at once, the second once the first was done.
      assert.strictEqual(wait.min, 0)
      assert.strictEqual(wait.max, 2)
    })))

  it.effect("a delayed job waits from when it is due, not from when it was accepted", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, jobTimings: true, handler: () => Effect.void })
      yield* pool.submit(1, { delay: "10 seconds" })
      yield* TestClock.adjust("10 seconds")
      yield* settle
      const wait = yield* histogramOf(Metrics.jobWaitSeconds.id, { pool: "default" })
      assert.strictEqual(wait.count, 1)
      assert.strictEqual(wait.max, 0)
    })))

  it.effect("two pools of one name add up; a closed pool's counts stay in the counters, not in the gauges", () =>
    isolated(Effect.gen(function*() {
      const a = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      yield* a.run(1)
      yield* Effect.scoped(Effect.gen(function*() {
        const b = yield* Pool.make({ workers: 3, handler: () => Effect.void })
        yield* b.run(1)
        yield* b.run(2)
        assert.strictEqual(yield* ended("default", "succeeded"), 3)
        assert.strictEqual(yield* valueOf(Metrics.workers.id, { pool: "default" }), 4)
      }))
      assert.strictEqual(yield* valueOf(Metrics.workers.id, { pool: "default" }), 1)
      assert.strictEqual(yield* ended("default", "succeeded"), 3)
      yield* a.run(3)
      assert.strictEqual(yield* ended("default", "succeeded"), 4)
      yield* a.shutdown()
    })))

  it.effect("a pool's final counts outlive its scope, for the exporter's last export", () =>
    isolated(Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 2, handler: (job: Job.Job<number>) => job.payload === 2 ? Effect.fail("no") : Effect.void })
        yield* Effect.forEach([1, 2, 3], (n) => Effect.exit(pool.run(n)))
      }))
      assert.strictEqual(yield* ended("default", "succeeded"), 2)
      assert.strictEqual(yield* ended("default", "failed"), 1)
      assert.strictEqual(yield* valueOf(Metrics.jobsSubmitted.id, { pool: "default" }), 3)
      assert.strictEqual(yield* valueOf(Metrics.workers.id, { pool: "default" }), 0)
      assert.strictEqual(yield* valueOf(Metrics.jobsActive.id, { pool: "default" }), 0)
    })))

  it.effect("in a scope whose finalizers run in parallel, the final counts still count the jobs the shutdown drained", () =>
    isolated(Effect.gen(function*() {
      const scope = yield* Scope.make("parallel")
      const pool = yield* Pool.make({ workers: 2, handler: () => Effect.sleep("200 millis") }).pipe(Scope.provide(scope))
      for (let n = 0; n < 6; n++) yield* pool.submit(n)
      yield* settle
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      for (let t = 0; t < 4; t++) {
        yield* TestClock.adjust("200 millis")
        yield* settle
      }
      yield* Fiber.join(closing)
      assert.strictEqual((yield* pool.stats).succeeded, 6)
      assert.strictEqual(yield* ended("default", "succeeded"), 6)
      assert.strictEqual(yield* valueOf(Metrics.jobsActive.id, { pool: "default" }), 0)
    })))

  it.effect("without jobTimings, no histogram", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      yield* pool.run(1)
      assert.deepStrictEqual(yield* series(Metrics.jobRunSeconds.id, {}), [])
      assert.deepStrictEqual(yield* series(Metrics.jobWaitSeconds.id, {}), [])
    })))

  it.effect("metrics: false records nothing", () =>
    isolated(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, metrics: false, jobTimings: true, handler: () => Effect.void })
      yield* pool.run(1)
      const all = yield* Metric.snapshot
      assert.deepStrictEqual(all.filter((one) => one.id.startsWith("effect_worker_pool_")), [])
    })))

  it.effect("a bad name or metrics option is refused, naming it", () =>
    Effect.gen(function*() {
      for (const [options, option] of [[{ name: "" }, "name"], [{ name: 7 }, "name"], [{ metrics: "yes" }, "metrics"], [{ jobTimings: 1 }, "jobTimings"]] as const) {
        const exit = yield* Effect.exit(Effect.scoped(
          Pool.make({ workers: 1, handler: () => Effect.void, ...(options as object) })
        ))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.strictEqual(error?._tag === "Fail" ? (error.error as Pool.PoolConfigError).option : undefined, option)
      }
    }))
})

describe("durable pool", () => {
  const durable = (store: Store, handler: (job: Job.Job<string>) => Effect.Effect<void, string>) =>
    oneWorker(store, { name: "svc", maxAttempts: 2, handler })

  it.effect("counts leases lost, by how the pool noticed: a failed attempt's retry, or its burial, the store did not take", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      // Two first attempts whose retries are refused, then a last attempt whose burial is.
      for (const maxAttempts of [2, 2, 1]) {
        const started = yield* Deferred.make<void>()
        const fail = yield* Deferred.make<void>()
        const pool = yield* oneWorker(store, {
          name: "svc",
          maxAttempts,
          handler: () =>
            Effect.andThen(Deferred.succeed(started, undefined), Effect.andThen(Deferred.await(fail), Effect.fail("no")))
        })
        const id = yield* pool.submit("x")
        yield* Deferred.await(started)
        // Cancelled by another process: this one hears of it at its next renewal, after the failure.
        yield* store.cancel("q", id)
        yield* Deferred.succeed(fail, undefined)
        yield* elapse(1_000)
        yield* pool.shutdown()
      }
      const labels = { pool: "svc", queue: "q" }
      assert.strictEqual(yield* valueOf(Metrics.leasesLost.id, { ...labels, noticed: "retry" }), 2)
      assert.strictEqual(yield* valueOf(Metrics.leasesLost.id, { ...labels, noticed: "bury" }), 1)
      // A series appears with its first count: none was found by a renewal, and no retry was taken.
      assert.isUndefined(yield* valueOf(Metrics.leasesLost.id, { ...labels, noticed: "renewal" }))
      assert.isUndefined(yield* valueOf(Metrics.jobsRetried.id, labels))
    })))

  it.effect("counts a lease its renewal found lost (cancelled by another process while the job ran), and stops the job", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const started = yield* Deferred.make<void>()
      const pool = yield* oneWorker(store, {
        name: "svc",
        lease: "3 seconds",
        handler: () => Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
      })
      const id = yield* pool.submit("x")
      yield* Deferred.await(started)
      yield* store.cancel("q", id)
      // Past the renewal a third of the way through the lease.
      yield* elapse(2_000)
      const labels = { pool: "svc", queue: "q" }
      assert.strictEqual(yield* valueOf(Metrics.leasesLost.id, { ...labels, noticed: "renewal" }), 1)
      assert.strictEqual(yield* ended("svc", "cancelled"), 1)
      // Cancelled here, by this pool: not a lease lost.
      const again = yield* pool.submit("y")
      yield* elapse(200)
      yield* pool.cancel(again)
      yield* elapse(2_000)
      assert.strictEqual(yield* valueOf(Metrics.leasesLost.id, { ...labels, noticed: "renewal" }), 1)
    })))

  it.effect("carries pool and queue; counts retries, dead letters, the store's counts and its operations", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* durable(store, (job) => job.payload === "bad" ? Effect.fail("no") : Effect.void)
      yield* pool.submit("good")
      yield* pool.submit("bad")
      yield* elapse(10_000)
      const labels = { pool: "svc", queue: "q" }
      assert.strictEqual(yield* ended("svc", "succeeded"), 1)
      assert.strictEqual(yield* ended("svc", "failed"), 2)
      assert.strictEqual(yield* valueOf(Metrics.jobsRetried.id, labels), 1)
      assert.strictEqual(yield* valueOf(Metrics.jobsDeadLettered.id, labels), 1)
      assert.strictEqual(yield* valueOf(Metrics.storeJobs.id, { ...labels, state: "completed" }), 1)
      assert.strictEqual(yield* valueOf(Metrics.storeJobs.id, { ...labels, state: "buried" }), 1)
      assert.strictEqual((yield* histogramOf(Metrics.jobRunSeconds.id, labels)).count, 3)
      const claims = yield* histogramOf(Metrics.storeOperationSeconds.id, { operation: "claim", queue: "q", engine: "memory" })
      assert.isAbove(claims.count, 0)
    })))

  it.effect("in a scope whose finalizers run in parallel, the shutdown drains and acknowledges, and the final counts count it", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const scope = yield* Scope.make("parallel")
      const pool = yield* oneWorker(store, { name: "svc", workers: 2, handler: () => Effect.sleep("200 millis") }).pipe(Scope.provide(scope))
      for (let n = 0; n < 4; n++) yield* pool.submit(`job-${n}`)
      yield* elapse(100)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* elapse(1_000)
      yield* Fiber.join(closing)
      assert.strictEqual(yield* ended("svc", "succeeded"), 4)
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 0, completed: 4, buried: 0 })
    })))

  /** The store's count of completed jobs, as the series of the pool "svc" on "q" shows it. */
  const completed = valueOf(Metrics.storeJobs.id, { pool: "svc", queue: "q", state: "completed" })

  /** A second pool "svc" on `store`, for as long as `a` takes a job and the series show it completed. */
  const whileASecondPoolRuns = (store: Store, a: { readonly submit: (payload: string) => Effect.Effect<unknown, unknown> }) =>
    Effect.scoped(Effect.gen(function*() {
      yield* durable(store, () => Effect.void)
      yield* a.submit("one")
      yield* elapse(6_000)
      assert.strictEqual(yield* completed, 1)
    }))

  it.effect("two pools of one name on one queue share the store's counts: the first to close leaves them to the other", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const a = yield* durable(store, () => Effect.void)
      yield* whileASecondPoolRuns(store, a)
      // The second pool is closed: the first one's series is still there, and still sampled.
      assert.strictEqual(yield* completed, 1)
      yield* a.submit("two")
      yield* elapse(6_000)
      assert.strictEqual(yield* completed, 2)
      yield* a.shutdown()
      assert.isUndefined(yield* completed, "the series outlived the last pool")
    })))

  it.effect("the pool whose sample the shared counts show closes: they stay until another pool's store answers", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      // The first pool's store never answers a count (an outage), the second's does.
      const mute: Store = { ...store, counts: () => Effect.fail(new StoreError({ operation: "counts", reason: "down" })) }
      const a = yield* durable(mute, () => Effect.void)
      yield* whileASecondPoolRuns(store, a)
      yield* elapse(6_000)
      assert.strictEqual(yield* completed, 1, "the counts the closed pool heard last")
      yield* a.shutdown()
    })))

  it.effect("a failed store operation is counted", () =>
    isolated(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const exit = yield* Effect.exit(store.lookup("q", 7 as unknown as string))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(
        yield* valueOf(Metrics.storeOperationFailures.id, { operation: "lookup", queue: "q", engine: "memory" }),
        1
      )
    })))
})
