/**
 * The pool's backlog (`src/internal/backlog.ts`): a bounded first-in,
 * first-out ring that grows up to its capacity, and the idle workers waiting
 * on it. The pool's own tests cover it through the pool; these pin down the
 * ring's order and bounds, which the pool's tests reach only in part, and how
 * waiting workers wake.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import * as Backlog from "../src/internal/backlog.ts"

describe("Backlog", () => {
  it("behaves as a bounded FIFO array under any sequence of offers and takes", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 70 }), fc.array(fc.boolean(), { minLength: 100, maxLength: 400 }), (capacity, steps) => {
      const backlog = Backlog.make<number>(capacity)
      const model: Array<number> = []
      let next = 0
      for (const isOffer of steps) {
        if (isOffer) {
          const accepted = backlog.offer(next)
          assert.strictEqual(accepted, model.length < capacity)
          if (accepted) model.push(next)
          next++
        } else {
          assert.strictEqual(backlog.take(), model.shift())
        }
        assert.strictEqual(backlog.size(), model.length)
      }
      assert.deepStrictEqual(backlog.takeAll(), model)
      assert.strictEqual(backlog.size(), 0)
    }))
  })

  it("a place held (for a delayed job) counts against the capacity as an item does, until released", () => {
    type Step = "offer" | "take" | "hold" | "release"
    const steps = fc.array(fc.constantFrom<Step>("offer", "take", "hold", "release"), { minLength: 100, maxLength: 400 })
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), steps, (capacity, steps) => {
      const backlog = Backlog.make<number>(capacity)
      const model: Array<number> = []
      let held = 0
      let next = 0
      for (const step of steps) {
        const room = model.length + held < capacity
        if (step === "offer") {
          assert.strictEqual(backlog.offer(next), room)
          if (room) model.push(next)
          next++
        } else if (step === "hold") {
          assert.strictEqual(backlog.hold(), room)
          if (room) held++
        } else if (step === "release" && held > 0) {
          backlog.release()
          held--
        } else if (step === "take") {
          assert.strictEqual(backlog.take(), model.shift())
        }
        assert.strictEqual(backlog.size(), model.length)
      }
      backlog.end()
      assert.isFalse(backlog.hold(), "held a place once ended")
    }))
  })

  it("refuses offers once ended, and still hands out what it holds", () => {
    const backlog = Backlog.make<string>(4)
    backlog.offer("a")
    backlog.end()
    assert.isTrue(backlog.ended())
    assert.isFalse(backlog.offer("b"))
    assert.strictEqual(backlog.take(), "a")
    assert.strictEqual(backlog.take(), undefined)
  })

  it.effect("a waiting worker wakes when an item arrives, or when it ends", () =>
    Effect.gen(function*() {
      const backlog = Backlog.make<string>(4)
      const waiting = yield* Effect.forkChild(backlog.wait, { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe(), "woke with nothing to take")
      backlog.offer("a")
      yield* Fiber.join(waiting)

      const untilEnd = yield* Effect.forkChild(Effect.andThen(Effect.sync(() => backlog.take()), backlog.wait), {
        startImmediately: true
      })
      yield* Effect.yieldNow
      assert.isUndefined(untilEnd.pollUnsafe(), "woke with nothing to take")
      backlog.end()
      yield* Fiber.join(untilEnd)
    }))

  it.effect("wakes idle workers one at a time while an item is left for them, and forgets one that was interrupted", () =>
    Effect.gen(function*() {
      const backlog = Backlog.make<string>(4)
      const taken: Array<string> = []
      // A worker whose job suspends: it takes one item and is done.
      const worker = Effect.andThen(
        backlog.wait,
        Effect.sync(() => {
          const item = backlog.take()
          if (item !== undefined) taken.push(item)
        })
      )
      const gone = yield* Effect.forkChild(worker, { startImmediately: true })
      const workers = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(worker, { startImmediately: true }))
      yield* Fiber.interrupt(gone)
      backlog.offer("a")
      backlog.offer("b")
      yield* Effect.yieldNow
      // Two items: two of the three still waiting wake, the interrupted one is not counted.
      assert.deepStrictEqual(taken, ["a", "b"])
      assert.strictEqual(workers.filter((fiber) => fiber.pollUnsafe() !== undefined).length, 2)
      backlog.end()
      yield* Fiber.joinAll(workers)
    }))

  it.effect("a woken worker that takes every item leaves the others waiting; the end wakes them all", () =>
    Effect.gen(function*() {
      const backlog = Backlog.make<string>(4)
      let woken = 0
      // A worker whose jobs end at once: it takes all there is before the next is woken.
      const worker = Effect.andThen(
        backlog.wait,
        Effect.sync(() => {
          woken++
          backlog.takeAll()
        })
      )
      const workers = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(worker, { startImmediately: true }))
      backlog.offer("a")
      backlog.offer("b")
      backlog.offer("c")
      yield* Effect.yieldNow
      assert.strictEqual(woken, 1)
      backlog.end()
      yield* Fiber.joinAll(workers)
      assert.strictEqual(woken, 3)
    }))

  it.effect("while paused it gives nothing and its workers wait, however many items it holds; resume or the end wakes them", () =>
    Effect.gen(function*() {
      const backlog = Backlog.make<string>(4)
      assert.isTrue(backlog.pause(true))
      backlog.offer("a")
      backlog.offer("b")
      assert.strictEqual(backlog.take(), undefined)
      const waiting = yield* Effect.forkChild(backlog.wait, { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe(), "a worker woke while paused")
      assert.isTrue(backlog.pause(false))
      yield* Fiber.join(waiting)
      assert.strictEqual(backlog.take(), "a")

      backlog.pause(true)
      const untilEnd = yield* Effect.forkChild(backlog.wait, { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(untilEnd.pollUnsafe(), "a worker woke while paused")
      backlog.end()
      yield* Fiber.join(untilEnd)
      assert.strictEqual(backlog.take(), "b", "the end lifts the pause")
    }))

  it("takeAll takes every item, paused or not", () => {
    const backlog = Backlog.make<string>(4)
    backlog.offer("a")
    backlog.pause(true)
    assert.deepStrictEqual(backlog.takeAll(), ["a"])
  })
})
