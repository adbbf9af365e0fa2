/**
 * `run`: submits a job and waits for its reply, which the ledger gives as
 * the job ends. Interrupting the caller cancels the job: a worker skips it
 * if it is still queued, and interrupts it if it runs.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Job from "../Job.ts"
import type { PoolClosedError, PoolConfigError, RunError } from "../Pool.ts"
import * as Admission from "./admission.ts"
import { DelayedEntry, type Entry, type PoolState } from "./state.ts"

/** Submits a job (waiting while the backlog is full) and waits for its result. */
export const run = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  payload: A,
  options: Job.Options | undefined
): Effect.Effect<B, RunError<E> | PoolConfigError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend((): Effect.Effect<B, RunError<E> | PoolConfigError> => {
      const reply = Deferred.makeUnsafe<B, RunError<E>>()
      const made = Admission.entryFor(state, payload, options, reply)
      let entry: Entry<A, B, E>
      let accepted: Effect.Effect<unknown, PoolClosedError>
      if ("job" in made) {
        entry = made
        accepted = Admission.offer(state, entry) ? Effect.void : Admission.waitForRoom(state, entry)
      } else if (made instanceof DelayedEntry) {
        entry = made.entry
        accepted = Admission.offerDelayed(state, made)
          ? Effect.void
          : Admission.waitForRoom(state, entry, made.delayNanos)
      } else return Effect.fail(made)
      // From the offer on, an interruption of the caller cancels the job:
      // whether it came while waiting for room, for a worker or for the result.
      return restore(Effect.andThen(accepted, Deferred.await(reply))).pipe(
        Effect.onInterrupt(() => cancel(state, entry))
      )
    })
  ).pipe(Effect.withSpan("Pool.run"))

/** Cancels a `run` job whose caller was interrupted. */
const cancel = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): Effect.Effect<void> =>
  Effect.suspend(() => {
    // Queued: the worker that takes it skips it. Delayed, not due yet: it
    // ends now, and its place goes to a waiting submit. Still waiting for
    // room: it was never accepted, so nothing takes it. Running: interrupt it
    // and wait, so that the caller's interruption ends after its finalizers.
    entry.cancelled = true
    Admission.withdraw(state, entry)
    return entry.fiber === undefined ? Effect.void : Fiber.interrupt(entry.fiber)
  })
