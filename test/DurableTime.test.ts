/**
 * A durable job's own options, on the memory store under the TestClock:
 * when it runs (`delay`, `runAt`), in what order (`priority`), how its
 * failures are retried (`maxAttempts`, `retry`, `PermanentError`, the
 * pool's `retryable`), and the refusal of wrong ones. An idle pool sleeps
 * until the earliest job waiting for its time, not a poll longer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, DateTime, Effect, Exit, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { settle } from "./support/workload.ts"

/** A one-worker pool that records what it ran, with the TestClock's time. */
const recording = (store: Store, options: Partial<Durable.Options<string, string, void, never, never>> = {}) =>
  Effect.gen(function*() {
    const ran = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
    const pool = yield* oneWorker(store, {
      ...options,
      handler: (job) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(ran, (all) => [...all, [job.payload, now] as const]))
    })
    return { pool, ran: Ref.get(ran) }
  })

describe("Durable: time in the queue", () => {
  it.effect("a delayed job runs at its time on the store's clock, not before, even with a poll an hour long", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { pool, ran } = yield* recording(store, { pollInterval: "1 hour" })
      yield* settle
      const id = yield* pool.submit("later", { delay: "5 seconds" })
      yield* pool.submit("now")
      yield* settle
      assert.deepStrictEqual(yield* ran, [["now", 0]])
      assert.strictEqual((yield* pool.lookup(id))?.runAt?.getTime(), 5_000, "lookup shows when it runs")
      yield* TestClock.adjust(4_999)
      yield* settle
      assert.strictEqual((yield* ran).length, 1, "not before its time")
      yield* TestClock.adjust(1)
      yield* settle
      assert.deepStrictEqual(yield* ran, [["now", 0], ["later", 5_000]], "at its time, without waiting for a poll")
    })))

  it.effect("a notification ends an idle wait while the store's due is still unanswered", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      // A store slow to say when its next job is due: it never does.
      const store: Store = { ...memory, due: () => Effect.never }
      const { pool, ran } = yield* recording(store, { pollInterval: "1 hour" })
      yield* settle
      yield* pool.submit("now")
      yield* settle
      assert.deepStrictEqual(yield* ran, [["now", 0]], "picked up at once, not after the poll")
    })))

  it.effect("runAt takes a DateTime, a Date or epoch milliseconds; an instant past runs now", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { pool, ran } = yield* recording(store, { pollInterval: "1 hour" })
      yield* pool.submit("datetime", { runAt: DateTime.makeUnsafe(3_000) })
      yield* pool.submit("date", { runAt: new Date(2_000) })
      yield* pool.submit("millis", { runAt: 1_000 })
      yield* pool.submit("past", { runAt: -5_000 })
      yield* elapse(3_000, 500)
      assert.deepStrictEqual(yield* ran, [["past", 0], ["millis", 1_000], ["date", 2_000], ["datetime", 3_000]])
    })))

  it.effect("submitAll gives every job the same time and priority", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { pool, ran } = yield* recording(store, { pollInterval: "1 hour" })
      const ids = yield* pool.submitAll(["a", "b"], { delay: "2 seconds", priority: 3 })
      const infos = yield* Effect.forEach(ids, pool.lookup)
      assert.deepStrictEqual(infos.map((info) => [info?.runAt?.getTime(), info?.priority]), [[2_000, 3], [2_000, 3]])
      yield* elapse(2_000, 1_000)
      assert.deepStrictEqual(yield* ran, [["a", 2_000], ["b", 2_000]])
    })))

  it.effect("lower priorities run first; equal ones in the order submitted", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      yield* producer.submit("newsletter", { priority: 10 })
      yield* producer.submit("report")
      yield* producer.submit("password reset", { priority: -10 })
      yield* producer.submit("invoice")
      const { ran } = yield* recording(store, { prefetch: 1 })
      yield* elapse(200)
      assert.deepStrictEqual((yield* ran).map(([payload]) => payload), ["password reset", "report", "invoice", "newsletter"])
    })))

  it.effect("a job's own maxAttempts and retry delays override the pool's", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const tried = yield* Ref.make<ReadonlyArray<readonly [string, number, number]>>([])
      const pool = yield* oneWorker(store, {
        maxAttempts: 5,
        pollInterval: "1 hour",
        handler: (job) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.andThen(Ref.update(tried, (all) => [...all, [job.payload, job.attempt, now] as const]), Effect.fail("no")))
      })
      const once = yield* pool.submit("once", { maxAttempts: 1 })
      const own = yield* pool.submit("own", { maxAttempts: 3, retry: { base: "10 seconds", factor: 3, max: "20 seconds" } })
      yield* settle
      yield* elapse(60_000, 1_000)
      assert.deepStrictEqual((yield* Ref.get(tried)).filter(([payload]) => payload === "own").map(([, attempt, at]) => [attempt, at]), [
        [1, 0],
        [2, 10_000],
        [3, 30_000]
      ], "10 s, then 10 s x 3 held to 20 s")
      assert.deepStrictEqual((yield* pool.lookup(once))?.state, "buried", "dead-lettered after its one attempt")
      assert.deepStrictEqual((yield* pool.lookup(own))?.state, "buried")
      assert.strictEqual((yield* Ref.get(tried)).filter(([payload]) => payload === "once").length, 1)
    })))

  it.effect("a handler's PermanentError dead-letters its job at once, with its reason; so does the pool's retryable", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const attempts = yield* Ref.make(0)
      const pool = yield* oneWorker(store, {
        maxAttempts: 5,
        retryable: (error) => error !== "not worth it",
        handler: (job) =>
          Effect.andThen(
            Ref.update(attempts, (n) => n + 1),
            Effect.fail<string | Durable.PermanentError>(
              job.payload === "permanent"
                ? new Durable.PermanentError({ reason: "no such address" })
                : job.payload === "refused"
                ? "not worth it"
                : "transient"
            )
          )
      })
      const permanent = yield* pool.submit("permanent")
      const refused = yield* pool.submit("refused")
      yield* elapse(500)
      assert.strictEqual(yield* Ref.get(attempts), 2, "each ran once")
      const dead = yield* pool.deadLetters()
      assert.deepStrictEqual(dead.map((job) => [job.id, job.attempts]), [[permanent, 1], [refused, 1]])
      assert.include(dead[0]!.error, "no such address")
      const transient = yield* pool.submit("transient")
      yield* elapse(500)
      assert.strictEqual((yield* pool.lookup(transient))?.state, "ready", "any other failure is retried")
    })))

  it.effect("wrong options are a PoolConfigError naming them, and nothing is stored", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      const wrong: ReadonlyArray<readonly [unknown, string]> = [
        [{ delay: -1 }, "delay"],
        [{ delay: "soon" }, "delay"],
        [{ delay: "Infinity" }, "delay"],
        [{ delay: null }, "delay"],
        [{ runAt: "tomorrow" }, "runAt"],
        [{ runAt: new Date(Number.NaN) }, "runAt"],
        [{ runAt: Number.POSITIVE_INFINITY }, "runAt"],
        [{ delay: 10, runAt: 0 }, "runAt"],
        [{ priority: 1.5 }, "priority"],
        [{ priority: 1001 }, "priority"],
        [{ priority: "high" }, "priority"],
        [{ maxAttempts: 0 }, "maxAttempts"],
        [{ retry: { base: 0 } }, "retry.base"],
        [{ retry: { base: "1 second", factor: 0.5 } }, "retry.factor"],
        [{ retry: { base: "1 minute", max: "1 second" } }, "retry.max"],
        [{ retry: { base: "1 second", jitter: true } }, "retry.jitter"],
        [{ retry: { base: "1 second", factor: null } }, "retry.factor"],
        [{ retry: { base: "1 second", max: null } }, "retry.max"],
        [{ retry: { base: "1 second", get bogus() { throw new Error("hostile") } } }, "retry.bogus"],
        [{ retry: new Proxy({}, { ownKeys: () => { throw new Error("hostile") } }) }, "retry"],
        [new Proxy({}, { ownKeys: () => { throw new Error("hostile") } }), "options"],
        [{ retry: null }, "retry"],
        [{ delayMs: 10 }, "delayMs"],
        [{ startAfter: 10 }, "startAfter"]
      ]
      for (const [options, option] of wrong) {
        const exit = yield* Effect.exit(producer.submit("x", options as Durable.JobOptions))
        // Labelled by the option: some of these options throw when read, JSON.stringify too.
        assert.isTrue(Exit.isFailure(exit), option)
        const error = (exit as Exit.Failure<string, { _tag: string; option: string }>).cause
        const squashed = (error.reasons[0] as { error: { _tag: string; option: string } }).error
        assert.deepStrictEqual([squashed._tag, squashed.option], ["PoolConfigError", option], option)
      }
      const allExit = yield* Effect.exit(producer.submitAll(["a"], { id: "mine" } as never))
      assert.isTrue(Exit.isFailure(allExit), "submitAll takes no id")
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 0, completed: 0, buried: 0 })
    })))
})
