/**
 * The pool's invariant, over random workloads, for any pool that keeps it:
 * the in-memory pool (`Invariant.test.ts`) and the threaded pool
 * (`InvariantThreads.test.ts`). Every accepted job ends in exactly one of
 * succeeded, failed, died, cancelled, interrupted, abandoned; every refused
 * submit was refused with `PoolClosedError` (or `PoolFullError` for
 * `trySubmit`); and nothing of the pool runs after its scope closes.
 *
 * Workloads mix job durations, failures, defects, jobs that never end,
 * `run` callers that get interrupted, submits interleaved with shutdown, both
 * backlog policies, batches from `submitAll`, random deadlines and delayed
 * jobs (`delay`: due during the workload, or after the shutdown began), and
 * pauses and resumes (while paused, until a shutdown lifts it, no worker
 * starts a job). Time is the TestClock's.
 */
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Scheduler, Scope, Stream } from "effect"
import type { Job } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Ledger from "../../src/internal/ledger.ts"
import { type BadPayload, makeTrace, type Task, type Trace } from "./workload.ts"

/** The pool under test, and how to wait for it between two steps. */
export interface Subject {
  readonly make: (
    options: {
      readonly workers: number
      readonly capacity: number
      readonly jobTimeout: number | undefined
      readonly shutdown: { readonly backlog: "drain" | "return"; readonly timeout: number }
    },
    trace: Trace
  ) => Effect.Effect<Pool.WorkerPool<Task, string, BadPayload>, Pool.PoolConfigError, Scope.Scope>
  /** Lets what can run, run: the pool's fibers (and, for threads, their replies). */
  readonly settle: Effect.Effect<void>
  /** How many rounds of 100 ms (and a settle) closing the scope may take. */
  readonly closingRounds: number
}

type Mode = "submit" | "trySubmit" | "run" | "runThenInterrupt"

type Step =
  | {
    readonly _tag: "job"
    readonly task: Task
    readonly mode: Mode
    readonly interruptAfter: number
    /** The job's `delay` in milliseconds, if it has one. */
    readonly delay: number | undefined
  }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "shutdown"; readonly interruptCaller: boolean }
  | { readonly _tag: "batch"; readonly tasks: ReadonlyArray<Task> }
  | { readonly _tag: "pause"; readonly paused: boolean }

export interface Workload {
  readonly workers: number
  readonly capacity: number
  readonly jobTimeout: number | undefined
  readonly backlog: "drain" | "return"
  readonly deadline: number
  readonly steps: ReadonlyArray<Step>
  /** How often fibers yield to the scheduler: small values open every window between two steps of a fiber. */
  readonly opsBeforeYield: number
}

const ms = fc.integer({ min: 0, max: 400 })

const task: fc.Arbitrary<Task> = fc.oneof(
  { weight: 4, arbitrary: ms.map((ms): Task => ({ _tag: "ok", ms })) },
  { weight: 2, arbitrary: ms.map((ms): Task => ({ _tag: "fail", ms })) },
  { weight: 1, arbitrary: ms.map((ms): Task => ({ _tag: "die", ms })) },
  { weight: 1, arbitrary: fc.constant<Task>({ _tag: "throw" }) },
  { weight: 1, arbitrary: fc.constant<Task>({ _tag: "hang" }) },
  { weight: 1, arbitrary: ms.map((ms): Task => ({ _tag: "selfInterrupt", ms })) },
  { weight: 1, arbitrary: ms.map((ms): Task => ({ _tag: "notAnEffect", ms })) }
)

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      _tag: fc.constant("job" as const),
      task,
      mode: fc.constantFrom<Mode>("submit", "trySubmit", "run", "runThenInterrupt"),
      interruptAfter: ms,
      delay: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: undefined, freq: 3 })
    })
  },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("advance" as const), ms }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("batch" as const), tasks: fc.array(task, { minLength: 1, maxLength: 5 }) })
  },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("shutdown" as const), interruptCaller: fc.boolean() })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("pause" as const), paused: fc.boolean() }) }
)

export const workload: fc.Arbitrary<Workload> = fc.record({
  workers: fc.integer({ min: 1, max: 4 }),
  capacity: fc.integer({ min: 1, max: 4 }),
  jobTimeout: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
  backlog: fc.constantFrom("drain" as const, "return" as const),
  deadline: fc.integer({ min: 0, max: 1_500 }),
  steps: fc.array(step, { maxLength: 40 }),
  // Below 3, Effect's own runtime stops making progress (even without a pool).
  opsBeforeYield: fc.integer({ min: 4, max: 300 })
})

/**
 * The jobs a worker started: running, or ended after starting (a running
 * job whose caller gave up counts as cancelled, and leaves this count).
 */
const startedOf = (stats: Pool.Stats) => stats.active + stats.succeeded + stats.failed + stats.died + stats.interrupted

/** How an accepted job ended, as seen from outside the pool. */
type End = "succeeded" | "failed" | "died" | "cancelled" | "interrupted" | "abandoned"

interface Attempt {
  readonly id: string
  readonly mode: Mode
  readonly fiber: Fiber.Fiber<unknown, unknown>
}

/**
 * Closing `scope`: the first run starts it (detached, so that a close that
 * hangs cannot hold its caller), and every run, the first included, advances
 * the TestClock 100 ms a round (and settles) until that one close has ended
 * or `subject.closingRounds` have passed, and says whether it ended. One
 * close for all: a second `Scope.close` of a closing scope returns at once,
 * and would say "closed" of a scope still closing.
 */
const closer = (subject: Subject, scope: Scope.Closeable) => {
  let closing: Fiber.Fiber<void> | undefined
  return Effect.gen(function*() {
    closing ??= yield* Effect.forkDetach(Scope.close(scope, Exit.void), { startImmediately: true })
    for (let i = 0; i < subject.closingRounds && closing.pollUnsafe() === undefined; i++) {
      yield* TestClock.adjust(100)
      yield* subject.settle
    }
    return closing.pollUnsafe() !== undefined
  })
}

/**
 * Runs a workload and checks the invariant. Fails (an assertion defect) when
 * it does not hold. A run that fails or is interrupted half-way still closes
 * its pool: threads left computing would slow every later run (the
 * shrinking's too) until they, in turn, time out.
 */
export const check = (subject: Subject) => (w: Workload) =>
  Effect.flatMap(Scope.make(), (scope) => {
    const close = closer(subject, scope)
    return Effect.onError(exercise(subject, w, scope, close), () => Effect.asVoid(close))
  })

const exercise = (subject: Subject, w: Workload, scope: Scope.Closeable, close: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const { settle } = subject
    const trace = makeTrace()
    const pool = yield* subject.make({
      workers: w.workers,
      capacity: w.capacity,
      jobTimeout: w.jobTimeout,
      shutdown: { backlog: w.backlog, timeout: w.deadline }
    }, trace).pipe(Scope.provide(scope))
    const outcomes = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
    yield* settle

    const attempts: Array<Attempt> = []
    /** The jobs submitted with a delay: a shutdown hands back those not due, whatever its policy. */
    const delayed = new Set<string>()
    const batches: Array<Fiber.Fiber<ReadonlyArray<Job.Job<Task>>, Pool.PoolClosedError | Pool.PoolConfigError>> = []
    let shutdown: Fiber.Fiber<unknown, unknown> | undefined
    let shutDown = false
    /** The jobs started (running or ended since) at the last step while paused, no shutdown since: none may start. */
    let startedWhilePaused: number | undefined
    for (const [index, step] of w.steps.entries()) {
      if (step._tag === "advance") yield* TestClock.adjust(step.ms)
      else if (step._tag === "pause") yield* step.paused ? pool.pause : pool.resume
      else if (step._tag === "batch") {
        batches.push(yield* Effect.forkChild(pool.submitAll(step.tasks), { startImmediately: true }))
      }
      else if (step._tag === "shutdown") {
        const caller = yield* Effect.forkChild(pool.shutdown(), { startImmediately: true })
        // A caller that goes away must not stop the shutdown half-way.
        if (step.interruptCaller) yield* Effect.forkChild(Fiber.interrupt(caller), { startImmediately: true })
        else shutdown ??= caller
        shutDown = true
      }
      else {
        const id = `j${index}`
        const options = { id, delay: step.delay }
        if (step.delay !== undefined && step.delay > 0) delayed.add(id)
        const effect = step.mode === "submit"
          ? pool.submit(step.task, options)
          : step.mode === "trySubmit"
          ? pool.trySubmit(step.task, options)
          : pool.run(step.task, options)
        const fiber = yield* Effect.forkChild(effect, { startImmediately: true })
        if (step.mode === "runThenInterrupt") {
          yield* Effect.forkChild(Effect.andThen(Effect.sleep(step.interruptAfter), Fiber.interrupt(fiber)))
        }
        attempts.push({ id, mode: step.mode, fiber })
      }
      yield* settle
      // The ledger's rule holds at every step, delayed jobs (queued, holding a place) included.
      const now = yield* pool.stats
      assert.strictEqual(Ledger.unaccounted(now), 0, `after step ${index}: ${JSON.stringify(now)}`)
      assert.isAtMost(now.delayed, now.queued)
      if (shutDown || !(yield* pool.isPaused)) startedWhilePaused = undefined
      else {
        const started = startedOf(now)
        assert.isAtMost(started, startedWhilePaused ?? started, `a job started while paused, at step ${index}`)
        startedWhilePaused = started
      }
    }

    // Close the scope (which shuts the pool down unless a step already did),
    // advancing time until it is closed: the deadline bounds how long it takes.
    assert.isTrue(yield* close, "the scope did not close within the deadline")
    if (shutdown) yield* Fiber.await(shutdown)
    const report = yield* pool.shutdown()

    // Nothing of the pool runs after its scope closed.
    const stats = yield* pool.stats
    assert.strictEqual(trace.running, 0, "a handler is still running")
    assert.strictEqual(stats.workers, 0, "a worker is still running")
    assert.strictEqual(stats.active, 0)
    assert.strictEqual(stats.queued, 0)

    // How every accepted job ended, from the outcomes and the report.
    const ends = new Map<string, Array<End>>()
    const record = (id: string, end: End) => ends.set(id, [...(ends.get(id) ?? []), end])
    /** Jobs interrupted, not by their caller nor by themselves: by the deadline. */
    const cutOff: Array<string> = []
    for (const outcome of yield* Fiber.join(outcomes)) {
      if (outcome._tag === "Interrupted" && !outcome.cancelled && outcome.job.payload._tag !== "selfInterrupt") {
        cutOff.push(outcome.job.id)
      }
      record(
        outcome.job.id,
        outcome._tag === "Succeeded"
          ? "succeeded"
          : outcome._tag === "Failed"
          ? "failed"
          : outcome._tag === "Died"
          ? "died"
          : outcome.cancelled
          ? "cancelled"
          : "interrupted"
      )
    }
    for (const job of report.abandoned) record(job.id, "abandoned")

    const abandoned = new Set(report.abandoned.map((job: Job.Job<Task>) => job.id))
    const accepted = new Set<string>()
    let batchPrefixes = 0
    for (const attempt of attempts) {
      yield* Effect.yieldNow
      const exit = attempt.fiber.pollUnsafe()
      assert.isDefined(exit, `${attempt.id} (${attempt.mode}) never returned`)
      if (exit === undefined) continue
      const refusal = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      const tag = refusal?._tag === "Some" ? (refusal.value as { _tag?: string })._tag : undefined
      const refused = (tag === "PoolClosedError" && !abandoned.has(attempt.id)) || tag === "PoolFullError"
      if (refused) {
        // Refused: with PoolClosedError, or PoolFullError from trySubmit only, and it never ran.
        assert.isTrue(tag === "PoolClosedError" || attempt.mode === "trySubmit", `${attempt.id}: ${tag}`)
        assert.isFalse(ends.has(attempt.id), `${attempt.id} was refused but ran`)
        assert.notInclude(trace.started, attempt.id)
      } else if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) && !ends.has(attempt.id)) {
        // A run caller interrupted while it waited for room: never accepted.
        assert.strictEqual(attempt.mode, "runThenInterrupt")
      } else {
        accepted.add(attempt.id)
      }
    }

    // A batch accepted a prefix of its payloads: all of them on success, `accepted` of them on refusal.
    for (const batch of batches) {
      const exit = batch.pollUnsafe()
      assert.isDefined(exit, "a submitAll never returned")
      if (exit === undefined) continue
      if (Exit.isSuccess(exit)) {
        for (const job of exit.value) accepted.add(job.id)
      } else {
        const error = Cause.findErrorOption(exit.cause)
        assert.isTrue(
          error._tag === "Some" && error.value._tag === "PoolClosedError",
          "a submitAll failed with something other than PoolClosedError"
        )
        if (error._tag === "Some") {
          const accepted = error.value.accepted ?? -1
          assert.isAtLeast(accepted, 0, "a refused submitAll did not say how many it accepted")
          batchPrefixes += accepted
        }
      }
    }
    // Jobs of refused batches are known only by count: ended jobs nobody else claims.
    const unclaimed = [...ends.keys()].filter((id) => !accepted.has(id))
    assert.strictEqual(unclaimed.length, batchPrefixes, "jobs of refused batches were lost or invented")
    for (const id of unclaimed) accepted.add(id)

    for (const id of accepted) {
      const end = ends.get(id)
      assert.strictEqual(end?.length, 1, `${id} ended ${JSON.stringify(end)}`)
    }

    // The report's counts agree with the outcomes.
    const count = (end: End) => [...ends.values()].filter(([e]) => e === end).length
    assert.strictEqual(report.succeeded, count("succeeded"))
    assert.strictEqual(report.failed, count("failed"))
    assert.strictEqual(report.died, count("died"))
    assert.strictEqual(report.cancelled, count("cancelled"))
    // Interrupted jobs: listed once the shutdown began, only counted before.
    assert.strictEqual(report.interrupted.length + report.interruptedBeforeShutdown, count("interrupted"))
    assert.strictEqual(stats.interrupted, count("interrupted"))
    assert.strictEqual(stats.submitted, accepted.size)
    // Only the deadline and the handlers that interrupt themselves interrupt jobs here, and "drain"
    // hands back nothing unless the deadline was reached, but delayed jobs that were not due.
    const interruptedBy = (job: Job.Job<Task>) => job.payload._tag === "selfInterrupt" ? "itself" : "the deadline"
    if (!report.timedOut) {
      assert.deepStrictEqual(report.interrupted.filter((job) => interruptedBy(job) === "the deadline"), [])
      if (w.backlog === "drain") assert.deepStrictEqual(report.abandoned.filter((job) => !delayed.has(job.id)), [])
    }
    // A job cut off by the deadline is always listed: only self-interruptions before the shutdown are not.
    const listed = new Set(report.interrupted.map((job) => job.id))
    for (const id of cutOff) assert.isTrue(listed.has(id), `${id} was cut off by the deadline but is not in the report`)
  })

/** Dies once `ms` of real time have passed: the TestClock cannot reach it. */
const realDeadline = (ms: number) =>
  Effect.callback<never>((resume) => {
    const timer = setTimeout(() => resume(Effect.die(new Error(`the run took more than ${ms} ms of real time`))), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * `check` of one workload on the TestClock with the workload's scheduler
 * budget, interrupted (closing its pool) after `timeout` of real time.
 */
export const run = (subject: Subject, w: Workload, timeout: number) =>
  Effect.runPromise(check(subject)(w).pipe(
    Effect.raceFirst(realDeadline(timeout)),
    Effect.provideService(Scheduler.MaxOpsBeforeYield, w.opsBeforeYield),
    Effect.provide(TestClock.layer())
  ))

/**
 * The invariant as a property of `subject`: `run` over random workloads.
 * A run that hangs past `timeout` is interrupted and fails the property,
 * which is shrunk, instead of hanging the suite; should the interruption
 * itself hang, fast-check gives up on the run at twice `timeout`. After
 * `budget` in all, fast-check stops and fails: while shrinking, with the
 * smallest failing workload found so far (fast-check prints it, with the
 * seed and path that replay it), before the test's own time limit hides it; before any failure, because the runs
 * took longer than the budget allows, which is a failure too (a run takes
 * about a second, or a fiftieth of that in memory).
 */
export const holds = (
  subject: Subject,
  { budget, numRuns, timeout }: { readonly numRuns: number; readonly timeout: number; readonly budget: number }
) =>
  fc.assert(
    fc.asyncProperty(workload, (w) => run(subject, w, timeout)),
    { numRuns, plugins: [fc.timeout(2 * timeout), fc.interruptAfterTimeLimit(budget, { failOnInterrupt: true })] }
  )
