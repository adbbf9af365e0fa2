/**
 * A handler's snooze (`Durable.snooze`), on the memory store under the
 * TestClock: the job runs again after the snooze's delay, as the same
 * attempt, however often it snoozes, and no attempt of its `maxAttempts` is
 * spent; a failure after it still counts; a snooze copied from a thread (its
 * tag and fields only) is one too; a bad delay is a defect naming it. The
 * store's side (the attempt given back) is in the store contract.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Metric, Ref } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { snoozedFor } from "../src/durable/snooze.ts"
import { Durable, Metrics } from "../src/index.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { settle } from "./support/workload.ts"

/** A pool whose handler snoozes `times` times for `delay`, then fails or succeeds as `then` says; what it saw, by delivery. */
const snoozing = (times: number, delay: Duration.Input, then: "succeed" | "fail", maxAttempts = 2, name = "default") =>
  Effect.gen(function*() {
    const store = yield* MemoryStore.make
    const seen = yield* Ref.make<ReadonlyArray<readonly [attempt: number, at: number]>>([])
    const pool = yield* oneWorker(store, {
      maxAttempts,
      name,
      pollInterval: "1 hour",
      handler: (job) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const before = yield* Ref.getAndUpdate(seen, (all) => [...all, [job.attempt, now] as const])
          if (before.length < times) return yield* Durable.snooze(delay)
          if (then === "fail") return yield* Effect.fail("boom")
        })
    })
    yield* settle
    return { pool, seen: Ref.get(seen) }
  })

describe("Durable: snooze", () => {
  it.effect("a snoozed job runs again after its delay, as the same attempt, however often it snoozes", () =>
    Effect.scoped(Effect.gen(function*() {
      const { pool, seen } = yield* snoozing(5, "10 seconds", "succeed", 1)
      const id = yield* pool.submit("x")
      yield* settle
      assert.deepStrictEqual(yield* seen, [[1, 0]])
      const waiting = yield* pool.lookup(id)
      assert.deepStrictEqual([waiting?.state, waiting?.attempts, waiting?.runAt?.getTime()], ["ready", 0, 10_000])
      yield* elapse(9_900, 100)
      assert.strictEqual((yield* seen).length, 1, "not before its delay")
      yield* elapse(50_000, 1_000)
      // Five snoozes with one attempt allowed, then the sixth delivery succeeds: none was counted.
      assert.deepStrictEqual(yield* seen, [[1, 0], [1, 10_000], [1, 20_000], [1, 30_000], [1, 40_000], [1, 50_000]])
      const done = yield* pool.lookup(id)
      assert.deepStrictEqual([done?.state, done?.attempts], ["completed", 1])
    })))

  it.effect("a failure after a snooze is counted: the next delivery is the next attempt", () =>
    Effect.scoped(Effect.gen(function*() {
      const { pool, seen } = yield* snoozing(1, 0, "fail", 2)
      const id = yield* pool.submit("x")
      yield* elapse(5_000, 100)
      // Snoozed at once (a delay of zero), then two failures: the second was the last attempt.
      assert.deepStrictEqual((yield* seen).map(([attempt]) => attempt), [1, 1, 2])
      const dead = yield* pool.lookup(id)
      assert.deepStrictEqual([dead?.state, dead?.attempts], ["buried", 2])
    })))

  it.effect("a snooze takes precedence over the pool's retryable: a failure not worth retrying is still one", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const pool = yield* oneWorker(store, {
        maxAttempts: 3,
        pollInterval: "1 hour",
        retryable: () => false,
        handler: (job) =>
          Effect.gen(function*() {
            const before = yield* Ref.getAndUpdate(seen, (all) => [...all, job.attempt])
            if (before.length === 0) return yield* Durable.snooze("1 second")
            return yield* Effect.fail("boom")
          })
      })
      const id = yield* pool.submit("x")
      yield* elapse(3_000, 100)
      // Snoozed, not dead-lettered; then the failure, not retryable, is dead-lettered at once.
      assert.deepStrictEqual(yield* Ref.get(seen), [1, 1])
      const dead = yield* pool.lookup(id)
      assert.deepStrictEqual([dead?.state, dead?.attempts], ["buried", 1])
    })))

  it.effect("snoozes are counted in their own metric, not as retries", () =>
    Effect.scoped(Effect.gen(function*() {
      // A name of its own: the metrics' registry is the process's, shared with this file's other pools.
      const { pool } = yield* snoozing(3, "1 second", "succeed", 1, "snooze-metrics")
      yield* pool.submit("x")
      yield* elapse(4_000, 100)
      const value = (counter: Metric.Counter<number>) =>
        Effect.map(Metric.value(Metric.withAttributes(counter, { pool: "snooze-metrics", queue: "q" })), (state) => state.count)
      assert.strictEqual(yield* value(Metrics.jobsSnoozed), 3)
      assert.strictEqual(yield* value(Metrics.jobsRetried), 0)
    })))

  it.effect("a delay that is no finite duration of zero or more is a defect naming it; the delivery ends as a defect does", () =>
    Effect.gen(function*() {
      for (const [delay, reason] of [[-1, /must not be negative/], ["Infinity", /must be finite/], [Number.NaN, /is not a duration/]] as const) {
        const exit = yield* Effect.exit(Durable.snooze(delay as Duration.Input))
        assert.isTrue(Exit.hasDies(exit), String(delay))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.strictEqual((defect as { _tag?: string })._tag, "PoolConfigError")
        assert.match(String((defect as Error).message), reason)
        assert.strictEqual((defect as { option?: string }).option, "delay")
      }
    }))

  it("a snooze copied from a thread (its tag and fields) is one; a hand-made one of no finite delay, or another error, is not", () => {
    assert.deepStrictEqual(snoozedFor(Cause.fail({ _tag: "Snooze", millis: 250 })), Duration.millis(250))
    assert.deepStrictEqual(snoozedFor(Cause.fail(new Durable.Snooze({ millis: 0 }))), Duration.zero)
    for (const error of [{ _tag: "Snooze", millis: -1 }, { _tag: "Snooze", millis: Infinity }, { _tag: "Snooze" }, "Snooze", null]) {
      assert.isUndefined(snoozedFor(Cause.fail(error)), JSON.stringify(error))
    }
    assert.isUndefined(snoozedFor(Cause.die(new Durable.Snooze({ millis: 5 }))), "a defect is not a snooze")
    const hostile = new Proxy({}, {
      get: () => {
        throw new Error("trap")
      }
    })
    assert.isUndefined(snoozedFor(Cause.fail(hostile)))
  })
})
