/**
 * The deadlines of a store's operations (`src/durable/deadlines.ts`), under
 * the TestClock: each operation fails at its own deadline, however many are
 * in flight and whatever order they answer in; one that answers in time
 * leaves nothing behind; a caller interrupted takes its entry out and
 * interrupts its operation in the background.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Deadlines from "../src/durable/deadlines.ts"

type Failure = "late" | "no"

const late = (): Failure => "late"

const timeout = Duration.seconds(1)

/** Runs `operation` within `deadlines` in a fiber of its own; its exit once it ends. */
const start = <A>(deadlines: Deadlines.Deadlines, operation: Effect.Effect<A, Failure>) =>
  Effect.forkChild(Deadlines.within(deadlines, operation, late))

describe("deadlines", () => {
  it.effect("each operation fails at its own deadline, the later ones still waiting", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const deadlines = Deadlines.make(timeout, scope)
      const first = yield* start(deadlines, Effect.never)
      yield* TestClock.adjust("600 millis")
      const second = yield* start(deadlines, Effect.never)
      yield* TestClock.adjust("400 millis")
      assert.deepStrictEqual(yield* Fiber.await(first), Exit.fail<Failure>("late"))
      assert.isUndefined(second.pollUnsafe())
      yield* TestClock.adjust("599 millis")
      assert.isUndefined(second.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Fiber.await(second), Exit.fail<Failure>("late"))
      assert.strictEqual(deadlines.table.size(), 0)
    }))

  it.effect("an operation that answers in time gives its exit and leaves no deadline behind", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const deadlines = Deadlines.make(timeout, scope)
      const gate = yield* Deferred.make<number, Failure>()
      const waiting = yield* start(deadlines, Deferred.await(gate))
      const failing = yield* start(deadlines, Effect.flatMap(Deferred.await(gate), () => Effect.fail<Failure>("no")))
      yield* Effect.yieldNow
      assert.strictEqual(deadlines.table.size(), 2)
      yield* TestClock.adjust("999 millis")
      yield* Deferred.succeed(gate, 7)
      assert.deepStrictEqual(yield* Fiber.join(waiting), Exit.succeed(7))
      assert.deepStrictEqual(yield* Fiber.join(failing), Exit.fail<Failure>("no"))
      assert.strictEqual(deadlines.table.size(), 0)
      assert.deepStrictEqual(yield* Deadlines.within(deadlines, Effect.succeed(1), late), Exit.succeed(1))
      assert.strictEqual(deadlines.table.size(), 0)
    }))

  it.effect("past its deadline an operation is interrupted in the background, not waited for", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const deadlines = Deadlines.make(timeout, scope)
      const lettingGo = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const stubborn = Effect.never.pipe(
        Effect.onInterrupt(() => Effect.andThen(Deferred.succeed(interrupted, undefined), Deferred.await(lettingGo)))
      )
      const caller = yield* start(deadlines, stubborn)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.await(caller), Exit.fail<Failure>("late"))
      yield* Deferred.await(interrupted)
      yield* Deferred.succeed(lettingGo, undefined)
    }))

  it.effect("a caller interrupted takes its deadline out and interrupts its operation", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const deadlines = Deadlines.make(timeout, scope)
      const interrupted = yield* Deferred.make<void>()
      const caller = yield* start(deadlines, Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined)))
      yield* Effect.yieldNow
      assert.strictEqual(deadlines.table.size(), 1)
      yield* Fiber.interrupt(caller)
      assert.strictEqual(deadlines.table.size(), 0)
      yield* Deferred.await(interrupted)
    }))

  it.effect("a wall clock stepped back does not hold a deadline back: deadlines run on monotonic time", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const deadlines = Deadlines.make(timeout, scope)
      const test = yield* Clock.Clock
      // The wall clock as NTP or a resumed VM may set it; monotonic time goes on.
      let wallOffset = 0
      const stepped: Clock.Clock = {
        ...test,
        currentTimeMillisUnsafe: () => test.currentTimeMillisUnsafe() + wallOffset,
        currentTimeNanosUnsafe: () => test.currentTimeNanosUnsafe() + BigInt(wallOffset) * 1_000_000n
      }
      const caller = yield* start(deadlines, Effect.never).pipe(Effect.provideService(Clock.Clock, stepped))
      yield* Effect.yieldNow
      wallOffset = -3_600_000
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.await(caller), Exit.fail<Failure>("late"))
    }))
})
