/**
 * The step counter of `bench/durable/effectSteps.ts` (`bench/kit/effectSteps.ts`):
 * it wraps internals of the `effect` package, so these tests say when an
 * upgrade of Effect leaves it counting nothing, or counting wrong.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { countSteps, type StepCounter } from "../bench/kit/effectSteps.ts"

describe("countSteps", () => {
  let counter: StepCounter | undefined
  afterEach(() => counter?.stop())

  it("counts each effect the run loop evaluates: an exit is one step, each map two more", async () => {
    counter = countSteps()
    counter.reset()
    await Effect.runPromise(Effect.succeed(1))
    expect(counter.read()).toEqual({ steps: 1, runs: 1, fibers: 1 })
    counter.reset()
    await Effect.runPromise(Effect.map(Effect.map(Effect.succeed(1), (n) => n + 1), (n) => n * 2))
    expect(counter.read()).toEqual({ steps: 5, runs: 1, fibers: 1 })
  })

  it("counts a fiber resumed after it yields as one more run of the same fiber", async () => {
    counter = countSteps()
    counter.reset()
    await Effect.runPromise(Effect.andThen(Effect.yieldNow, Effect.succeed(1)))
    const { runs, fibers } = counter.read()
    expect([runs, fibers]).toEqual([2, 1])
  })

  it("counts nothing once stopped", async () => {
    counter = countSteps()
    counter.stop()
    counter.reset()
    await Effect.runPromise(Effect.succeed(1))
    expect(counter.read()).toEqual({ steps: 0, runs: 0, fibers: 0 })
  })
})
