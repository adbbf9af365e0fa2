/**
 * The steps between a notification and its claim. The memory store's
 * notifications come a scheduler step after the offer that sent them, as a
 * remote store's would: a caller that offers a job and cancels it at once
 * finds it ready.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Durable } from "../src/index.ts"
import { settle } from "./support/workload.ts"

describe("Wakeup steps", () => {
  it.effect("on the memory store, a job offered to an idle pool and cancelled at once is cancelled while ready", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* Durable.make({
        store,
        queue: "q",
        schema: Schema.String,
        workers: 1,
        pollInterval: "1 hour",
        handler: () => Effect.void
      })
      yield* TestClock.adjust(0)
      yield* settle
      yield* store.offer("q", [{ id: "a", payload: "x" }])
      assert.strictEqual(yield* store.cancel("q", "a"), "ready")
    })))
})
