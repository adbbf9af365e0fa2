/**
 * What the pool's per-job path assumes about Effect's runtime, in one place.
 *
 * Each job goes through these a few times, so each one is done in the way
 * that costs least, which leans on how Effect is built rather than only on
 * what its documentation promises: the prototypes an `Exit` is made with,
 * the property every Effect carries, the scheduler a callback runs on, and
 * an Effect made by extending `Effectable.Class`. `test/Runtime.test.ts`
 * pins each assumption, so that an upgrade of Effect that breaks one fails
 * there rather than somewhere in the pool.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as Exit from "effect/Exit"
import type * as Scheduler from "effect/Scheduler"

// An effect is an `Exit` when it has one of the two prototypes Exits are made
// with. Comparing prototypes costs less than `Exit.isExit`, whose property
// lookup sees every kind of value in the program and is slow for it.
const successProto = Object.getPrototypeOf(Exit.void)
const failureProto = Object.getPrototypeOf(Exit.fail(undefined))

/** Whether an effect has already ended: `Exit.isExit`, for effects only. */
export const isExit = (effect: Effect.Effect<unknown, unknown, unknown>): effect is Exit.Exit<unknown, unknown> => {
  const proto = Object.getPrototypeOf(effect)
  return proto === successProto || proto === failureProto
}

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
 */
export class Submission<S, P, O, A, E> extends Effectable.Class<A, E> {
  declare readonly accept: (state: S, payload: P, options: O) => Effect.Effect<A, E>
  declare readonly state: S
  declare readonly payload: P
  declare readonly options: O
  constructor(accept: (state: S, payload: P, options: O) => Effect.Effect<A, E>, state: S, payload: P, options: O) {
    super()
    this.accept = accept
    this.state = state
    this.payload = payload
    this.options = options
  }
  asEffect(): Effect.Effect<A, E> {
    return this.accept(this.state, this.payload, this.options)
  }
}
