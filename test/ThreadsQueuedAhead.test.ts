/**
 * The job a threaded pool queues ahead in a thread (sent before the job the
 * thread is running has ended): when the job ahead of it is cut off, or its
 * thread exits, it goes to another thread and runs there once; when it is
 * itself cut off before its thread has started it, it is withdrawn, never
 * runs, and the job ahead of it is left alone. Each test has one thread, so
 * the second job is queued behind the first; a `mark` job writes its id to
 * a file when it runs, so the test sees how often it ran. Real threads and
 * real time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Threads } from "../src/index.ts"
import type { ThreadTask } from "./support/threadJobs.ts"

const make = (options: Partial<Threads.Options<ThreadTask, unknown, unknown>> = {}) =>
  Threads.make<ThreadTask, unknown, unknown>({
    handler: new URL("./support/threadJobs.ts", import.meta.url),
    threads: 1,
    ...options
  })

type ThreadPool = Effect.Success<ReturnType<typeof make>>

/** A file of its own for a test's `mark` jobs. */
const markFile = () => join(mkdtempSync(join(tmpdir(), "queued-ahead-")), "marks")

/** The ids the `mark` jobs wrote, in order. */
const marks = (path: string): ReadonlyArray<string> =>
  existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((line) => line !== "") : []

/** The outcome of the job `id`, once it ends (subscribed before the job is submitted). */
const outcomeOf = (pool: ThreadPool, id: string) =>
  Effect.forkChild(
    Stream.runHead(Stream.filter(pool.outcomes, (outcome) => outcome.job.id === id)).pipe(Effect.map(Option.getOrThrow)),
    { startImmediately: true }
  )

/** Waits until both jobs have been taken by the pool's workers, so the second one is queued ahead in the thread. */
const bothTaken = (pool: ThreadPool) =>
  Effect.gen(function*() {
    while ((yield* pool.stats).active < 2) yield* Effect.sleep("5 millis")
    // The second job is sent as its worker takes it; a moment for the message to reach the thread.
    yield* Effect.sleep("50 millis")
  })

const threadOf = (pool: ThreadPool) => pool.run({ _tag: "threadId" }, { timeout: "Infinity" })

describe("a job queued ahead in a thread", () => {
  it.live("behind a job cut off by its timeout: it runs once, on the replacement thread, and succeeds", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const path = markFile()
      const first = yield* threadOf(pool)
      const spun = yield* outcomeOf(pool, "spin")
      const marked = yield* outcomeOf(pool, "mark")
      yield* pool.submit({ _tag: "spin" }, { id: "spin", timeout: "300 millis" })
      yield* pool.submit({ _tag: "mark", path }, { id: "mark", timeout: "Infinity" })
      yield* bothTaken(pool)
      const spin = yield* Fiber.join(spun)
      assert.strictEqual(spin._tag, "Failed")
      assert.isTrue(spin._tag === "Failed" && (spin.error as { _tag: string })._tag === "JobTimeoutError")
      const mark = yield* Fiber.join(marked)
      assert.strictEqual(mark._tag, "Succeeded", `the queued job ended ${mark._tag}`)
      assert.isTrue(mark._tag === "Succeeded" && mark.value !== first, "it ran on the thread that was terminated")
      assert.deepStrictEqual(marks(path), ["mark"])
      const stats = yield* pool.stats
      assert.deepStrictEqual([stats.succeeded, stats.failed, stats.died], [2, 1, 0])
    }).pipe(Effect.scoped))

  it.live("behind a job whose thread exits: it runs once, on the replacement thread, and succeeds", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const path = markFile()
      const exited = yield* outcomeOf(pool, "exit")
      const marked = yield* outcomeOf(pool, "mark")
      // The exit waits until the mark is queued behind it: a compute first, then the exit.
      yield* pool.submit({ _tag: "compute", ms: 200 }, { id: "compute" })
      yield* pool.submit({ _tag: "exit" }, { id: "exit" })
      while ((yield* pool.stats).active < 2) yield* Effect.sleep("5 millis")
      yield* pool.submit({ _tag: "mark", path }, { id: "mark", timeout: "Infinity" })
      assert.strictEqual((yield* Fiber.join(exited))._tag, "Died")
      assert.strictEqual((yield* Fiber.join(marked))._tag, "Succeeded")
      assert.deepStrictEqual(marks(path), ["mark"])
    }).pipe(Effect.scoped))

  it.live("whose run caller gives up before its thread starts it: it never runs, and the job ahead goes on", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const path = markFile()
      const first = yield* threadOf(pool)
      const marked = yield* outcomeOf(pool, "mark")
      const ahead = yield* Effect.forkChild(pool.run({ _tag: "compute", ms: 400 }, { id: "ahead" }), { startImmediately: true })
      const behind = yield* Effect.forkChild(pool.run({ _tag: "mark", path }, { id: "mark" }), { startImmediately: true })
      yield* bothTaken(pool)
      yield* Fiber.interrupt(behind)
      const mark = yield* Fiber.join(marked)
      assert.isTrue(mark._tag === "Interrupted" && mark.cancelled, `the withdrawn job ended ${mark._tag}`)
      // The job ahead was not cut off with it: it ends on the same thread, which goes on.
      assert.strictEqual(yield* Fiber.join(ahead), first)
      assert.strictEqual(yield* threadOf(pool), first)
      assert.deepStrictEqual(marks(path), [], "the withdrawn job ran")
    }).pipe(Effect.scoped))

  it.live("at the drain's deadline, behind a job still running: both are interrupted, and it never runs", () =>
    Effect.gen(function*() {
      const pool = yield* make()
      const path = markFile()
      yield* pool.submit({ _tag: "spin" }, { id: "spin" })
      yield* pool.submit({ _tag: "mark", path }, { id: "mark" })
      yield* bothTaken(pool)
      const report = yield* pool.shutdown({ timeout: "100 millis" })
      assert.isTrue(report.timedOut)
      assert.deepStrictEqual(report.interrupted.map((job) => job.id).sort(), ["mark", "spin"])
      assert.deepStrictEqual(marks(path), [])
      assert.strictEqual((yield* pool.stats).workers, 0)
    }).pipe(Effect.scoped))
})

