/**
 * A shutdown that runs once, in a fiber of its own, whoever asks for it.
 *
 * Both pools shut down this way: the first call starts the work in a
 * detached, uninterruptible fiber and every call (the first included) waits
 * for its result. So a caller that is interrupted, or that is itself a job of
 * the pool being drained (which the drain waits for), cannot stop it half-way,
 * and however the work ends, its end reaches every caller: none waits for ever.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

export interface Once<A> {
  /** Starts `work` unless it was started before; waits for its result either way. */
  readonly run: (work: Effect.Effect<A>) => Effect.Effect<A>
  /** Whether `run` was called. */
  readonly started: () => boolean
}

export const make = <A>(): Once<A> => {
  let result: Deferred.Deferred<A> | undefined
  // Masked from the check to the fork: an interruption in between would
  // leave `result` set with nothing to complete it.
  const run = (work: Effect.Effect<A>): Effect.Effect<A> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        if (result !== undefined) return restore(Deferred.await(result))
        const done = result = Deferred.makeUnsafe<A>()
        const detached = Effect.onExit(work, (exit) => Deferred.done(done, exit))
        return Effect.andThen(Effect.forkDetach(detached, { uninterruptible: true }), restore(Deferred.await(done)))
      })
    )
  return { run, started: () => result !== undefined }
}
