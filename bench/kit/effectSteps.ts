/**
 * Counts the steps of Effect's fiber run loop: each effect it evaluates (a
 * `flatMap`'s continuation, a `suspend`, an exit, ...) is one step. A count
 * does not depend on the machine's load, so it compares two versions of a
 * path (`bench/durable/effectSteps.ts`) where a timing would drown in noise.
 *
 * It wraps the `runLoop` of the fibers' prototype and reads the fiber's own
 * step counter (`currentOpCount`, reset at each run of the loop), so a run's
 * steps count when the run ends: internals of the `effect` package, which
 * an upgrade may change (`test/benchEffectSteps.test.ts` says so when it
 * does).
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** What ran since the counter was made (or last reset). */
export interface StepCount {
  /** Steps of the run loop. */
  readonly steps: number
  /** Runs of the loop: a fiber started or resumed. */
  readonly runs: number
  /** Distinct fibers that ran. */
  readonly fibers: number
}

export interface StepCounter {
  readonly read: () => StepCount
  readonly reset: () => void
  /** Puts the run loop back as it was. */
  readonly stop: () => void
}

interface CountedFiber {
  readonly currentOpCount: number
  runLoop(effect: unknown): unknown
}

/** Starts counting every fiber's steps in this process. */
export const countSteps = (): StepCounter => {
  const probe = Effect.runFork(Effect.never)
  const prototype = Object.getPrototypeOf(probe) as CountedFiber
  Effect.runFork(Fiber.interrupt(probe))
  const original = prototype.runLoop
  if (typeof original !== "function") throw new Error("effectSteps: Effect's fibers have no runLoop to count")
  let steps = 0
  let runs = 0
  let fibers = new WeakSet<object>()
  let fiberCount = 0
  prototype.runLoop = function(this: CountedFiber, effect: unknown) {
    const result = original.call(this, effect)
    steps += this.currentOpCount
    runs++
    if (!fibers.has(this)) {
      fibers.add(this)
      fiberCount++
    }
    return result
  }
  return {
    read: () => ({ steps, runs, fibers: fiberCount }),
    reset: () => {
      steps = 0
      runs = 0
      fibers = new WeakSet()
      fiberCount = 0
    },
    stop: () => {
      prototype.runLoop = original
    }
  }
}
