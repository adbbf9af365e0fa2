/**
 * A store written outside this package (here the memory store with one
 * operation replaced, as a caller's own engine might get one wrong) is held
 * to the engines' rules: an operation that throws, returns something other
 * than an Effect (an `async` function's Promise), or whose effect dies,
 * fails with a `StoreError` naming it. The pool logs it and retries, as
 * through an outage, and nothing is lost once the store answers again; a
 * producer's `submit` and an admin's call fail with that typed error. On the
 * memory store under the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { elapse, oneWorker, oneWorkerOptions } from "./support/durablePool.ts"
import { capture } from "./support/logLines.ts"

/** Ways an operation goes wrong outside its error channel, each with what the error then says. */
const brokenCalls: ReadonlyArray<readonly [string, () => unknown, RegExp]> = [
  ["throws", () => {
    throw new Error("bug in the store")
  }, /unexpected failure: bug in the store/],
  ["returns a rejected Promise (an async function)", () => Promise.reject(new Error("async bug")), /returned a Promise/],
  ["returns undefined", () => undefined, /returned undefined, not an Effect/],
  ["returns an effect that dies", () => Effect.die(new Error("died inside")), /unexpected failure: died inside/]
]

/** `store` with `name` replaced by `broken` while `isBroken()` says so. */
const breaking = (store: Store, name: "claim" | "extend", broken: () => unknown, isBroken: () => boolean): Store => ({
  ...store,
  [name]: (...args: ReadonlyArray<never>) => isBroken() ? broken() : (store[name] as (...args: ReadonlyArray<never>) => unknown)(...args)
})

describe("a store written outside this package", () => {
  for (const [how, broken, says] of brokenCalls) {
    it.effect(`whose claim ${how}: each claim is a logged StoreError, retried, and the job runs once the store is mended`, () => {
      const { layer, lines } = capture()
      return Effect.scoped(Effect.gen(function*() {
        const store = yield* MemoryStore.make
        let mended = false
        const pool = yield* oneWorker(breaking(store, "claim", broken, () => !mended), { handler: () => Effect.void })
        yield* pool.submit("a", { id: "a" })
        yield* elapse(1_000)
        const warnings = lines.filter((line) => line.message.startsWith("claiming jobs failed"))
        assert.isAtLeast(warnings.length, 2)
        assert.match(warnings[0]!.message, says)
        assert.deepStrictEqual(yield* pool.counts, { ready: 1, leased: 0, completed: 0, buried: 0 })
        mended = true
        yield* elapse(10_000)
        assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
      })).pipe(Effect.provide(layer))
    })
  }

  it.effect("whose extend returns a Promise: the renewal is logged as failed, and the job still completes", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* Durable.make({
        ...oneWorkerOptions(breaking(store, "extend", () => Promise.resolve([]), () => true)),
        lease: "3 seconds",
        handler: () => Effect.sleep("2 seconds")
      })
      yield* pool.submit("a", { id: "a" })
      yield* elapse(3_000)
      assert.isTrue(lines.some((line) =>
        line.message.startsWith("renewing leases failed") && /the store's extend returned a Promise/.test(line.message)
      ))
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
    })).pipe(Effect.provide(layer))
  })

  it.effect("a producer's submit and an admin's counts fail with a StoreError naming the operation; nothing is stored", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const broken: Store = { ...store, offer: () => Promise.resolve([]) as never, counts: () => undefined as never }
      const error = yield* Effect.flip(Durable.producer({ ...oneWorkerOptions(broken) }).submit("a"))
      assert.strictEqual(error._tag, "StoreError")
      assert.isTrue(error._tag === "StoreError" && error.operation === "offer")
      assert.match(error.message, /the store's offer returned a Promise/)
      const counting = yield* Effect.flip(Durable.admin({ store: broken, queue: "q" }).counts)
      assert.isTrue(counting._tag === "StoreError" && counting.operation === "counts")
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 0, completed: 0, buried: 0 })
    }))
})
