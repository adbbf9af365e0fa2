/**
 * A shutdown that runs once, in a fiber of its own, whoever asks for it.
 *
 * Both pools shut down this way: the first call starts the work in a
 * detached, uninterruptible fiber and every call (the first included) waits
 * for its result. So a caller that is interrupted, or that is itself a job of
 * the pool being drained (which the drain waits for), cannot stop it half-way,
 * and however the work ends, its end reaches every caller: none waits for ever.
 *
 * The work may have an epilogue, `after` its result (a pool's `onShutdown`
 * with the report): callers wait for it too, but a call made from within it
 * (an `onShutdown` that asks for the pool's shutdown, or a fiber it forked)
 * gets the result at once, where waiting would be waiting for itself.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

export interface Once<A> {
  /**
   * Starts `work`, then `after` its result, unless it was started before;
   * waits for both either way, unless called from within `after`.
   */
  readonly run: (work: Effect.Effect<A>, after?: (result: A) => Effect.Effect<void>) => Effect.Effect<A>
  /** Whether `run` was called. */
  readonly started: () => boolean
}

/**
 * The results of the runs whose epilogue the current fiber is part of, by
 * run: in the context, so that a fiber the epilogue forks is part of it too.
 */
const Finishing = Context.Reference<ReadonlyMap<object, unknown>>("effect-worker-pool/Once/Finishing", {
  defaultValue: () => new Map()
})

/**
 * `context` without the marks of the runs its fiber was finishing: a pool
 * made inside another's `onShutdown` saves that mark with its context,
 * which, provided again around its own `onShutdown`, would replace this
 * run's own mark. Give an epilogue's saved context through here.
 */
export const unmarked = <R>(context: Context.Context<R>): Context.Context<R> =>
  Context.omit(Finishing)(context) as Context.Context<R>

export const make = <A>(): Once<A> => {
  let result: Deferred.Deferred<A> | undefined
  const key = {}
  const withEpilogue = (work: Effect.Effect<A>, after: ((result: A) => Effect.Effect<void>) | undefined) =>
    after === undefined ? work : Effect.flatMap(work, (value) =>
      Effect.as(Effect.updateService(Effect.suspend(() => after(value)), Finishing, (runs) => new Map(runs).set(key, value)), value))
  // Masked from the check to the fork: an interruption in between would
  // leave `result` set with nothing to complete it.
  const run = (work: Effect.Effect<A>, after?: (result: A) => Effect.Effect<void>): Effect.Effect<A> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiber((fiber) => {
        const finishing = fiber.getRef(Finishing)
        if (finishing.has(key)) return Effect.succeed(finishing.get(key) as A)
        if (result !== undefined) return restore(Deferred.await(result))
        const done = result = Deferred.makeUnsafe<A>()
        const detached = Effect.onExit(withEpilogue(work, after), (exit) => Deferred.done(done, exit))
        return Effect.andThen(Effect.forkDetach(detached, { uninterruptible: true }), restore(Deferred.await(done)))
      })
    )
  return { run, started: () => result !== undefined }
}
