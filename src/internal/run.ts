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
import type { PoolConfigError, RunError } from "../Pool.ts"
import * as Admission from "./admission.ts"
import type { Entry, PoolState } from "./state.ts"

/** Submits a job (waiting while the backlog is full) and waits for its result. */
export const run = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  payload: A,
  options: Job.Options | undefined
): Effect.Effect<B, RunError<E> | PoolConfigError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend((): Effect.Effect<B, RunError<E> | PoolConfigError> => {
      const reply = Deferred.makeUnsafe<B, RunError<E>>()
      const entry = Admission.entryFor(state, payload, options, reply)
      if (!("job" in entry)) return Effect.fail(entry)
      const accepted = Admission.offer(state, entry) ? Effect.void : Effect.asVoid(Admission.waitForRoom(state, entry))
      // From the offer on, an interruption of the caller cancels the job:
      // whether it came while waiting for room, for a worker or for the result.
      return restore(Effect.andThen(accepted, Deferred.await(reply))).pipe(
        Effect.onInterrupt(() => cancel(entry))
      )
    })
  ).pipe(Effect.withSpan("Pool.run"))

/** Cancels a `run` job whose caller was interrupted. */
const cancel = <A, B, E>(entry: Entry<A, B, E>): Effect.Effect<void> =>
  Effect.suspend(() => {
    // Queued: the worker that takes it skips it. Still waiting for room:
    // it was never accepted, so nothing takes it. Running: interrupt it and
    // wait, so that the caller's interruption ends after its finalizers.
    entry.cancelled = true
    return entry.fiber === undefined ? Effect.void : Fiber.interrupt(entry.fiber)
  })
