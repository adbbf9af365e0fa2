/**
 * The threaded pool (`Threads`): the handler runs in worker threads, and the
 * pool's rules still hold. Each test starts real threads (so this is an
 * integration test): jobs whose work is chosen by their payload
 * (`support/threadJobs.ts`), some of which compute for ever, so that only
 * terminating their thread can stop them. Deadlines here are real time
 * (threads know no TestClock), and nothing asserts how long anything took
 * beyond a generous bound that proves a rule (a shutdown that must not wait
 * 5 s for each thread).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { markAsUncloneable } from "node:worker_threads"
import { Durable, type Pool, Threads } from "../src/index.ts"
import type { ThreadTask } from "./support/threadJobs.ts"
import { canCountOsThreads, osThreads } from "./support/osThreads.ts"
import { waitUntil } from "./support/waitUntil.ts"
import { Area, schema, Square, TooBig } from "./support/threadSchemas.ts"

const jobs = new URL("./support/threadJobs.ts", import.meta.url)

/** `Refused` as it crosses without a schema: its fields, not its class. */
type Refusal = { readonly _tag: "Refused"; readonly reason: string }

const make = (options: Partial<Threads.Options<ThreadTask, unknown, Refusal>> = {}) =>
  Threads.make<ThreadTask, unknown, Refusal>({
    handler: jobs,
    threads: 1,
    ...options
  })

/** The id of the thread that runs the pool's next job. */
const threadOf = (pool: Effect.Success<ReturnType<typeof make>>) =>
  // No deadline of the pool's: a replacement thread may still be starting, and its start counts in the job's time.
  pool.run({ _tag: "threadId" }, { timeout: "Infinity" })

const defectOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const defect = Exit.isFailure(exit) ? Cause.findDefect(exit.cause) : undefined
  assert.strictEqual(defect?._tag, "Success", `not a defect: ${String(exit)}`)
  return defect?._tag === "Success" ? defect.success : undefined
}

describe("make", () => {
  it.live("a handler module that does not exist is a PoolConfigError on handler", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(make({ handler: new URL("./support/noSuchModule.ts", import.meta.url) }))
      assert.strictEqual(error._tag, "PoolConfigError")
      assert.strictEqual(error.option, "handler")
      assert.match(error.reason, /noSuchModule/)
    }).pipe(Effect.scoped))

  it.live("a module that exports no handler is a PoolConfigError on handler", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(make({ handler: new URL("../src/Job.ts", import.meta.url) }))
      assert.strictEqual(error.option, "handler")
      assert.match(error.reason, /does not export a function named handler/)
    }).pipe(Effect.scoped))

  it.live("bad options are refused before any thread starts", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(make({ threads: 0 }))).option, "threads")
      const slip = yield* Effect.flip(make({ workers: 2 } as unknown as Parameters<typeof make>[0]))
      assert.deepStrictEqual([slip.option, slip.reason], ["workers", "is not an option of the threaded pool (a threaded pool's size is `threads`)"])
      assert.strictEqual((yield* Effect.flip(make({ capacity: 0 }))).option, "capacity")
      assert.strictEqual((yield* Effect.flip(make({ handler: "not a url" }))).option, "handler")
      assert.strictEqual((yield* Effect.flip(make({ startTimeout: 0 }))).option, "startTimeout")
      assert.strictEqual((yield* Effect.flip(make({ startTimeout: "soon" as never }))).option, "startTimeout")
      const limits = yield* Effect.flip(make({ resourceLimits: { maxOldGenerationSizeMb: -1 } }))
      assert.strictEqual(limits.option, "resourceLimits.maxOldGenerationSizeMb")
      // Too small to start a thread: at 1 or 2 MB, V8 aborts the whole process as the thread starts.
      for (const maxOldGenerationSizeMb of [1, 2, 15]) {
        const small = yield* Effect.flip(make({ resourceLimits: { maxOldGenerationSizeMb } }))
        assert.deepStrictEqual(
          [small.option, small.reason],
          ["resourceLimits.maxOldGenerationSizeMb", `must be at least 16: less aborts the process or fails the thread's start, got ${maxOldGenerationSizeMb}`]
        )
      }
    }).pipe(Effect.scoped))

  it.live("a module that has not loaded within startTimeout fails make with a PoolConfigError on handler", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(make({
        handler: new URL("./support/neverLoadingThreadJobs.ts", import.meta.url),
        startTimeout: "300 millis"
      }))
      assert.deepStrictEqual([error.option, error.reason], ["handler", "its module did not load within 300ms"])
      // Given longer than it takes, a slow module starts.
      const slow = yield* make({ handler: new URL("./support/slowThreadJobs.ts", import.meta.url), startTimeout: "Infinity" })
      assert.strictEqual(yield* slow.run({ _tag: "echo", value: 1 }), 1)
    }).pipe(Effect.scoped))

  it.live("threads default to the machine's available parallelism", () =>
    Effect.gen(function*() {
      const { availableParallelism } = yield* Effect.promise(() => import("node:os"))
      const pool = yield* Threads.make({ handler: jobs })
      assert.strictEqual((yield* pool.stats).workers, availableParallelism())
    }).pipe(Effect.scoped))
})

describe("layer", () => {
  class Hashing extends Context.Service<Hashing, Pool.WorkerPool<ThreadTask, unknown, never>>()("Hashing") {}

  it.live("provides the threaded pool as a service, and closes its threads with the layer", () =>
    Effect.gen(function*() {
      const pool = yield* Hashing
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "via layer" }), "via layer")
    }).pipe(Effect.provide(Threads.layer(Hashing, { handler: jobs, threads: 1 }))))
})

describe("outcomes", () => {
  it.live("values cross by structured clone; typed errors keep their tag and fields", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      assert.deepStrictEqual(yield* pool.run({ _tag: "echo", value: { a: [1, 2], at: new Date(0) } }), {
        a: [1, 2],
        at: new Date(0)
      })
      const refused = yield* Effect.flip(pool.run({ _tag: "fail" }, { id: "f" }))
      assert.strictEqual(refused._tag, "Refused")
      assert.isTrue(refused._tag === "Refused" && refused.reason === "f")
    }).pipe(Effect.scoped))

  it.live("a handler that dies, throws or returns no Effect is Died; one that interrupts itself is Interrupted", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const outcomes = yield* Effect.forkChild(Stream.runCollect(Stream.take(pool.outcomes, 4)), {
        startImmediately: true
      })
      assert.match(String(defectOf(yield* Effect.exit(pool.run({ _tag: "die" }, { id: "d" })))), /defect in d/)
      assert.match(String(defectOf(yield* Effect.exit(pool.run({ _tag: "throw" }, { id: "t" })))), /thrown in t/)
      assert.match(String(defectOf(yield* Effect.exit(pool.run({ _tag: "notAnEffect" })))), /not an Effect/)
      const interrupted = yield* Effect.flip(pool.run({ _tag: "selfInterrupt" }))
      assert.strictEqual(interrupted._tag, "JobInterruptedError")
      const tags = (yield* Fiber.join(outcomes)).map((outcome) => outcome._tag)
      assert.deepStrictEqual(tags, ["Died", "Died", "Died", "Interrupted"])
    }).pipe(Effect.scoped))

  it.live("a result that cannot be cloned back is Died, and the thread goes on", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const before = yield* threadOf(pool)
      assert.match(String(defectOf(yield* Effect.exit(pool.run({ _tag: "uncloneable" })))), /cannot be sent back/)
      assert.strictEqual(yield* threadOf(pool), before)
    }).pipe(Effect.scoped))

  it.live("a payload holding a SharedArrayBuffer is taken, and its memory shared with the thread, not copied", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const cells = new Int32Array(new SharedArrayBuffer(4))
      assert.strictEqual(yield* pool.run({ _tag: "shared", cells }), 1)
      assert.strictEqual(Atomics.load(cells, 0), 1)
    }).pipe(Effect.scoped))

  it.live("a job whose payload was moved to a thread that exited before reading it dies, rather than be sent again for ever", () =>
    Effect.gen(function*() {
      const pool = yield* make({ transfer: (task) => task._tag === "length" ? [task.buffer] : [] })
      const busy = join(mkdtempSync(join(tmpdir(), "threads-exit-")), "busy")
      yield* pool.run({ _tag: "answerThenExit", path: busy })
      // Sent to the idle thread once it is busy for its last second: it exits before it reads it, and the buffer went with it.
      yield* waitUntil("the thread is busy before it exits", Effect.sync(() => existsSync(busy)), 10_000, "5 millis")
      const exit = yield* Effect.exit(pool.run({ _tag: "length", buffer: new ArrayBuffer(8) }))
      assert.match(String(defectOf(exit)), /the job's payload was moved to a thread that exited before reading it/)
      assert.strictEqual(yield* pool.run({ _tag: "length", buffer: new ArrayBuffer(8) }), 8)
    }).pipe(Effect.scoped))

  it.live("a job every thread ends as it is sent (postMessage refuses it) dies after 5 threads, not after thread upon thread", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      // Its thread terminated: the next job waits for the replacement, and goes to it as it starts.
      yield* Effect.exit(pool.run({ _tag: "spin" }, { timeout: "200 millis" }))
      const refused = { a: 1 }
      markAsUncloneable(refused)
      const exit = yield* Effect.exit(pool.run({ _tag: "echo", value: refused }, { timeout: "Infinity" }))
      assert.match(String(defectOf(exit)), /handed back by 5 threads that ended before starting it|cannot be sent to its thread/)
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "after" }, { timeout: "Infinity" }), "after")
    }).pipe(Effect.scoped))

  it.live("an error whose fields cannot be read does not end the thread: Failed without them, or Died if it cannot cross", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const before = yield* threadOf(pool)
      const failed = yield* Effect.flip(pool.run({ _tag: "unreadableError", how: "field" }))
      assert.strictEqual((failed as unknown as Error).message, "unreadable")
      assert.strictEqual(yield* threadOf(pool), before)
      const proxied = yield* Effect.exit(pool.run({ _tag: "unreadableError", how: "proxy" }))
      assert.match(String(defectOf(proxied)), /the job's error cannot be sent back from its thread/)
      assert.strictEqual(yield* threadOf(pool), before)
    }).pipe(Effect.scoped))
})

describe("stopping work that computes", () => {
  it.live("a job over its timeout fails with JobTimeoutError; its thread is replaced for the next job", () =>
    Effect.gen(function*() {
      const pool = yield* make({ jobTimeout: "300 millis" })
      const before = yield* threadOf(pool)
      const error = yield* Effect.flip(pool.run({ _tag: "spin" }, { id: "spin" }))
      assert.strictEqual(error._tag, "JobTimeoutError")
      const after = yield* threadOf(pool)
      assert.notStrictEqual(after, before, "the spinning thread was not replaced")
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "next" }, { timeout: "Infinity" }), "next")
    }).pipe(Effect.scoped))

  it.live("a job over its timeout has its thread replaced even when the job queued behind it was withdrawn", () =>
    Effect.gen(function*() {
      // Long enough that the job behind is withdrawn well before the spin times out, even on a slow machine.
      const pool = yield* make({ jobTimeout: "2 seconds" })
      const before = yield* threadOf(pool)
      const dir = mkdtempSync(join(tmpdir(), "threads-withdrawn-"))
      const started = join(dir, "started")
      const marks = join(dir, "marks")
      const spinning = yield* Effect.forkChild(pool.run({ _tag: "spin", path: started }, { id: "spin" }), {
        startImmediately: true
      })
      yield* waitUntil("the spin has started on its thread", Effect.sync(() => existsSync(started)), 10_000, "5 millis")
      // Queued ahead behind the spin, on its one thread; then withdrawn, its caller interrupted.
      const behind = yield* Effect.forkChild(pool.run({ _tag: "mark", path: marks }, { id: "mark" }), {
        startImmediately: true
      })
      while ((yield* pool.stats).active < 2) yield* Effect.sleep("5 millis")
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(behind)
      assert.strictEqual((yield* Effect.flip(Fiber.join(spinning)))._tag, "JobTimeoutError")
      // The spinning thread was terminated and replaced: the next job runs, on another thread (bounded
      // here: on a thread left spinning, it would wait for ever).
      const after = yield* Effect.timeout(threadOf(pool), "3 seconds")
      assert.notStrictEqual(after, before, "the spinning thread was not replaced")
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "next" }), "next")
      assert.isFalse(existsSync(marks), "the withdrawn job ran")
    }).pipe(Effect.scoped))

  it.live("the time a replacement thread takes to start is not the next job's", () =>
    Effect.gen(function*() {
      // Its threads take a second to start, and its jobs have 300 ms.
      const pool = yield* make({ handler: new URL("./support/slowThreadJobs.ts", import.meta.url), jobTimeout: "300 millis" })
      assert.strictEqual((yield* Effect.flip(pool.run({ _tag: "spin" })))._tag, "JobTimeoutError")
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "in time" }), "in time")
    }).pipe(Effect.scoped))

  it.live("a run caller interrupted mid-job cancels it, and its thread is replaced", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const before = yield* threadOf(pool)
      const spun = Stream.filter(pool.outcomes, (outcome) => outcome.job.id === "spin")
      const outcomes = yield* Effect.forkChild(Stream.runHead(spun), { startImmediately: true })
      const path = join(mkdtempSync(join(tmpdir(), "threads-spin-")), "started")
      const caller = yield* Effect.forkChild(pool.run({ _tag: "spin", path }, { id: "spin" }))
      // Started on the thread, not only sent to it: a job the thread has not taken yet is withdrawn, and its thread kept.
      while (!existsSync(path)) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(caller)
      const outcome = yield* Fiber.join(outcomes)
      assert.isTrue(outcome._tag === "Some" && outcome.value._tag === "Interrupted" && outcome.value.cancelled)
      assert.notStrictEqual(yield* threadOf(pool), before)
    }).pipe(Effect.scoped))

  it.live("a job still running at the drain's deadline is cut off, and the shutdown ends", () =>
    Effect.gen(function*() {
      const pool = yield* make({ threads: 2 })
      yield* pool.submit({ _tag: "spin" }, { id: "spin-1" })
      yield* pool.submit({ _tag: "spin" }, { id: "spin-2" })
      while ((yield* pool.stats).active < 2) yield* Effect.sleep("5 millis")
      const report = yield* pool.shutdown({ timeout: "100 millis" })
      assert.isTrue(report.timedOut)
      assert.deepStrictEqual(report.interrupted.map((job) => job.id).sort(), ["spin-1", "spin-2"])
      assert.strictEqual((yield* pool.stats).workers, 0)
    }).pipe(Effect.scoped))

  it.live("a thread that exits under its job is Died for that job only, and is replaced", () =>
    Effect.gen(function*() {
      const pool = yield* make({ threads: 2 })
      const other = yield* Effect.forkChild(pool.run({ _tag: "compute", ms: 50 }), { startImmediately: true })
      assert.match(String(defectOf(yield* Effect.exit(pool.run({ _tag: "exit" })))), /exited/)
      assert.isNumber(yield* Fiber.join(other))
      // Two jobs at once run on two threads again once the replacement has started (until then, the other
      // thread takes both, one queued ahead of the other, rather than one waiting for the start).
      const compute = pool.run({ _tag: "compute", ms: 100 }, { timeout: "Infinity" })
      let ids: ReadonlyArray<unknown> = []
      for (let round = 0; round < 50 && (ids.length === 0 || ids[0] === ids[1]); round++) {
        ids = yield* Effect.all([compute, compute], { concurrency: 2 })
      }
      assert.notStrictEqual(ids[0], ids[1])
      assert.strictEqual((yield* pool.stats).died, 1)
    }).pipe(Effect.scoped))

  it.live("a thread over its resourceLimits is Died for its job", () =>
    Effect.gen(function*() {
      const pool = yield* make({ resourceLimits: { maxOldGenerationSizeMb: 64 } })
      assert.match(String(defectOf(yield* Effect.exit(pool.run({ _tag: "oom" })))), /memory limit/)
      assert.isNumber(yield* threadOf(pool))
    }).pipe(Effect.scoped))

  it.live("two threads compute two jobs at once", () =>
    Effect.gen(function*() {
      const pool = yield* make({ threads: 2 })
      const ids = yield* Effect.all([pool.run({ _tag: "compute", ms: 200 }), pool.run({ _tag: "compute", ms: 200 })], {
        concurrency: 2
      })
      assert.notStrictEqual(ids[0], ids[1], "both jobs ran on one thread")
    }).pipe(Effect.scoped))
})

describe("payloads", () => {
  it.live("a payload that cannot be cloned is a PoolConfigError at submit, and nothing is accepted", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const bad = { _tag: "echo", value: () => 1 } as const
      const attempts: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string; readonly option?: string }>> = [
        pool.submit(bad),
        pool.trySubmit(bad),
        pool.run(bad)
      ]
      for (const attempt of attempts) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "PoolConfigError")
        assert.isTrue(error._tag === "PoolConfigError" && error.option === "payload")
      }
      const batch = yield* Effect.flip(pool.submitAll([{ _tag: "echo", value: 1 }, bad]))
      assert.isTrue(batch._tag === "PoolConfigError" && batch.option === "payloads" && batch.accepted === 0)
      assert.strictEqual((yield* pool.stats).submitted, 0)
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "fine" }), "fine")
    }).pipe(Effect.scoped))

  it.live("transferables are moved, not copied, both ways", () =>
    Effect.gen(function*() {
      const pool = yield* make({ transfer: (task) => task._tag === "length" ? [task.buffer] : [] })
      const buffer = new ArrayBuffer(1024)
      assert.strictEqual(yield* pool.run({ _tag: "length", buffer }), 1024)
      assert.strictEqual(buffer.byteLength, 0, "the payload's buffer was copied, not moved")
      const back = yield* pool.run({ _tag: "buffer", bytes: 2048 })
      assert.strictEqual((back as ArrayBuffer).byteLength, 2048)
    }).pipe(Effect.scoped))
})

describe("schemas", () => {
  const withSchemas = Threads.make<Square, Area, TooBig>({
    handler: new URL("./support/schemaThreadJobs.ts", import.meta.url),
    threads: 1,
    schema
  })

  it.live("payloads, results and errors cross by their schemas, classes and all; buffers move", () =>
    Effect.gen(function*() {
      const pool = yield* withSchemas
      const bytes = new Uint8Array(64)
      const area = yield* pool.run(new Square({ side: 3, bytes }))
      assert.instanceOf(area, Area)
      assert.deepStrictEqual({ value: area.value, bytes: area.bytes }, { value: 9, bytes: 64 })
      assert.strictEqual(bytes.byteLength, 0, "the payload's bytes were copied, not moved")
      const error = yield* Effect.flip(pool.run(new Square({ side: 11, bytes: new Uint8Array(1) })))
      assert.instanceOf(error, TooBig)
    }).pipe(Effect.scoped))

  it.live("a snooze and a PermanentError cross as themselves, though the module's failure schema does not name them", () =>
    Effect.gen(function*() {
      const pool = yield* withSchemas
      const snoozed: unknown = yield* Effect.flip(pool.run(new Square({ side: -1, bytes: new Uint8Array(1) })))
      assert.instanceOf(snoozed, Durable.Snooze)
      assert.strictEqual((snoozed as Durable.Snooze).millis, 3_600_000)
      const permanent: unknown = yield* Effect.flip(pool.run(new Square({ side: -2, bytes: new Uint8Array(1) })))
      assert.instanceOf(permanent, Durable.PermanentError)
      assert.strictEqual((permanent as Durable.PermanentError).reason, "negative")
    }).pipe(Effect.scoped))

  it.live("a payload that does not encode is a PoolConfigError on payload at submit", () =>
    Effect.gen(function*() {
      const pool = yield* withSchemas
      const error = yield* Effect.flip(pool.submit({ side: "3" } as unknown as Square))
      assert.isTrue(error._tag === "PoolConfigError" && error.option === "payload")
      assert.match(error.message, /does not encode/)
      assert.strictEqual((yield* pool.stats).submitted, 0)
    }).pipe(Effect.scoped))

  it.live("a module whose schema export is not schemas fails make", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(make({ handler: new URL("./support/badSchemaThreadJobs.ts", import.meta.url) }))
      assert.strictEqual(error.option, "handler")
      assert.match(error.reason, /schema export/)
    }).pipe(Effect.scoped))
})

describe("closing", () => {
  const lingering = new URL("./support/lingeringThreadJobs.ts", import.meta.url)

  it.live.skipIf(!canCountOsThreads)(
    "the pool's scope closing while a shutdown caller closes the threads waits until they have exited",
    () =>
      Effect.gen(function*() {
        const before = osThreads()
        const scope = yield* Scope.make()
        const pool = yield* Threads.make({ handler: lingering, threads: 2 }).pipe(Scope.provide(scope))
        assert.isAtLeast(osThreads(), before + 2)
        const caller = yield* Effect.forkChild(pool.shutdown(), { startImmediately: true })
        // Drained: the caller goes on to close the threads (they are terminated at once, not asked to close).
        while ((yield* pool.stats).workers > 0) yield* Effect.yieldNow
        yield* Scope.close(scope, Exit.void)
        assert.isAtMost(osThreads(), before, "the scope closed with threads still running")
        yield* Fiber.join(caller)
      })
  )

  it.live("a shutdown of idle threads whose module left a timer running does not wait for them to exit on their own", () =>
    Effect.gen(function*() {
      // Asked to close, such a thread never exits: Effect's platform terminates it after 5 s, one thread after another.
      const pool = yield* Threads.make({ handler: lingering, threads: 2 })
      assert.strictEqual(yield* pool.run(undefined), "done")
      const start = Date.now()
      const report = yield* pool.shutdown({ timeout: 0 })
      const took = Date.now() - start
      assert.isFalse(report.timedOut)
      assert.isBelow(took, 3_000, `the shutdown took ${took} ms`)
      assert.strictEqual((yield* pool.stats).workers, 0)
    }).pipe(Effect.scoped))
})

describe("pause", () => {
  it.live("a paused threaded pool sends no job to a thread until it is resumed", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      assert.isTrue(yield* pool.pause)
      assert.isTrue(yield* pool.isPaused)
      const waiting = yield* Effect.forkChild(pool.run({ _tag: "echo", value: "held" }))
      yield* Effect.sleep("300 millis")
      assert.isUndefined(waiting.pollUnsafe(), "a job ran while paused")
      assert.strictEqual((yield* pool.stats).queued, 1)
      assert.isTrue(yield* pool.resume)
      assert.strictEqual(yield* Fiber.join(waiting), "held")
    }).pipe(Effect.scoped))
})
