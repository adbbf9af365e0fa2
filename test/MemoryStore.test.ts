/**
 * The in-memory store keeps the store contract, under the TestClock; and its
 * listeners hear what stores a job or makes one ready (an offer, a release,
 * a retry, delayed or not), and nothing else.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { StoreError } from "../src/durable/Store.ts"
import { storeContract } from "./support/storeContract.ts"

storeContract("memory", { make: MemoryStore.make, elapse: (ms) => TestClock.adjust(ms), test: it.effect })

/** Whether `next` has a notification for its listener now (waiting at most 1 ms of the TestClock). */
const heard = (next: Effect.Effect<void, StoreError>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.timeoutOption(next, "1 millis"))
    yield* TestClock.adjust(1)
    return Option.isSome(yield* Fiber.join(fiber))
  })

describe("memory store listeners", () => {
  it.effect("hear an offer (a delayed one too), a release and a retry (a delayed one too); not a claim, a completion", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const next = yield* store.listen!("q")
      const elsewhere = yield* store.listen!("other")
      const minute = Duration.minutes(1)
      yield* store.offer("q", [{ id: "a", payload: 1 }, { id: "b", payload: 2 }])
      assert.isTrue(yield* heard(next))
      // One notification per offer, however many jobs; none for another queue's listener.
      assert.isFalse(yield* heard(next))
      assert.isFalse(yield* heard(elsewhere))
      const [a, b] = yield* store.claim("q", 2, minute)
      assert.isFalse(yield* heard(next))
      yield* store.release("q", [a!])
      assert.isTrue(yield* heard(next))
      // A delayed retry wakes a worker asleep until a later time, so it sleeps until this one's.
      yield* store.retry("q", b!, Duration.seconds(1))
      assert.isTrue(yield* heard(next))
      yield* TestClock.adjust(1_000)
      const [c, d] = yield* store.claim("q", 2, minute)
      yield* store.retry("q", c!, Duration.zero)
      assert.isTrue(yield* heard(next))
      yield* store.complete("q", [d!])
      assert.isFalse(yield* heard(next))
      yield* store.offer("q", [{ id: "e", payload: 3, delay: 60_000 }])
      assert.isTrue(yield* heard(next))
    })))
})
