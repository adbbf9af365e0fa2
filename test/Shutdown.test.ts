/**
 * Graceful shutdown: backlog "drain" and "return", the deadline, the report,
 * idempotency, and shutdown through the owning scope. TestClock time only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
import { type Job, Pool } from "../src/index.ts"
import { die, handler, hang, makeTrace, ok, settle } from "./support/workload.ts"

const ids = (jobs: ReadonlyArray<{ readonly id: string }>) => jobs.map((job) => job.id)

describe("backlog", () => {
  it.effect("\"drain\" runs the queued jobs too, then stops", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      for (const id of ["a", "b", "c"]) yield* pool.submit(ok(1_000), { id })
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown({ backlog: "drain", timeout: "10 seconds" }))
      yield* settle
      yield* TestClock.adjust("3 seconds")
      const report = yield* Fiber.join(shutdown)
      assert.deepStrictEqual(trace.finished, ["a", "b", "c"])
      assert.strictEqual(report.succeeded, 3)
      assert.deepStrictEqual(report.abandoned, [])
      assert.deepStrictEqual(report.interrupted, [])
      assert.isFalse(report.timedOut)
      assert.strictEqual(Duration.toMillis(report.elapsed), 3_000)
      assert.strictEqual((yield* pool.stats).workers, 0)
    }))

  it.effect("\"return\" hands the queued jobs back by value, unstarted, and lets the running ones finish", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      const submitted = []
      for (const id of ["a", "b", "c"]) submitted.push(yield* pool.submit(ok(1_000), { id }))
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown({ backlog: "return" }))
      yield* settle
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(shutdown)
      assert.deepStrictEqual(trace.started, ["a"])
      assert.strictEqual(report.succeeded, 1)
      assert.deepStrictEqual(report.abandoned, submitted.slice(1))
      assert.strictEqual(report.abandoned[0].payload, submitted[1].payload)
      assert.strictEqual((yield* pool.stats).abandoned, 2)
    }))

  it.effect("a run caller whose job is handed back fails with PoolClosedError", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      yield* pool.submit(ok(1_000))
      const caller = yield* Effect.forkChild(pool.run(ok(), { id: "never-started" }))
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown({ backlog: "return" }))
      yield* settle
      const error = yield* Effect.flip(Fiber.join(caller))
      assert.strictEqual(error._tag, "PoolClosedError")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(ids((yield* Fiber.join(shutdown)).abandoned), ["never-started"])
    }))
})

describe("deadline", () => {
  it.effect("what still runs at the deadline is interrupted, its finalizers run, and the report names it", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 2, handler: handler(trace) })
      yield* pool.submit(hang, { id: "stuck" })
      yield* pool.submit(ok(500), { id: "quick" })
      yield* pool.submit(ok(5_000), { id: "queued" }) // starts after "quick", still running at the deadline
      yield* pool.submit(ok(), { id: "never" })
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown({ timeout: "2 seconds" }))
      yield* settle
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(shutdown.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const report = yield* Fiber.join(shutdown)
      assert.isTrue(report.timedOut)
      assert.strictEqual(Duration.toMillis(report.elapsed), 2_000)
      assert.deepStrictEqual(ids(report.interrupted).sort(), ["queued", "stuck"])
      assert.deepStrictEqual(trace.finalized.sort(), ["queued", "stuck"])
      assert.deepStrictEqual(ids(report.abandoned), ["never"])
      assert.strictEqual(report.succeeded, 1)
      assert.strictEqual(trace.running, 0)
      const stats = yield* pool.stats
      assert.strictEqual(stats.workers, 0)
      assert.strictEqual(stats.interrupted, 2)
    }))

  it.effect("a run caller whose job is cut off by the deadline fails with JobInterruptedError", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const caller = yield* Effect.forkChild(pool.run(hang, { id: "cut" }))
      yield* settle
      yield* pool.shutdown({ timeout: 0 })
      const error = yield* Effect.flip(Fiber.join(caller))
      assert.isTrue(error._tag === "JobInterruptedError" && error.jobId === "cut")
    }))

  it.effect("a zero timeout does not wait at all", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      yield* pool.submit(ok(1_000), { id: "running" })
      yield* settle
      const report = yield* pool.shutdown({ timeout: 0 })
      assert.isTrue(report.timedOut)
      assert.deepStrictEqual(ids(report.interrupted), ["running"])
    }))
})

describe("idempotent", () => {
  it.effect("a second call waits for the first and returns the same report", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      yield* pool.submit(ok(1_000))
      yield* settle
      const first = yield* Effect.forkChild(pool.shutdown())
      yield* settle
      const second = yield* Effect.forkChild(pool.shutdown({ backlog: "return", timeout: 0 }))
      yield* settle
      assert.isUndefined(second.pollUnsafe(), "the second call returned before the first finished")
      yield* TestClock.adjust("1 second")
      const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
      assert.strictEqual(a, b)
      assert.strictEqual(a.succeeded, 1)
      assert.strictEqual(yield* pool.shutdown(), a)
    }))

  it.effect("interrupting the caller of shutdown does not stop the shutdown half-way", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.submit(ok(1_000), { id: "a" })
      yield* pool.submit(ok(1_000), { id: "b" })
      yield* settle
      const first = yield* Effect.forkChild(pool.shutdown({ timeout: "10 seconds" }))
      yield* settle
      yield* Fiber.interrupt(first)
      assert.strictEqual((yield* Effect.flip(pool.submit(ok())))._tag, "PoolClosedError")
      const later = yield* Effect.forkChild(pool.shutdown())
      yield* settle
      yield* TestClock.adjust("2 seconds")
      const report = yield* Fiber.join(later)
      assert.strictEqual(report.succeeded, 2)
      assert.isFalse(report.timedOut)
      assert.strictEqual(Duration.toMillis(report.elapsed), 2_000)
      assert.strictEqual((yield* pool.stats).workers, 0)
    }))
})

describe("from a handler", () => {
  it.effect("a handler that forks shutdown stops the pool without waiting for itself", () =>
    Effect.gen(function*() {
      const done: Array<string> = []
      const ref: { pool?: Pool.WorkerPool<string, void, never> } = {}
      const pool = yield* Pool.make({
        workers: 1,
        handler: (job: Job.Job<string>) =>
          job.payload === "stop"
            ? Effect.asVoid(Effect.forkDetach(ref.pool!.shutdown()))
            : Effect.sync(() => void done.push(job.id))
      })
      ref.pool = pool
      yield* pool.submit("work", { id: "before" })
      yield* pool.submit("stop", { id: "poison" })
      yield* settle
      assert.strictEqual((yield* Effect.flip(pool.submit("work")))._tag, "PoolClosedError")
      const report = yield* pool.shutdown()
      assert.isFalse(report.timedOut)
      assert.strictEqual(report.succeeded, 2)
      assert.deepStrictEqual(done, ["before"])
    }))

  it.effect("a handler that waits for the shutdown of its own pool is cut off at the deadline, not forever", () =>
    Effect.gen(function*() {
      const ref: { pool?: Pool.WorkerPool<string, void, never> } = {}
      const pool = yield* Pool.make({
        workers: 1,
        shutdown: { timeout: "1 second" },
        handler: (_: Job.Job<string>) => Effect.asVoid(ref.pool!.shutdown())
      })
      ref.pool = pool
      yield* pool.submit("stop", { id: "self-waiting" })
      yield* settle
      const waiting = yield* Effect.forkChild(pool.shutdown())
      yield* settle
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(waiting)
      assert.isTrue(report.timedOut)
      assert.deepStrictEqual(ids(report.interrupted), ["self-waiting"])
      assert.strictEqual((yield* pool.stats).workers, 0)
    }))
})

describe("scope", () => {
  it.effect("closing the pool's scope drains it with the pool's policy", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const scope = yield* Scope.make()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace), shutdown: { timeout: "5 seconds" } }).pipe(
        Scope.provide(scope)
      )
      yield* pool.submit(ok(1_000), { id: "a" })
      yield* pool.submit(hang, { id: "stuck" })
      yield* settle
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust("4999 millis")
      assert.isUndefined(closing.pollUnsafe(), "the scope closed before the deadline")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      assert.deepStrictEqual(trace.finished, ["a"])
      assert.deepStrictEqual(trace.finalized, ["stuck"])
      assert.strictEqual(trace.running, 0)
      const report = yield* pool.shutdown()
      assert.deepStrictEqual(ids(report.interrupted), ["stuck"])
      assert.strictEqual((yield* pool.stats).workers, 0)
    }))

  it.effect("an interrupted owner still drains its pool before the scope is closed", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const owner = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 2, handler: handler(trace) })
        yield* pool.submit(ok(100), { id: "a" })
        yield* pool.submit(ok(200), { id: "b" })
        return yield* Effect.never
      })))
      yield* settle
      const stopping = yield* Effect.forkChild(Fiber.interrupt(owner))
      yield* settle
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(stopping)
      assert.deepStrictEqual(trace.finished, ["a", "b"])
    }))

  it.effect("an owner scope that runs its finalizers in parallel still drains before the workers stop", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const scope = yield* Scope.make("parallel")
      const pool = yield* Pool.make({ workers: 2, handler: handler(trace) }).pipe(Scope.provide(scope))
      for (const id of ["a", "b", "c", "d"]) yield* pool.submit(ok(50), { id })
      yield* settle
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(closing)
      assert.deepStrictEqual([...trace.finished].sort(), ["a", "b", "c", "d"])
      const report = yield* pool.shutdown()
      assert.strictEqual(report.succeeded, 4)
      assert.deepStrictEqual(report.interrupted, [])
    }))
})

describe("a logger that throws", () => {
  const throwing = Logger.layer([Logger.make(() => {
    throw new Error("logger is broken")
  })])

  it.effect("takes down neither a worker nor the drain", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.submit(die(), { id: "dies" }) // the worker logs a warning for it
      yield* pool.submit(ok(), { id: "after" })
      yield* pool.submit(hang, { id: "stuck" })
      yield* settle
      assert.deepStrictEqual(trace.finished, ["after"])
      const shutdown = yield* Effect.forkChild(pool.shutdown({ timeout: "1 second" })) // logs at the deadline
      yield* settle
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(shutdown)
      assert.isTrue(report.timedOut)
      assert.deepStrictEqual(ids(report.interrupted), ["stuck"])
      assert.strictEqual(report.died, 1)
    }).pipe(Effect.provide(throwing)))
})
