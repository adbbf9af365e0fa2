/**
 * One thread of a threaded pool (`src/internal/threads/thread.ts`), below
 * the pool: what it leaves behind when it is gone. A pool runs for months,
 * and its threads may exit on their own over that time (a crash, their
 * `resourceLimits` exceeded); the pool must not keep any of them. Real
 * threads, so an integration test.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Scope } from "effect"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Threads } from "../src/index.ts"
import * as Thread from "../src/internal/threads/thread.ts"
import { DIED, SUCCEEDED } from "../src/internal/threads/protocol.ts"
import { canCountOsThreads, osThreads } from "./support/osThreads.ts"
import { waitUntil } from "./support/waitUntil.ts"

const jobs = new URL("./support/threadJobs.ts", import.meta.url)

/** The two cells a `hold` job shares with the test: it sets the first as it holds its thread, and holds it until the second is set. */
const holdCells = (): Int32Array => new Int32Array(new SharedArrayBuffer(8))
const holding = (cells: Int32Array): boolean => Atomics.load(cells, 0) === 1
const release = (cells: Int32Array): void => {
  Atomics.store(cells, 1, 1)
  Atomics.notify(cells, 1)
}

/** How many finalizers `scope` holds: one per thread started in it and not yet closed. */
const finalizersOf = (scope: Scope.Scope): number =>
  scope.state._tag === "Open"
    ? (scope.state.finalizer === undefined ? 0 : 1) + (scope.state.finalizers?.size ?? 0)
    : 0

/** A thread of the test module in a scope of its own (the pool's), and how many times it has gone. */
const spawned = Effect.gen(function*() {
  const platform = yield* Effect.orDie(Thread.loadPlatform)
  const pool = yield* Scope.make()
  const counts = { gone: 0 }
  const settings = { module: jobs, resourceLimits: undefined, platform, startTimeout: Thread.defaultStartTimeout }
  const thread = yield* Effect.orDie(Thread.spawn(settings, pool, () => counts.gone++))
  return { pool, thread, counts }
})

describe("Thread", () => {
  it.live("a thread that exits on its own closes its scope: the pool's scope keeps nothing of it", () =>
    Effect.gen(function*() {
      const { counts, pool, thread } = yield* spawned
      assert.strictEqual(finalizersOf(pool), 1)

      const pending = yield* Thread.send(thread, "x", { _tag: "exit" }, 1, undefined, [])
      const reply = yield* Deferred.await(pending.reply)
      assert.strictEqual(reply?.[0], DIED)
      assert.match(String(reply?.[1]), /the thread running the job exited/)
      assert.strictEqual(counts.gone, 1)

      yield* waitUntil("the thread's scope is closed", Effect.sync(() => thread.scope.state._tag === "Closed"), 10_000)
      assert.strictEqual(finalizersOf(pool), 0)
      yield* Scope.close(pool, Exit.void)
    }))

  it.live("a job stopped while running is terminated with its thread, even after the job queued behind it was withdrawn", () =>
    Effect.gen(function*() {
      const { counts, pool, thread } = yield* spawned
      const dir = mkdtempSync(join(tmpdir(), "thread-withdrawn-"))
      const started = join(dir, "started")
      const marks = join(dir, "marks")
      const running = yield* Thread.send(thread, "spin", { _tag: "spin", path: started }, 1, undefined, [])
      yield* waitUntil("the spin has started", Effect.sync(() => existsSync(started)), 10_000, "5 millis")
      const behind = yield* Thread.send(thread, "mark", { _tag: "mark", path: marks }, 1, undefined, [])
      // Withdrawn: the thread has not started it.
      yield* Thread.stop(behind)
      assert.isUndefined(yield* Deferred.await(behind.reply))
      assert.isFalse(thread.gone, "withdrawing the job queued behind ended the thread")
      // The spin is still running: stopping it terminates its thread.
      yield* Thread.stop(running)
      assert.isTrue(thread.gone, "the spinning thread was left running")
      assert.strictEqual(counts.gone, 1)
      assert.strictEqual(thread.scope.state._tag, "Closed")
      assert.isFalse(existsSync(marks), "the withdrawn job ran")
      yield* Scope.close(pool, Exit.void)
    }))

  it.live("a job queued behind a gap (a job that could not be sent) is withdrawn when stopped: it never runs", () =>
    Effect.gen(function*() {
      const { pool, thread } = yield* spawned
      const dir = mkdtempSync(join(tmpdir(), "thread-gap-"))
      const marks = join(dir, "marks")
      // Once a job has come back the thread is listening: a message is sent at once, not held for its start.
      const first = yield* Thread.send(thread, "first", { _tag: "echo", value: "first" }, 1, undefined, [])
      assert.deepStrictEqual(yield* Deferred.await(first.reply), [SUCCEEDED, "first"])
      // Running until the test lets it go: the job behind is stopped before the thread could reach it, however loaded the machine.
      const cells = holdCells()
      const running = yield* Thread.send(thread, "hold", { _tag: "hold", cells }, 1, undefined, [])
      yield* waitUntil("the thread holds", Effect.sync(() => holding(cells)), 10_000, "5 millis")
      // Cannot be cloned: it dies at once, and its number goes to the thread as a gap.
      const unsent = yield* Thread.send(thread, "unsent", { _tag: "echo", value: () => {} }, 1, undefined, [])
      assert.strictEqual((yield* Deferred.await(unsent.reply))?.[0], DIED)
      const behind = yield* Thread.send(thread, "mark", { _tag: "mark", path: marks }, 1, undefined, [])
      yield* Thread.stop(behind)
      assert.isUndefined(yield* Deferred.await(behind.reply))
      release(cells)
      assert.strictEqual((yield* Deferred.await(running.reply))?.[0], SUCCEEDED, "the job running did not end as it would")
      // The thread goes on past the gap and the withdrawn job, to the next one.
      const next = yield* Thread.send(thread, "echo", { _tag: "echo", value: "next" }, 1, undefined, [])
      assert.deepStrictEqual(yield* Deferred.await(next.reply), [SUCCEEDED, "next"])
      assert.isFalse(existsSync(marks), "the withdrawn job ran")
      yield* Scope.close(pool, Exit.void)
    }))

  it.live("a job queued behind one the thread has not read yet is withdrawn when stopped: it never runs", () =>
    Effect.gen(function*() {
      const { pool, thread } = yield* spawned
      const dir = mkdtempSync(join(tmpdir(), "thread-unread-"))
      const marks = join(dir, "marks")
      // Answered, then the thread is held: it reads no message until let go.
      const cells = holdCells()
      const first = yield* Thread.send(thread, "first", { _tag: "hold", cells, answerFirst: true }, 1, undefined, [])
      assert.strictEqual((yield* Deferred.await(first.reply))?.[0], SUCCEEDED)
      yield* waitUntil("the thread holds", Effect.sync(() => holding(cells)), 10_000, "5 millis")
      // Started as far as the pool can tell (the job before it has ended), but not read by the thread yet.
      const ahead = yield* Thread.send(thread, "ahead", { _tag: "echo", value: "ahead" }, 1, undefined, [])
      assert.isTrue(yield* Deferred.await(ahead.started))
      const behind = yield* Thread.send(thread, "mark", { _tag: "mark", path: marks }, 1, undefined, [])
      // The thread is let go as the job behind is being stopped: it must not start that job once it has read it.
      const stopping = yield* Effect.forkChild(Thread.stop(behind), { startImmediately: true })
      release(cells)
      yield* Fiber.join(stopping)
      assert.isUndefined(yield* Deferred.await(behind.reply))
      assert.deepStrictEqual(yield* Deferred.await(ahead.reply), [SUCCEEDED, "ahead"])
      const next = yield* Thread.send(thread, "echo", { _tag: "echo", value: "next" }, 1, undefined, [])
      assert.deepStrictEqual(yield* Deferred.await(next.reply), [SUCCEEDED, "next"])
      assert.isFalse(existsSync(marks), "the withdrawn job ran")
      assert.isFalse(thread.gone)
      yield* Scope.close(pool, Exit.void)
    }))

  it.live.skipIf(!canCountOsThreads)("a pool's start interrupted while its threads load leaves none running", () =>
    Effect.gen(function*() {
      const before = osThreads()
      const slow = new URL("./support/slowThreadJobs.ts", import.meta.url)
      const starting = yield* Effect.forkChild(Effect.scoped(Threads.make({ handler: slow, threads: 2 })), {
        startImmediately: true
      })
      yield* waitUntil("the threads are starting", Effect.sync(() => osThreads() >= before + 2), 10_000, "5 millis")
      yield* Fiber.interrupt(starting)
      yield* waitUntil("the threads have exited", Effect.sync(() => osThreads() <= before), 10_000)
    }))

  it.live("a thread whose module never finishes loading fails its start at the deadline, and is stopped", () =>
    Effect.gen(function*() {
      const platform = yield* Effect.orDie(Thread.loadPlatform)
      const pool = yield* Scope.make()
      const module = new URL("./support/neverLoadingThreadJobs.ts", import.meta.url)
      const settings = { module, resourceLimits: undefined, platform, startTimeout: Duration.millis(300) }
      const error = yield* Effect.flip(Thread.spawn(settings, pool, () => {}))
      assert.strictEqual(error, "its module did not load within 300ms")
      assert.strictEqual(finalizersOf(pool), 0)
      yield* Scope.close(pool, Exit.void)
    }))
})
