/**
 * Graceful shutdown: backlog "drain" and "return", the deadline, the report,
 * idempotency, and shutdown through the owning scope. TestClock time only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Logger, References, Scope } from "effect"
import { TestClock } from "effect/testing"
import { type Job, Pool, type Shutdown } from "../src/index.ts"
import { unhandledRejections } from "./support/rejections.ts"
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

  it.effect("a cancellable pool's job (each in a fiber of its own) cut off by the deadline is interrupted too, its finalizers run", () =>
    Effect.scoped(Effect.gen(function*() {
      const trace = makeTrace()
      const endings: Array<string> = []
      const pool = yield* Pool.makeWithHooks({ workers: 1, handler: handler(trace) }, {
        cancellable: true,
        ended: (job, ending) => endings.push(`${job.id} ${ending._tag}`)
      })
      yield* pool.submit(hang, { id: "stuck" })
      yield* settle
      assert.deepStrictEqual(trace.started, ["stuck"])
      const report = yield* pool.shutdown({ timeout: 0 })
      assert.deepStrictEqual(ids(report.interrupted), ["stuck"])
      assert.deepStrictEqual(trace.finalized, ["stuck"])
      assert.strictEqual(trace.running, 0)
      assert.deepStrictEqual(endings, ["stuck CutOff"])
    })))

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

describe("the report of a long-lived pool", () => {
  it.effect("keeps no job that interrupted itself before the shutdown: it counts them", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({
        workers: 2,
        handler: (job: Job.Job<string>) => job.payload === "self" ? Effect.interrupt : Effect.void
      })
      for (let round = 0; round < 10; round++) {
        yield* pool.submitAll(Array.from({ length: 500 }, () => "self"))
        yield* settle
      }
      const report = yield* pool.shutdown()
      assert.strictEqual(report.interrupted.length, 0)
      assert.strictEqual(report.interruptedBeforeShutdown, 5_000)
      assert.strictEqual((yield* pool.stats).interrupted, 5_000)
    }))

  it.effect("lists the jobs interrupted once the shutdown began, by the deadline or by themselves", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({
        workers: 1,
        handler: (job: Job.Job<string>) =>
          job.payload === "self"
            ? Effect.interrupt
            : job.payload === "slow-then-self"
            ? Effect.andThen(Effect.sleep("1 second"), Effect.interrupt)
            : Effect.never
      })
      yield* pool.submit("self", { id: "early" })
      yield* settle
      yield* pool.submit("slow-then-self", { id: "during-drain" })
      yield* pool.submit("stuck", { id: "at-deadline" })
      yield* settle
      const shutdown = yield* Effect.forkChild(pool.shutdown({ timeout: "5 seconds" }))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      const report = yield* Fiber.join(shutdown)
      assert.deepStrictEqual(ids(report.interrupted), ["during-drain", "at-deadline"])
      assert.strictEqual(report.interruptedBeforeShutdown, 1)
      assert.strictEqual((yield* pool.stats).interrupted, 3)
    }))
})

/** A logger that records each line's message, level and annotations. */
const recordingLogger = () => {
  const lines: Array<{ message: unknown; level: string; annotations: Record<string, unknown> }> = []
  const layer = Logger.layer([Logger.make(({ fiber, logLevel, message }) => {
    lines.push({ message, level: logLevel, annotations: { ...fiber.getRef(References.CurrentLogAnnotations) } })
  })])
  return { lines, layer }
}

const messageOf = (line: { readonly message: unknown }) =>
  Array.isArray(line.message) ? line.message.join(" ") : String(line.message)

describe("onShutdown and the released layer", () => {
  class Work extends Context.Service<Work, Pool.WorkerPool<string, void, never>>()("test/ReleasedWork") {}

  /** A pool as a layer, with a job stuck for ever and one still queued when it is released. */
  const releaseWithStuckJobs = (options: Partial<Pool.Options<string, void, never, never>>) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Pool.layer(Work, {
          workers: 1,
          handler: (job) => job.payload === "stuck" ? Effect.never : Effect.void,
          shutdown: { timeout: "1 second", backlog: "drain" },
          ...options
        }),
        scope
      )
      const pool = Context.get(context, Work)
      yield* pool.submit("stuck", { id: "stuck" })
      yield* settle
      yield* pool.submit("queued", { id: "queued" })
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      return pool
    })

  it.effect("releasing the layer logs the report, with the ids of the jobs interrupted and abandoned as fields", () => {
    const { layer, lines } = recordingLogger()
    return Effect.gen(function*() {
      yield* releaseWithStuckJobs({})
      const line = lines.find((line) => messageOf(line).includes("scope closed"))
      assert.isDefined(line, "the release logged no report")
      assert.strictEqual(line!.level, "Warn")
      assert.deepStrictEqual(line!.annotations.interruptedIds, ["stuck"])
      assert.deepStrictEqual(line!.annotations.abandonedIds, ["queued"])
      assert.strictEqual(line!.annotations.timedOut, true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("the release's log line names at most 100 ids of each kind, and says how many more the report has", () => {
    const { layer, lines } = recordingLogger()
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({
          workers: 1,
          capacity: 300,
          handler: () => Effect.never,
          shutdown: { timeout: "0 millis", backlog: "return" }
        })
        yield* pool.submitAll(Array.from({ length: 251 }, (_, i) => `job ${i}`))
        yield* settle
      }))
      const line = lines.find((line) => messageOf(line).includes("scope closed"))
      assert.isDefined(line, "the release logged no report")
      const abandoned = line!.annotations.abandonedIds as ReadonlyArray<string>
      assert.strictEqual(abandoned.length, 101)
      assert.strictEqual(abandoned[100], "... 150 more")
      assert.strictEqual((line!.annotations.interruptedIds as ReadonlyArray<string>).length, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a clean release logs the report at debug level only; an explicit shutdown's report is not logged again", () => {
    const { layer, lines } = recordingLogger()
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
        yield* pool.submit("a")
      }))
      const clean = lines.filter((line) => messageOf(line).includes("scope closed"))
      assert.deepStrictEqual(clean.map((line) => line.level), ["Debug"])
      assert.deepStrictEqual(clean[0]!.annotations.abandonedIds, [])
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
        yield* pool.shutdown()
      }))
      assert.strictEqual(lines.filter((line) => messageOf(line).includes("scope closed")).length, 1)
    }).pipe(Effect.provide(layer), Effect.provideService(References.MinimumLogLevel, "Debug"))
  })

  it.effect("onShutdown gets the report once, when the layer is released", () =>
    Effect.gen(function*() {
      const reports: Array<Shutdown.Report<string>> = []
      const pool = yield* releaseWithStuckJobs({ onShutdown: (report) => Effect.sync(() => void reports.push(report)) })
      assert.strictEqual(reports.length, 1)
      assert.deepStrictEqual(ids(reports[0]!.interrupted), ["stuck"])
      assert.deepStrictEqual(ids(reports[0]!.abandoned), ["queued"])
      // A later shutdown returns the same report and does not call it again.
      assert.strictEqual(yield* pool.shutdown(), reports[0])
      assert.strictEqual(reports.length, 1)
    }))

  it.effect("onShutdown gets the report of an explicit shutdown, before its caller, and not again on release", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({
          workers: 1,
          handler: () => Effect.void,
          onShutdown: (report) => Effect.sync(() => void seen.push(`onShutdown ${report.succeeded}`))
        })
        yield* pool.submit("a")
        const report = yield* pool.shutdown()
        seen.push(`caller ${report.succeeded}`)
      }))
      assert.deepStrictEqual(seen, ["onShutdown 1", "caller 1"])
    }))

  it.effect("an onShutdown that asks for the pool's shutdown, itself or in a fiber it forks, gets the report at once; other callers wait for it", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      let pool: Pool.WorkerPool<string, void, never> | undefined
      const made = yield* Pool.make({
        workers: 1,
        handler: (_: Job.Job<string>) => Effect.void,
        onShutdown: (report) =>
          Effect.gen(function*() {
            const itself = yield* pool!.shutdown()
            const forked = yield* Fiber.join(yield* Effect.forkChild(pool!.shutdown()))
            seen.push(`onShutdown ${itself === report} ${forked === report}`)
            yield* Effect.sleep("1 second")
            seen.push("onShutdown done")
          })
      })
      pool = made
      const first = yield* Effect.forkChild(made.shutdown())
      const second = yield* Effect.forkChild(made.shutdown())
      yield* settle
      assert.deepStrictEqual(seen, ["onShutdown true true"])
      assert.isUndefined(second.pollUnsafe(), "a caller outside onShutdown did not wait for it")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(second), yield* Fiber.join(first))
      assert.deepStrictEqual(seen, ["onShutdown true true", "onShutdown done"])
    }).pipe(Effect.scoped))

  it.effect("so does one of a pool made inside another pool's onShutdown, whose context it keeps", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      let inner: Pool.WorkerPool<string, void, never> | undefined
      const outer = yield* Pool.make({
        workers: 1,
        handler: (_: Job.Job<string>) => Effect.void,
        onShutdown: () =>
          Effect.scoped(Effect.gen(function*() {
            const made = yield* Pool.make({
              workers: 1,
              handler: (_: Job.Job<string>) => Effect.void,
              onShutdown: (report) => Effect.map(inner!.shutdown(), (again) => void seen.push(`inner ${again === report}`))
            })
            inner = made
            yield* made.shutdown()
            seen.push("outer")
          }))
      })
      yield* Effect.forkChild(outer.shutdown())
      yield* settle
      assert.deepStrictEqual(seen, ["inner true", "outer"])
    }).pipe(Effect.scoped))

  const brokenCallbacks: Array<[string, (report: Shutdown.Report<string>) => Effect.Effect<unknown, unknown>]> = [
    ["fails", () => Effect.fail("no disk")],
    ["dies", () => Effect.die(new Error("bug"))],
    ["throws", () => {
      throw new Error("thrown")
    }],
    ["returns a Promise", () => Promise.resolve() as unknown as Effect.Effect<void>],
    ["returns a Promise that rejects", () => Promise.reject(new Error("async onShutdown")) as unknown as Effect.Effect<void>],
    ["interrupts itself", () => Effect.interrupt]
  ]
  for (const [name, onShutdown] of brokenCallbacks) {
    it.effect(`an onShutdown that ${name} is logged and breaks neither the release nor the report`, () => {
      const { layer, lines } = recordingLogger()
      return Effect.gen(function*() {
        const { result: pool, rejections } = yield* unhandledRejections(releaseWithStuckJobs({ onShutdown }))
        assert.deepStrictEqual(rejections, [], "a rejection was left unhandled")
        const report = yield* pool.shutdown()
        assert.deepStrictEqual(ids(report.interrupted), ["stuck"])
        assert.strictEqual((yield* pool.stats).workers, 0)
        assert.isTrue(lines.some((line) => messageOf(line).includes("onShutdown failed")), "the failure was not logged")
        assert.isTrue(lines.some((line) => messageOf(line).includes("scope closed")), "the report was not logged")
      }).pipe(Effect.provide(layer))
    })
  }
})
