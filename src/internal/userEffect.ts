/**
 * What user code gave back where an Effect was due: the handler,
 * `onShutdown`, a store written outside this package. One that is no Effect
 * becomes an effect that dies saying what it was, and a Promise among those
 * has its rejection marked handled.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { describe } from "./options.ts"
import { isEffect } from "./runtime.ts"

/** What user code returned instead of an Effect, for the error that says so. */
const returned = (value: unknown): string =>
  value instanceof Promise ? "a Promise (wrap it with Effect.promise or Effect.tryPromise)" : describe(value)

/**
 * What user code (`who`: "the handler", "onShutdown") returned, if it is an
 * Effect; else an effect that dies with a `TypeError` saying what it was.
 */
export const effectOrDie = <A, E, R>(value: unknown, who: string): Effect.Effect<A, E, R> => {
  if (isEffect(value)) return value as Effect.Effect<A, E, R>
  disown(value)
  return Effect.die(new TypeError(`${who} returned ${returned(value)}, not an Effect`))
}

const ignore = () => {}

/**
 * Marks the rejection of a Promise that user code returned instead of an
 * Effect as handled: nothing awaits it, and an async handler that throws
 * would otherwise end the whole process (Node's unhandled rejection), after
 * the pool has settled the job, and again in each process that runs the job
 * next. Only a real Promise: another object's `then` may do work of its own.
 */
const disown = (value: unknown): void => {
  try {
    if (value instanceof Promise) Promise.prototype.then.call(value, undefined, ignore)
  } catch {
    // A Proxy (of a Promise or not) whose traps throw: nothing to disown.
  }
}
