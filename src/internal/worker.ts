/**
 * A worker's loop: take the next item from a queue and run it, until the
 * queue is done.
 *
 * Taking and running are one uninterruptible step in which only the wait for
 * an item and what `run` restores are interruptible. A fiber can be
 * interrupted between any two of its operations (it yields to the scheduler
 * every `MaxOpsBeforeYield` of them); had that landed between the take and
 * the run, the item would be gone from the queue and never run.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"

/** Makes an effect interruptible again inside an uninterruptible region. */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/**
 * Runs `run` on every item of `queue`, one at a time, and returns once the
 * queue is done. `run` is called uninterruptibly; it wraps in `restore` what
 * may be interrupted (the job's handler).
 */
export const loop = <A, R>(
  queue: Queue.Dequeue<A, Cause.Done>,
  run: (item: A, restore: Restore) => Effect.Effect<void, never, R>
): Effect.Effect<void, never, R> => {
  const step = Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(Queue.take(queue)), (item) => run(item, restore))
  )
  // No yield per item: the runtime already yields every `MaxOpsBeforeYield` operations.
  return Effect.forever(step, { disableYield: true }).pipe(Effect.catchTag("Done", () => Effect.void))
}
