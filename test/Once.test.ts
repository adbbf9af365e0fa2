/**
 * `Once` (src/internal/once.ts), by which both pools shut down and the
 * threads close: the work runs once, whoever asks, and a caller interrupted
 * at any step of its call cannot leave it half-started (marked as started
 * with nothing to finish it), which would leave every later caller waiting
 * for ever. Each step of the call is reached by making the fiber yield
 * every 4 operations, shifting the call by 0 to 7 operations before it, and
 * interrupting the first caller at its first, second, ... yield.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Scheduler } from "effect"
import * as Once from "../src/internal/once.ts"

describe("Once", () => {
  it.effect("a first caller interrupted at any step: the work still runs once, and a later caller gets its result", () =>
    Effect.gen(function*() {
      for (let steps = 0; steps < 40; steps++) {
        // Operations before the call, so that the first yield falls on each of its own steps in turn.
        const before = Effect.forEach(Array.from({ length: steps % 8 }), () => Effect.void, { discard: true })
        const once = Once.make<number>()
        const release = yield* Deferred.make<void>()
        let runs = 0
        const work = Effect.andThen(Effect.sync(() => void runs++), Effect.as(Deferred.await(release), 42))
        const where = `${steps % 8} operations before the call, interrupted at yield ${Math.ceil(steps / 8)}`
        const first = yield* Effect.forkChild(Effect.andThen(before, once.run(work)), { startImmediately: true })
        for (let i = 0; i < steps / 8; i++) yield* Effect.yieldNow
        yield* Fiber.interrupt(first)
        const later = yield* Effect.forkChild(once.run(work), { startImmediately: true })
        yield* Deferred.succeed(release, undefined)
        for (let i = 0; i < 40 && later.pollUnsafe() === undefined; i++) yield* Effect.yieldNow
        assert.isDefined(later.pollUnsafe(), `${where}: a later caller waits for ever`)
        assert.strictEqual(yield* Fiber.join(later), 42)
        assert.strictEqual(runs, 1, where)
      }
    }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, 4)))
})
