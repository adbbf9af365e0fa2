/**
 * What the pool's per-job path assumes about Effect's runtime, in one place.
 *
 * Each job goes through these a few times, so each one is done in the way
 * that costs least, which leans on how Effect is built rather than only on
 * what its documentation promises: the key every `Exit` carries, the
 * property every Effect carries, the scheduler a callback runs on, an Effect
 * made by extending `Effectable.Class`, and the keys and the fiber method an
 * Effect's step hands a value to its continuation with. `test/Runtime.test.ts`
 * pins each assumption, so that an upgrade of Effect that breaks one fails
 * there rather than somewhere in the pool.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as Exit from "effect/Exit"
import type * as Scheduler from "effect/Scheduler"

// An effect is an `Exit` when it carries the key every Exit's prototype has
// (Effect's own `Exit.isExit` asks the same, but behind a shared
// `hasProperty` that sees every kind of value in the program, and is slow
// for it). Asked here, the lookup sees only what handlers and submits
// return. Comparing prototypes, as this did before, cost more: V8's
// `Object.getPrototypeOf` went through the runtime for an Exit (about 170
// instructions per job of W1, against about 40 for this lookup).
const exitTypeId = "~effect/Exit"

/** Whether an effect has already ended: `Exit.isExit`, for effects only. */
export const isExit = (effect: Effect.Effect<unknown, unknown, unknown>): effect is Exit.Exit<unknown, unknown> =>
  exitTypeId in effect

/**
 * `Effect.isEffect`, checked here: the shared check sees every kind of value
 * in the program and is slow for it; here it sees what one handler returns.
 */
export const isEffect = (u: unknown): u is Effect.Effect<unknown, unknown, unknown> =>
  ((typeof u === "object" && u !== null) || typeof u === "function") && Effect.TypeId in u

/**
 * `Effect.callback`, handing `register` the scheduler of the fiber that
 * waits (Effect calls the callback with it as `this`), so that the waiter can
 * make a dispatcher of it and run work later as tasks of that scheduler.
 * The callback takes one parameter: with two, Effect would make an
 * `AbortSignal` for every wait.
 */
export const callbackOnScheduler = <A>(
  register: (scheduler: Scheduler.Scheduler, resume: (effect: Effect.Effect<A>) => void) => void | Effect.Effect<void>
): Effect.Effect<A> =>
  Effect.callback<A>(function(this: Scheduler.Scheduler, resume) {
    return register(this, resume)
  })

/**
 * An effect that calls `accept(state, payload, options)` each time it runs:
 * one object per call of `submit`, where `Effect.suspend` would allocate a
 * closure as well as its effect. It carries the pool's state for a module
 * function rather than calling a closure over that state: the extra call
 * cost about 60 instructions per job (1%) of a loop of no-op submits.
 *
 * `accept` answers with the value itself when it has one at once (a job
 * accepted into the backlog), else with the effect that gets it (waits for
 * room, or fails). A value is handed straight to the fiber's continuation,
 * in the step that ran the submission, where `Effect.succeed` would have
 * allocated an `Exit` and cost the run loop a step of its own to unwrap
 * it. The value must not be an Effect.
 */
export class Submission<S, P, O, A, E> extends Effectable.Class<A, E> {
  declare readonly accept: (state: S, payload: P, options: O) => A | Effect.Effect<A, E>
  declare readonly state: S
  declare readonly payload: P
  declare readonly options: O
  constructor(
    accept: (state: S, payload: P, options: O) => A | Effect.Effect<A, E>,
    state: S,
    payload: P,
    options: O
  ) {
    super()
    this.accept = accept
    this.state = state
    this.payload = payload
    this.options = options
  }
  asEffect(): Effect.Effect<A, E> {
    const answer = this.accept(this.state, this.payload, this.options)
    return isEffect(answer) ? answer as Effect.Effect<A, E> : Effect.succeed(answer)
  }
}

/**
 * The parts of Effect's fiber and of its primitives that a submission's step
 * uses: the keys Effect's primitives keep their step (`evaluate`) and their
 * success continuation under, and the fiber's pop of the next continuation
 * that wants a success (it also runs the finalizers and interruptibility
 * changes in between, and answers an interruption that came meanwhile).
 */
const evaluateKey = `${Effect.TypeId}/evaluate`
const successContKey = `${Effect.TypeId}/successCont`

interface SuccessContinuation {
  readonly [successContKey]: (value: unknown, fiber: RunningFiber) => unknown
}
interface RunningFiber {
  getCont(key: typeof successContKey): SuccessContinuation | undefined
}

// A submission's step, what the run loop calls: as an `Exit`'s step does
// (Effect's `exitSucceed`), a value goes to the next continuation that takes
// a success; with none left, `Effect.succeed` ends the fiber with it.
Object.defineProperty(Submission.prototype, evaluateKey, {
  value: function(this: Submission<unknown, unknown, unknown, unknown, unknown>, fiber: RunningFiber): unknown {
    const answer = this.accept(this.state, this.payload, this.options)
    if (isEffect(answer)) return answer
    const cont = fiber.getCont(successContKey)
    return cont === undefined ? Effect.succeed(answer) : cont[successContKey](answer, fiber)
  }
})

/** For `test/Runtime.test.ts`: the keys the submission's step relies on. */
export const internalKeys = { evaluate: evaluateKey, successCont: successContKey }
