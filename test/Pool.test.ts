/**
 * The pool's rules while it runs: start before traffic, backpressure, per-job
 * deadlines, typed failures, defects, cancellation, outcomes and stats.
 * Time is the TestClock's everywhere.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Cause, Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Scheduler, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Job, Pool } from "../src/index.ts"
import { throwingProxy } from "./support/hostileValues.ts"
import { unhandledRejections } from "./support/rejections.ts"
import { BadPayload, busyPool, die, fail, handler, hang, makeTrace, ok, settle, type Task } from "./support/workload.ts"


describe("start", () => {
  it.effect("all workers run before make returns", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 4, handler: handler(makeTrace()) })
      // No yield between make and this read: the workers started inside make.
      const stats = yield* pool.stats
      assert.strictEqual(stats.workers, 4)
    }))

  it.effect("each worker tells its handler its id", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 2, handler: () =>
          Effect.gen(function*() {
            const id = yield* Pool.WorkerId
            yield* Effect.sleep(10) // TestClock: keeps this worker busy, so the other job goes to the other worker
            return id
          })
      })
      const ids = yield* Effect.forkChild(Effect.all([pool.run(undefined), pool.run(undefined)], { concurrency: 2 }))
      yield* settle
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual([...(yield* Fiber.join(ids))].sort(), [1, 2])
      assert.strictEqual(yield* Pool.WorkerId, 0)
    }))
})

describe("backpressure", () => {
  it.effect("submitAll accepts a batch in order, waiting for room as submit does", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(2, []) // one worker, busy
      const batch = yield* Effect.forkChild(pool.submitAll([ok(), ok(), ok(), ok(), ok()]))
      yield* settle
      assert.isUndefined(batch.pollUnsafe(), "submitAll returned while its batch did not fit")
      assert.strictEqual((yield* pool.stats).queued, 2)
      yield* release
      const jobs = yield* Fiber.join(batch)
      assert.strictEqual(jobs.length, 5)
      yield* pool.shutdown()
      assert.deepStrictEqual(trace.finished, ["busy", ...jobs.map((job) => job.id)])
    }))

  it.effect("submitAll refused half-way by shutdown says how many it accepted, and those run", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(2, [])
      const batch = yield* Effect.forkChild(pool.submitAll([ok(), ok(), ok(), ok(), ok()]))
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown())
      yield* settle
      const refused = yield* Effect.flip(Fiber.join(batch))
      assert.strictEqual(refused._tag, "PoolClosedError")
      assert.strictEqual(refused.accepted, 2)
      assert.match(refused.message, /2 of the batch were accepted/)
      yield* release
      const report = yield* Fiber.join(shutdown)
      assert.strictEqual(report.succeeded, 3) // "busy" and the two accepted
      assert.strictEqual(trace.finished.length, 3)
    }))

  it.effect("a handler that submits to its own full pool waits until the shutdown refuses it; trySubmit answers it at once", () =>
    Effect.gen(function*() {
      const self = yield* Deferred.make<Pool.WorkerPool<string, string, Pool.PoolClosedError | Pool.PoolConfigError | Pool.PoolFullError>>()
      const queued = yield* Deferred.make<void>()
      const pool = yield* Pool.make({
        workers: 1,
        capacity: 1,
        handler: (job: { readonly payload: string }) =>
          Effect.flatMap(Deferred.await(self), (pool) =>
            job.payload === "try"
              ? Effect.andThen(Deferred.await(queued), Effect.as(pool.trySubmit("child"), "tried"))
              : job.payload === "submit"
              ? Effect.as(pool.submit("child"), "submitted")
              : Effect.succeed("child ran"))
      })
      yield* Deferred.succeed(self, pool)
      // The worker runs "try" once "submit" fills the queue, with "filler" waiting for room: its trySubmit is refused at once.
      const tried = yield* Effect.forkChild(pool.run("try"))
      yield* settle
      yield* pool.submit("submit")
      yield* Effect.forkChild(pool.submit("filler"))
      yield* settle
      yield* Deferred.succeed(queued, undefined)
      const outcome = yield* Effect.flip(Fiber.join(tried))
      assert.strictEqual(outcome._tag, "PoolFullError")
      // Then the worker runs "submit", "filler" takes the room it left, and its own submit waits for room only
      // the worker itself could make.
      yield* settle
      assert.strictEqual((yield* pool.stats).active, 1)
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* pool.stats).active, 1, "the handler's submit was answered before the shutdown")
      const report = yield* pool.shutdown()
      // The shutdown refused the waiting submit, and the handler failed with it ("try" had failed with
      // PoolFullError); the pool closed, "filler" drained.
      assert.deepStrictEqual([report.failed, report.succeeded], [2, 1])
    }))

  it.effect("submit waits while the queue is full; trySubmit fails with PoolFullError", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(2, ["a", "b"]) // the queue is full now
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "waiting" }))
      yield* settle
      assert.isUndefined(waiting.pollUnsafe(), "submit returned while the queue was full")

      const full = yield* Effect.flip(pool.trySubmit(ok()))
      assert.isTrue(full._tag === "PoolFullError" && full.capacity === 2)

      yield* release
      const job = yield* Fiber.join(waiting)
      assert.strictEqual(job.id, "waiting")
      yield* pool.shutdown()
      assert.deepStrictEqual(trace.finished.at(-1), "waiting")
      assert.strictEqual((yield* pool.stats).submitted, 4)
    }))

  it.effect("waiting submits are admitted in the order they came", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(1, ["queued"])
      const waiting = []
      for (const id of ["w1", "w2", "w3"]) {
        waiting.push(yield* Effect.forkChild(pool.submit(ok(), { id })))
        yield* settle
      }
      yield* release
      yield* Fiber.joinAll(waiting)
      yield* pool.shutdown()
      assert.deepStrictEqual(trace.started, ["busy", "queued", "w1", "w2", "w3"])
    }))

  it.effect("a submit interrupted while it waits for room is not accepted", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(1, ["queued"])
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "gave-up" }))
      yield* settle
      yield* Fiber.interrupt(waiting)
      yield* release
      const report = yield* pool.shutdown()
      assert.notInclude(trace.started, "gave-up")
      assert.strictEqual(report.succeeded, 2)
      assert.strictEqual((yield* pool.stats).submitted, 2)
    }))
})

describe("closed", () => {
  it.effect("submit, trySubmit and run fail with PoolClosedError once shutdown began", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      yield* pool.shutdown()
      assert.strictEqual((yield* Effect.flip(pool.submit(ok())))._tag, "PoolClosedError")
      assert.strictEqual((yield* Effect.flip(pool.trySubmit(ok())))._tag, "PoolClosedError")
      assert.strictEqual((yield* Effect.flip(pool.run(ok())))._tag, "PoolClosedError")
      assert.strictEqual((yield* pool.stats).submitted, 0)
    }))

  it.effect("a submit waiting for room when shutdown begins fails and is never accepted later", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(1, ["queued"])
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "late" }))
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown())
      yield* settle
      const refused = yield* Effect.flip(Fiber.join(waiting))
      assert.strictEqual(refused._tag, "PoolClosedError")
      // Room frees up now; the refused job must not slip in.
      yield* release
      const report = yield* Fiber.join(shutdown)
      assert.deepStrictEqual(trace.started.length, 2)
      assert.notInclude(trace.started, "late")
      assert.strictEqual(report.succeeded, 2)
      assert.strictEqual((yield* pool.stats).submitted, 2)
    }))
})

describe("per-job deadline", () => {
  it.effect("the pool's jobTimeout fails a job that runs too long with JobTimeoutError, finalizers run", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, jobTimeout: "1 second", handler: handler(trace) })
      const result = yield* Effect.forkChild(Effect.flip(pool.run(ok(5_000), { id: "slow" })))
      yield* settle
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(result.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(result)
      assert.strictEqual(error._tag, "JobTimeoutError")
      assert.deepStrictEqual(trace.finalized, ["slow"])
      if (error._tag === "JobTimeoutError") {
        assert.strictEqual(error.jobId, "slow")
        assert.strictEqual(error.message, "job slow timed out after 1s")
      }
    }))

  it.effect("a job's own timeout overrides the pool's", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 2, jobTimeout: "1 second", handler: handler(makeTrace()) })
      const short = yield* Effect.forkChild(Effect.exit(pool.run(ok(300), { timeout: "200 millis" })))
      const long = yield* Effect.forkChild(pool.run(ok(3_000), { id: "long", timeout: "5 seconds" }))
      yield* settle
      yield* TestClock.adjust("200 millis")
      const shortExit = yield* Fiber.join(short)
      assert.isTrue(Exit.isFailure(shortExit) && Cause.findErrorOption(shortExit.cause).pipe(
        Option.exists((error) => error._tag === "JobTimeoutError")
      ))
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* Fiber.join(long), "long")
    }))

  it.effect("a job's own \"Infinity\" lifts the pool's deadline for that job", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, jobTimeout: "100 millis", handler: handler(makeTrace()) })
      const result = yield* Effect.forkChild(pool.run(ok(10_000), { id: "unbounded", timeout: "Infinity" }))
      yield* settle
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Fiber.join(result), "unbounded")
    }))

  it.effect("a job that ends in time is not affected by its timeout", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, jobTimeout: "1 second", handler: handler(makeTrace()) })
      const result = yield* Effect.forkChild(pool.run(ok(999), { id: "in-time" }))
      yield* settle
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(yield* Fiber.join(result), "in-time")
    }))
})

describe("failures", () => {
  it.effect("a handler whose effect goes on with a non-Effect kills its worker's fiber outright: the job died, a new worker takes the place", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const outcomes = yield* pool.subscribe()
      for (const id of ["bad-1", "bad-2"]) yield* pool.submit({ _tag: "notAnEffect", ms: 0 }, { id })
      // The same single place runs the next job: it was not lost with the dead fiber.
      assert.strictEqual(yield* pool.run(ok(), { id: "good" }), "good")
      const stats = yield* pool.stats
      assert.deepStrictEqual(
        [stats.workers, stats.active, stats.queued, stats.died, stats.succeeded],
        [1, 0, 0, 2, 1]
      )
      const report = yield* pool.shutdown()
      assert.deepStrictEqual([report.died, report.succeeded, report.interrupted.length, report.abandoned.length], [2, 1, 0, 0])
      const ends = Array.from(yield* Stream.runCollect(outcomes), (outcome) => `${outcome.job.id} ${outcome._tag}`)
      assert.deepStrictEqual(ends, ["bad-1 Died", "bad-2 Died", "good Succeeded"])
    }))

  it.effect("a worker's loop whose own step throws is replaced and counted once: stats.workers stays the pool's size", () =>
    Effect.gen(function*() {
      // The ledger's log line reads a failure while it is built, in the loop's own step: this one throws there,
      // so the loop's fiber dies with its frames run, its `ensuring` included.
      const pool = yield* Pool.make({
        workers: 2,
        handler: (job: Job.Job<string>): Effect.Effect<string, unknown> =>
          job.payload === "hostile" ? Effect.fail(throwingProxy()) : Effect.succeed(job.payload)
      })
      yield* pool.submit("hostile", { id: "hostile" })
      yield* settle
      assert.strictEqual(yield* pool.run("good"), "good")
      const stats = yield* pool.stats
      assert.deepStrictEqual([stats.workers, stats.active, stats.failed, stats.succeeded], [2, 0, 1, 1])
      yield* pool.shutdown()
      assert.strictEqual((yield* pool.stats).workers, 0)
    }))

  it.effect("run fails with the handler's own typed error, which the caller catches by tag", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const effect = pool.run(fail(), { id: "bad" })
      expectTypeOf(effect).toEqualTypeOf<
        Effect.Effect<
          string,
          | BadPayload
          | Job.JobTimeoutError
          | Job.JobInterruptedError
          | Pool.PoolClosedError
          | Pool.PoolConfigError
        >
      >()
      const caught = yield* effect.pipe(
        Effect.catchTag("BadPayload", (error) => Effect.succeed(`caught ${error.reason}`))
      )
      assert.strictEqual(caught, "caught bad")
    }))

  it.effect("a handler that dies or throws does not kill its worker; run re-raises the defect", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      const died = yield* Effect.exit(pool.run(die()))
      assert.isTrue(Exit.isFailure(died) && Cause.hasDies(died.cause))
      const thrown = yield* Effect.exit(pool.run({ _tag: "throw" }))
      assert.isTrue(Exit.isFailure(thrown) && Cause.hasDies(thrown.cause))
      assert.strictEqual(yield* pool.run(ok(), { id: "after" }), "after")
      const stats = yield* pool.stats
      assert.strictEqual(stats.workers, 1)
      assert.strictEqual(stats.died, 2)
      assert.strictEqual(stats.succeeded, 1)
    }))

  it.effect("a handler that returns something other than an Effect dies with a TypeError naming it", () =>
    Effect.gen(function*() {
      const returned: Record<string, unknown> = { promise: Promise.resolve(1), nothing: undefined, number: 42 }
      const pool = yield* Pool.make({
        workers: 1,
        handler: (job: Job.Job<string>): Effect.Effect<string> =>
          job.payload in returned ? returned[job.payload] as never : Effect.succeed(job.payload)
      })
      for (const [payload, shown] of [["promise", "a Promise"], ["nothing", "undefined"], ["number", "42"]]) {
        const exit = yield* Effect.exit(pool.run(payload!))
        assert.isTrue(Exit.isFailure(exit), payload)
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.instanceOf(defect, TypeError, payload)
        assert.include((defect as TypeError).message, `returned ${shown}`)
      }
      assert.strictEqual(yield* pool.run("fine"), "fine")
      assert.deepStrictEqual(yield* Effect.map(pool.stats, ({ died, succeeded }) => ({ died, succeeded })), {
        died: 3,
        succeeded: 1
      })
    }))

  it.effect("a handler that is an async function and throws dies with the TypeError, and leaves no unhandled rejection", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({
        workers: 1,
        handler: (async () => {
          throw new Error("thrown in an async handler")
        }) as unknown as (job: Job.Job<string>) => Effect.Effect<string>
      })
      const { rejections } = yield* unhandledRejections(Effect.gen(function*() {
        const exit = yield* Effect.exit(pool.run("a"))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.instanceOf(defect, TypeError)
        assert.include((defect as TypeError).message, "returned a Promise")
      }))
      assert.deepStrictEqual(rejections, [])
      assert.strictEqual(yield* pool.run("b").pipe(Effect.exit, Effect.map(Exit.isFailure)), true)
    }))

  it.effect("a handler whose effect has already ended (an Exit) is settled like any other", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({
        workers: 2,
        handler: (job: Job.Job<number>) =>
          job.payload % 3 === 0
            ? Effect.succeed(job.payload * 2)
            : job.payload % 3 === 1
            ? Effect.fail(new BadPayload({ reason: String(job.payload) }))
            : Effect.die("bad")
      })
      const outcomes = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
      yield* pool.submitAll(Array.from({ length: 30 }, (_, i) => i))
      assert.strictEqual(yield* pool.run(3), 6)
      const failed = yield* Effect.flip(pool.run(4))
      assert.strictEqual(failed._tag, "BadPayload")
      const report = yield* pool.shutdown()
      assert.deepStrictEqual([report.succeeded, report.failed, report.died], [11, 11, 10])
      const tags = (yield* Fiber.join(outcomes)).map((outcome) => outcome._tag)
      assert.strictEqual(tags.length, 32)
      assert.strictEqual(tags.filter((tag) => tag === "Succeeded").length, 11)
      assert.strictEqual((yield* pool.stats).workers, 0)
    }))

  it.effect("a submitted job whose handler returns an Exit that throws when read, or of no known kind, ends as the runtime reads it; nothing is lost", () =>
    Effect.gen(function*() {
      // Looks like an ended effect, then throws at the first look inside.
      const trapped = new Proxy(Effect.void, {
        get: () => {
          throw new Error("trap")
        }
      })
      // A real Exit whose tag is neither a success nor a failure: the runtime runs it as what it is (a success).
      const untagged = Object.defineProperty(Object.create(Effect.succeed(1)), "_tag", { value: "Neither" })
      const returned: Record<string, unknown> = { trapped, untagged }
      const pool = yield* Pool.make({
        workers: 1,
        handler: (job: Job.Job<string>): Effect.Effect<string> =>
          job.payload in returned ? returned[job.payload] as never : Effect.succeed(job.payload)
      })
      const outcomes = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
      yield* pool.submit("trapped", { id: "trapped" })
      yield* pool.submit("untagged", { id: "untagged" })
      assert.strictEqual(yield* pool.run("after"), "after")
      const stats = yield* pool.stats
      assert.deepStrictEqual([stats.workers, stats.active, stats.died, stats.succeeded], [1, 0, 1, 2])
      const report = yield* pool.shutdown()
      assert.deepStrictEqual([report.died, report.succeeded], [1, 2])
      const ended = (yield* Fiber.join(outcomes)).map((outcome) => `${outcome._tag} ${outcome.job.id}`)
      assert.deepStrictEqual(ended.slice(0, 2), ["Died trapped", "Succeeded untagged"])
    }))

  it.effect("a handler that returns something other than an Effect is a defect, not a crash", () =>
    Effect.gen(function*() {
      const careless = (() => undefined) as unknown as () => Effect.Effect<void>
      const pool = yield* Pool.make({ workers: 1, handler: careless })
      const exit = yield* Effect.exit(pool.run(undefined))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.strictEqual((yield* pool.stats).workers, 1)
    }))
})

describe("cancellation", () => {
  it.effect("a submit interrupted once room was freed for it, before it returned, accepted nothing: its job never runs, and the room goes to the next", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const ran: Array<string> = []
      let waiting: Fiber.Fiber<unknown, unknown> | undefined
      const pool = yield* Pool.make({
        workers: 1,
        capacity: 1,
        handler: (job: Job.Job<string>) =>
          Effect.gen(function*() {
            ran.push(job.id)
            if (job.id === "a") yield* Deferred.await(gate)
            // "b" starts in the worker's step that freed room for "c": the caller of "c" has not
            // been answered yet (a timeout firing then, say).
            if (job.id === "b") waiting!.interruptUnsafe()
          })
      })
      yield* pool.submit("a", { id: "a" })
      yield* settle
      yield* pool.submit("b", { id: "b" })
      waiting = yield* Effect.forkChild(pool.submit("c", { id: "c" }), { startImmediately: true })
      const next = yield* Effect.forkChild(pool.submit("d", { id: "d" }), { startImmediately: true })
      yield* Deferred.succeed(gate, undefined)
      const exit = yield* Fiber.await(waiting)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
      assert.strictEqual((yield* Fiber.join(next)).id, "d")
      const report = yield* pool.shutdown()
      assert.deepStrictEqual(ran, ["a", "b", "d"])
      assert.deepStrictEqual([(yield* pool.stats).submitted, report.succeeded], [3, 3])
    }))

  it.effect("a place held for a waiter is never lost: interrupted at any step until it takes it, the room is whole again", () =>
    Effect.gen(function*() {
      // A runtime that yields every few steps: the waiter may be interrupted at one of its own yields too.
      for (const maxOps of [2, 3, 4, 5, 6, 8]) {
        for (const ticks of [0, 1, 2, 3]) {
          yield* Effect.scoped(Effect.gen(function*() {
            const gate = yield* Deferred.make<void>()
            const pool = yield* Pool.make({
              workers: 1,
              capacity: 1,
              handler: (job: Job.Job<string>) => job.id === "a" ? Deferred.await(gate) : Effect.void
            })
            yield* pool.submit("a", { id: "a" })
            yield* settle
            yield* pool.submit("b", { id: "b" })
            const waiting = yield* Effect.forkChild(
              pool.submit("c", { id: "c" }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, maxOps)),
              { startImmediately: true }
            )
            yield* Deferred.succeed(gate, undefined)
            for (let i = 0; i < ticks; i++) yield* Effect.yieldNow
            yield* Fiber.interrupt(waiting)
            yield* settle
            // Idle, and nothing queued: there is room, whatever became of "c".
            const stats = yield* pool.stats
            assert.deepStrictEqual([stats.queued, stats.active], [0, 0])
            const tried = yield* Effect.exit(pool.trySubmit("z", { id: "z" }))
            assert.isTrue(Exit.isSuccess(tried), `maxOps ${maxOps}, ticks ${ticks}: ${String(tried)}`)
          }))
        }
      }
    }))

  it.effect("a later trySubmit takes room beyond the place held for a waiter", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const tried: Array<string> = []
      const pool = yield* Pool.make({
        workers: 1,
        capacity: 2,
        handler: (job: Job.Job<string>): Effect.Effect<void, never> =>
          job.id === "a"
            ? Deferred.await(gate)
            : job.id === "b2"
            // Runs in the step that freed room for "c": "c" holds a place, and one more is free.
            ? Effect.map(Effect.exit(pool.trySubmit("t", { id: "t" })), (exit) => void tried.push(exit._tag))
            : Effect.void
      })
      yield* pool.submit("a", { id: "a" })
      yield* settle
      yield* pool.submit("b1", { id: "b1" })
      yield* pool.submit("b2", { id: "b2" })
      const waiting = yield* Effect.forkChild(pool.submit("c", { id: "c" }), { startImmediately: true })
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual((yield* Fiber.join(waiting)).id, "c")
      yield* pool.shutdown()
      assert.deepStrictEqual(tried, ["Success"])
    }))

  it.effect("interrupting a run caller whose job is queued skips the job", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(100, [])
      const caller = yield* Effect.forkChild(pool.run(ok(), { id: "cancelled" }))
      yield* settle
      yield* Fiber.interrupt(caller)
      yield* release
      const report = yield* pool.shutdown()
      assert.notInclude(trace.started, "cancelled")
      assert.strictEqual(report.cancelled, 1)
      assert.strictEqual(report.succeeded, 1)
    }))

  it.effect("interrupting a run caller whose job runs interrupts the job, its finalizers run, the worker goes on", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      const caller = yield* Effect.forkChild(pool.run(hang, { id: "running" }))
      yield* settle
      assert.deepStrictEqual(trace.started, ["running"])
      yield* Fiber.interrupt(caller)
      assert.deepStrictEqual(trace.finalized, ["running"])
      assert.strictEqual(yield* pool.run(ok(), { id: "next" }), "next")
      const stats = yield* pool.stats
      assert.strictEqual(stats.cancelled, 1)
      assert.strictEqual(stats.interrupted, 0)
    }))

  it.effect("a cancellable pool (the durable pool's hook) cancels a submitted job by id: queued, skipped; running, interrupted; both end Cancelled", () =>
    Effect.scoped(Effect.gen(function*() {
      const trace = makeTrace()
      const endings: Array<string> = []
      const pool = yield* Pool.makeWithHooks({ workers: 1, capacity: 4, handler: handler(trace) }, {
        cancellable: true,
        ended: (job, ending) => endings.push(`${job.id} ${ending._tag}`)
      })
      yield* pool.submit(hang, { id: "running" })
      yield* pool.submit(ok(), { id: "queued" })
      yield* settle
      assert.deepStrictEqual(trace.started, ["running"])
      assert.isTrue(pool.cancel("queued"))
      assert.isTrue(pool.cancel("running"))
      assert.isFalse(pool.cancel("running"), "cancelled twice")
      assert.isFalse(pool.cancel("nobody"))
      yield* settle
      assert.deepStrictEqual(trace.finalized, ["running"])
      assert.deepStrictEqual(endings, ["running Cancelled", "queued Cancelled"])
      assert.isFalse(pool.cancel("queued"), "an ended job is forgotten")
      assert.strictEqual((yield* pool.stats).cancelled, 2)
      yield* pool.submit(ok(), { id: "next" })
      yield* settle
      assert.deepStrictEqual(endings.at(-1), "next Succeeded")
      assert.isFalse(pool.cancel("next"), "a job that ended is forgotten, not cancelled after the fact")
    })))

  it.effect("a pool made without the hook cancels nothing by id", () =>
    Effect.scoped(Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.makeWithHooks({ workers: 1, handler: handler(trace) }, { ended: () => {} })
      yield* pool.submit(hang, { id: "running" })
      yield* settle
      assert.isFalse(pool.cancel("running"))
      yield* pool.shutdown({ timeout: 0 })
    })))
})

describe("outcomes and stats", () => {
  it.effect("outcomes sees every outcome, and stats agree with them", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 2, jobTimeout: "1 second", handler: handler(makeTrace()) })
      const collected = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
      yield* settle
      const tasks: Array<[string, Task]> = [
        ["a", ok(10)],
        ["b", fail(10)],
        ["c", die(10)],
        ["d", ok(2_000)], // times out
        ["e", ok(0)]
      ]
      for (const [id, task] of tasks) yield* pool.submit(task, { id })
      const cancelled = yield* Effect.forkChild(pool.run(hang, { id: "f", timeout: "1 hour" }))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.interrupt(cancelled)
      yield* pool.shutdown()
      const outcomes = yield* Fiber.join(collected)
      const byId = Object.fromEntries(outcomes.map((outcome) => [outcome.job.id, outcome]))
      assert.deepStrictEqual(Object.keys(byId).sort(), ["a", "b", "c", "d", "e", "f"])
      assert.strictEqual(byId.a._tag, "Succeeded")
      assert.strictEqual(byId.b._tag, "Failed")
      assert.strictEqual(byId.c._tag, "Died")
      assert.strictEqual(byId.d._tag, "Failed")
      assert.strictEqual(byId.d._tag === "Failed" && byId.d.error._tag, "JobTimeoutError")
      assert.strictEqual(byId.e._tag, "Succeeded")
      assert.isTrue(byId.f._tag === "Interrupted" && byId.f.cancelled)
      if (byId.a._tag === "Succeeded") {
        assert.strictEqual(byId.a.value, "a")
        assert.strictEqual(Duration.toMillis(byId.a.elapsed), 10)
      }

      const count = (tag: string) => outcomes.filter((outcome) => outcome._tag === tag).length
      const stats = yield* pool.stats
      assert.deepStrictEqual(
        { succeeded: stats.succeeded, failed: stats.failed, died: stats.died, cancelled: stats.cancelled },
        { succeeded: count("Succeeded"), failed: count("Failed"), died: count("Died"), cancelled: count("Interrupted") }
      )
      assert.strictEqual(stats.submitted, outcomes.length)
    }))

  it.effect("outcomes ends when the pool is closed, and is empty when subscribed after", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const collected = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
      yield* settle
      yield* pool.shutdown()
      assert.deepStrictEqual(yield* Fiber.join(collected), [])
      assert.deepStrictEqual(yield* Stream.runCollect(pool.outcomes), [])
    }))

  /** Everything a subscription holds, as payloads, once the pool is closed. */
  const pullAll = <E>(outcomes: Stream.Stream<Job.Outcome<string, string, E>>) =>
    Effect.map(Stream.runCollect(outcomes), (all) => all.map((outcome) => outcome.job.payload))

  const quickIds = (n: number) => Array.from({ length: n }, (_, i) => `q${i}`)

  for (const strategy of ["sliding", "dropping"] as const) {
    it.effect(`a subscriber that never pulls holds at most its capacity (${strategy}); the drops are counted exactly`, () =>
      Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 2, capacity: 1_000, handler: (job: Job.Job<string>) => Effect.succeed(job.id) })
        // Subscribed, never pulled until the end.
        const slow = yield* pool.subscribe({ capacity: 10, strategy })
        const ids = quickIds(100)
        for (const id of ids) yield* pool.submit(id, { id })
        yield* settle
        assert.strictEqual((yield* pool.stats).succeeded, 100)
        assert.strictEqual((yield* pool.stats).droppedOutcomes, 90)
        yield* pool.shutdown()
        const held = yield* pullAll(slow)
        // All it holds: sliding keeps the newest ten, dropping the oldest ten.
        assert.deepStrictEqual(held, strategy === "sliding" ? ids.slice(90) : ids.slice(0, 10))
      })))
  }

  it.effect("outcomes buffers at most 1,024 outcomes for a subscriber by default, and the pool's option changes it", () =>
    Effect.scoped(Effect.gen(function*() {
      const handler = (job: Job.Job<string>) => Effect.succeed(job.id)
      const pool = yield* Pool.make({ workers: 1, capacity: 2_000, handler })
      const bounded = yield* Pool.make({ workers: 1, handler, outcomes: { capacity: 3, strategy: "dropping" } })
      const slow = yield* pool.subscribe()
      const slowToo = yield* bounded.subscribe()
      yield* pool.submitAll(quickIds(1_100))
      yield* bounded.submitAll(quickIds(5))
      yield* settle
      assert.strictEqual((yield* pool.stats).droppedOutcomes, 1_100 - 1_024)
      assert.strictEqual((yield* bounded.stats).droppedOutcomes, 2)
      yield* pool.shutdown()
      yield* bounded.shutdown()
      assert.strictEqual((yield* pullAll(slow)).length, 1_024)
      assert.deepStrictEqual(yield* pullAll(slowToo), quickIds(3))
    })))

  it.effect("a subscriber that keeps up loses nothing, beside one that never pulls", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: (job: Job.Job<string>) => Effect.succeed(job.id) })
      yield* pool.subscribe({ capacity: 1 })
      const keeping = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
      for (const id of quickIds(50)) {
        yield* pool.submit(id, { id })
        yield* settle
      }
      yield* pool.shutdown()
      assert.strictEqual((yield* Fiber.join(keeping)).length, 50)
      assert.strictEqual((yield* pool.stats).droppedOutcomes, 49)
    })))

  it.effect("subscribe with a bad buffer fails with PoolConfigError naming the field", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const zero = yield* Effect.flip(Effect.scoped(pool.subscribe({ capacity: 0 })))
      assert.strictEqual(zero.option, "outcomes.capacity")
      const strategy = yield* Effect.flip(
        Effect.scoped(pool.subscribe({ strategy: "suspend" } as unknown as Pool.OutcomeBuffer))
      )
      assert.strictEqual(strategy.option, "outcomes.strategy")
    }))

  it.effect("stats show queued and active jobs", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()), shutdown: { timeout: 0 } })
      yield* pool.submit(hang)
      yield* pool.submit(ok())
      yield* settle
      const stats = yield* pool.stats
      assert.strictEqual(stats.active, 1)
      assert.strictEqual(stats.queued, 1)
      assert.strictEqual(stats.submitted, 2)
    }))
})

describe("layer", () => {
  class Work extends Context.Service<Work, Pool.WorkerPool<Task, string, BadPayload>>()("test/Work") {}

  it.effect("the layer provides a running pool; releasing it drains the pool", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const layer = Pool.layer(Work, { workers: 2, handler: handler(trace) })
      const pool = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(layer)
        const pool = Context.get(context, Work)
        for (let i = 0; i < 5; i++) yield* pool.submit(ok(100), { id: `job${i}` })
        return pool
      })).pipe(Effect.forkChild)
      yield* settle
      yield* TestClock.adjust("300 millis")
      const released = yield* Fiber.join(pool)
      assert.deepStrictEqual([...trace.finished].sort(), ["job0", "job1", "job2", "job3", "job4"])
      assert.strictEqual((yield* Effect.flip(released.submit(ok())))._tag, "PoolClosedError")
      assert.strictEqual((yield* released.stats).workers, 0)
    }))
})
