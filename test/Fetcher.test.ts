/**
 * The durable pool's fetcher (`src/durable/fetcher.ts`) under the TestClock:
 * through a store outage it waits 100 ms, doubling, at most 5 s, between
 * claims, with a warning for each failed one; a claim that succeeds starts
 * the backoff again from 100 ms; an empty queue is polled at `pollInterval`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Fetcher from "../src/durable/fetcher.ts"
import * as Leases from "../src/durable/leases.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"

/** `healthy`, except that claim number n (from 1) fails when `fails(n)`; `at` records when each claim came. */
const flaky = (healthy: Store, fails: (n: number) => boolean) => {
  const at: Array<number> = []
  const store: Store = {
    ...healthy,
    claim: (queue, max, lease) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        at.push(now)
        return fails(at.length)
          ? Effect.fail(new StoreError({ operation: "claim", reason: "connection refused" }))
          : healthy.claim(queue, max, lease)
      })
  }
  return { store, at }
}

/** The time between one claim and the next. */
const gaps = (at: ReadonlyArray<number>) => at.slice(1).map((t, i) => t - at[i]!)

const start = (store: Store, scope: Scope.Scope) =>
  Effect.flatMap(Leases.make({ capacity: 2, maxAttempts: 3 }), (book) =>
    Fetcher.start({
      store,
      queue: "q",
      lease: Duration.seconds(30),
      pollInterval: Duration.seconds(1),
      book,
      decode: Exit.succeed,
      submit: () => Effect.void
    }, scope))

describe("Fetcher", () => {
  it.effect("waits out an outage 100 ms, doubling, at most 5 s; starts again from 100 ms after a claim that succeeds", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const logger = Logger.layer([Logger.make((options) => {
        if (options.logLevel === "Warn") warnings.push(String(options.message))
      })])
      // Claims 1 to 9 fail; 10 succeeds (the queue is empty); 11 and 12 fail; then all succeed.
      const { at, store } = flaky(yield* MemoryStore.make, (n) => n <= 9 || n === 11 || n === 12)
      const scope = yield* Scope.make()
      yield* start(store, scope).pipe(Effect.provide(logger))
      for (let t = 0; t < 30_000; t += 50) yield* TestClock.adjust(50)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(
        gaps(at).slice(0, 13),
        [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 1_000, 100, 200, 1_000]
      )
      assert.strictEqual(warnings.filter((message) => message.includes("claiming jobs failed; retrying")).length, 11)
    }))

  it.effect("polls an empty queue at pollInterval, and claims no more once stopped", () =>
    Effect.gen(function*() {
      const { at, store } = flaky(yield* MemoryStore.make, () => false)
      const scope = yield* Scope.make()
      const fetcher = yield* start(store, scope)
      yield* TestClock.adjust(3_500)
      assert.deepStrictEqual(gaps(at), [1_000, 1_000, 1_000])
      fetcher.stop()
      yield* fetcher.stopped
      yield* TestClock.adjust(3_000)
      assert.strictEqual(at.length, 4)
      yield* Scope.close(scope, Exit.void)
    }))
})
