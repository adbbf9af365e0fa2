/**
 * Pausing an in-memory pool: no worker starts a job until it is resumed;
 * the running jobs finish, submits are accepted while there is room, and a
 * shutdown lifts the pause, its policy deciding the queued jobs. Time is the
 * TestClock's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Pool } from "../src/index.ts"
import { busyPool, handler, makeTrace, ok, settle } from "./support/workload.ts"

describe("pause", () => {
  it.effect("a paused pool starts no job until it is resumed; each says whether the state changed", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 2, handler: handler(trace) })
      assert.isFalse(yield* pool.isPaused)
      assert.isTrue(yield* pool.pause)
      assert.isFalse(yield* pool.pause, "paused twice")
      assert.isTrue(yield* pool.isPaused)
      yield* pool.submitAll([ok(10), ok(10), ok(10)])
      yield* settle
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(trace.started, [])
      assert.strictEqual((yield* pool.stats).queued, 3)

      assert.isTrue(yield* pool.resume)
      assert.isFalse(yield* pool.resume, "resumed twice")
      assert.isFalse(yield* pool.isPaused)
      yield* settle
      assert.strictEqual(trace.started.length, 2, "both workers took a job at once")
      yield* TestClock.adjust("10 millis")
      yield* settle
      yield* TestClock.adjust("10 millis")
      assert.strictEqual(trace.finished.length, 3)
    }))

  it.effect("the jobs running when it pauses finish; their workers then take no other", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(4, ["a", "b"])
      yield* pool.pause
      yield* release
      yield* settle
      assert.deepStrictEqual(trace.finished, ["busy"])
      assert.deepStrictEqual(trace.started, ["busy"])
      const stats = yield* pool.stats
      assert.strictEqual(stats.active, 0)
      assert.strictEqual(stats.queued, 2)

      yield* pool.resume
      yield* settle
      assert.deepStrictEqual(trace.finished, ["busy", "a", "b"])
    }))

  it.effect("while paused, submits are accepted while there is room, then wait; trySubmit finds it full", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, capacity: 2, handler: handler(trace) })
      yield* pool.pause
      yield* pool.submit(ok(), { id: "a" })
      yield* pool.submit(ok(), { id: "b" })
      const full = yield* Effect.flip(pool.trySubmit(ok(), { id: "c" }))
      assert.strictEqual(full._tag, "PoolFullError")
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "d" }))
      yield* settle
      assert.isUndefined(waiting.pollUnsafe(), "a submit into a full paused pool returned")

      yield* pool.resume
      yield* Fiber.join(waiting)
      yield* settle
      assert.deepStrictEqual(trace.finished, ["a", "b", "d"])
    }))

  it.effect("a delayed job that comes due while paused waits for the resume", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.pause
      yield* pool.submit(ok(), { id: "later", delay: "100 millis" })
      yield* TestClock.adjust("1 second")
      yield* settle
      const stats = yield* pool.stats
      assert.strictEqual(stats.delayed, 0, "it came due")
      assert.strictEqual(stats.queued, 1)
      assert.deepStrictEqual(trace.started, [])

      yield* pool.resume
      yield* settle
      assert.deepStrictEqual(trace.finished, ["later"])
    }))

  it.effect("run waits while paused; its caller giving up skips the job", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.pause
      const waiting = yield* Effect.forkChild(pool.run(ok(), { id: "r" }))
      yield* settle
      yield* TestClock.adjust("1 minute")
      assert.isUndefined(waiting.pollUnsafe(), "run answered while paused")
      yield* Fiber.interrupt(waiting)

      yield* pool.resume
      yield* settle
      assert.deepStrictEqual(trace.started, [])
      assert.strictEqual((yield* pool.stats).cancelled, 1)
    }))

  it.effect("a shutdown lifts the pause: with `return` the queued jobs are handed back", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.pause
      yield* pool.submit(ok(), { id: "a" })
      yield* pool.submit(ok(), { id: "b" })
      const report = yield* pool.shutdown({ backlog: "return" })
      assert.deepStrictEqual(report.abandoned.map((job) => job.id), ["a", "b"])
      assert.deepStrictEqual(trace.started, [])
    }))

  it.effect("a shutdown lifts the pause for good: with `drain` the queued jobs run, and the pool can be paused no more", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.pause
      yield* pool.submitAll([ok(5), ok(5)])
      const report = yield* Effect.forkChild(pool.shutdown({ backlog: "drain" }))
      yield* settle
      // Read during the drain, asserted once it is over (a failed assertion would leave it waiting for the clock).
      const draining = { started: trace.started.length, isPaused: yield* pool.isPaused, pause: yield* pool.pause }
      yield* TestClock.adjust("5 millis")
      yield* settle
      yield* TestClock.adjust("5 millis")
      const ended = yield* Fiber.join(report)
      assert.deepStrictEqual([ended.succeeded, ended.abandoned, trace.finished.length], [2, [], 2])
      assert.deepStrictEqual(draining, { started: 1, isPaused: false, pause: false }, "draining, not paused, and no pause changes that")
      assert.isFalse(yield* pool.isPaused)
      assert.isFalse(yield* pool.pause, "a pause after the shutdown changes nothing")
      assert.isFalse(yield* pool.resume)
      assert.isFalse(yield* pool.isPaused)
    }))
})
