/**
 * The settler on its own, on the memory store under the TestClock: what it
 * does when settling a batch dies, which nothing it runs is meant to do
 * (here, a metrics counter that throws stands in for such a bug).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Schedule, Scope } from "effect"
import * as Leases from "../src/durable/leases.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { DurableMetrics } from "../src/durable/metrics.ts"
import * as Settler from "../src/durable/settler.ts"
import { capture } from "./support/logLines.ts"
import { settle } from "./support/workload.ts"

const minute = Duration.minutes(1)

describe("the settler", () => {
  it.effect("a batch whose settling dies is left to its leases (no longer renewed, logged as an error); the next batch is settled", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.offer("q", [{ id: "a", payload: 1 }, { id: "b", payload: 2 }])
      const [a, b] = yield* store.claim("q", 2, minute)
      const book = yield* Leases.make({ capacity: 2, maxAttempts: 3, retryable: () => true })
      const bug = () => {
        throw new Error("a bug in counting")
      }
      const metrics = { retried: { updateUnsafe: bug }, deadLettered: { updateUnsafe: bug } } as unknown as DurableMetrics
      const scope = yield* Scope.make()
      yield* Settler.start({ store, queue: "q", retry: Schedule.spaced("1 second"), book, metrics }, scope)
      Leases.endUnheld(book, { id: a!.id, token: a!.token }, Leases.retry(1, "failed"))
      yield* settle
      assert.deepStrictEqual(Leases.toRenew(book), [], "the batch is no longer renewed")
      const errors = lines.filter((line) => line.level === "Error")
      assert.deepStrictEqual(errors.map(({ annotations, message }) => [message, annotations["jobIds"], annotations["queue"]]), [
        ["settling jobs failed; they run again once their leases run out", ["a"], "q"]
      ])
      assert.include(String(errors[0]!.annotations["error"]), "a bug in counting")
      Leases.endUnheld(book, { id: b!.id, token: b!.token }, Leases.complete)
      yield* settle
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 1, completed: 1, buried: 0 })
      assert.deepStrictEqual(Leases.toRenew(book), [])
    })).pipe(Effect.provide(layer))
  })
})
