/**
 * A worker's loop: take the next item from the backlog, run it, record how
 * it ended, until the backlog has ended and is empty.
 *
 * This is the per-job path, so it costs as few runtime operations as an item
 * can: the item is taken synchronously in the same step that starts it, its
 * end is matched in one frame that also moves on to the next item (one frame
 * per worker, reused by every item; an item whose effect is already a
 * successful `Exit` takes no step at all), and the loop only
 * suspends when the backlog is empty. There it waits without taking, so an
 * interruption that lands between the wake-up and the take cannot lose an
 * item.
 *
 * The loop stays interruptible (no mask per item): the item in hand is
 * remembered, and if the fiber is interrupted while running it, `interrupted`
 * is told. So every item taken is either run to its end (`succeeded` or
 * `failed`) or handed to `interrupted`. The item in hand is kept in a `Hand`
 * the caller owns, so that it can be read from outside the loop's fiber: the
 * runtime ends a fiber at once, without running any of its frames, when it
 * meets a value that is not an Effect, and only whoever awaits that fiber can
 * then settle the item it held.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { Backlog } from "./backlog.ts"
import { isExit } from "./runtime.ts"

/** What the loop does with an item. */
export interface Handlers<A, B, E, R> {
  /**
   * Starts an item: returns the effect that runs it, or `undefined` when the
   * item needs no running (a cancelled job, say). Its synchronous part runs
   * in the same step as the take.
   */
  readonly run: (item: A) => Effect.Effect<B, E, R> | undefined
  /** The item's effect succeeded. */
  readonly succeeded: (item: A, value: B) => void
  /** The item's effect failed, died or was interrupted (but not the loop). */
  readonly failed: (item: A, cause: Cause.Cause<E>) => Effect.Effect<void>
  /** Called, uninterruptibly, with the item in hand when the loop is interrupted. */
  readonly interrupted: (item: A) => Effect.Effect<void>
}

/** The item a loop is running, if any; written by the loop only. */
export interface Hand<A> {
  item: A | undefined
}

/** Runs every item of `backlog`, one at a time, and returns once it has ended and is empty. */
export const loop = <A, B, E, R>(
  backlog: Backlog<A>,
  handlers: Handlers<A, B, E, R>,
  hand: Hand<A>
): Effect.Effect<void, never, R> =>
  Effect.suspend(() => {
    const { failed, interrupted, run, succeeded } = handlers
    let holding = false

    const next = (): Effect.Effect<void, never, R> => {
      while (true) {
        const item = backlog.take()
        if (item === undefined) return backlog.ended() ? Effect.void : Effect.flatMap(backlog.wait, next)
        const running = run(item)
        if (running === undefined) continue
        // Already succeeded (`Effect.succeed(compute(x))`, say): no runtime step needed.
        const value = succeededAlready(running)
        if (value !== notEnded) {
          succeeded(item, value)
          continue
        }
        holding = true
        hand.item = item
        current = running
        return runCurrent
      }
    }

    // Shared by every item (they read the item in hand), so an item allocates no closures.
    const matchers = {
      onSuccess: (value: B): Effect.Effect<void, never, R> => {
        const item = release()
        succeeded(item, value)
        return next()
      },
      onFailure: (cause: Cause.Cause<E>): Effect.Effect<void, never, R> =>
        Effect.andThen(failed(release(), cause), Effect.suspend(next))
    }

    const release = (): A => {
      const item = hand.item as A
      holding = false
      hand.item = undefined
      current = undefined
      return item
    }

    // The match frame, built once: it runs whichever effect is current when
    // the runtime evaluates it. The `suspend` costs a run-loop step, less than
    // allocating a frame per item did (371 -> 285 bytes per job on W1).
    let current: Effect.Effect<B, E, R> | undefined
    const runCurrent = Effect.matchCauseEffect(Effect.suspend(() => current!), matchers)

    return Effect.onInterrupt(Effect.suspend(next), () => holding ? interrupted(hand.item as A) : Effect.void)
  })

/** What `succeededAlready` says of an effect that has not succeeded yet. */
const notEnded: unique symbol = Symbol("notEnded")

/**
 * The value of an effect that is already a success, read here without a
 * runtime step; `notEnded` for any other, and for one that throws when read
 * (a Proxy's trap, a getter): the runtime runs those, in the job's hand,
 * where whatever they do ends the job (a failure, a defect) rather than the
 * loop.
 */
const succeededAlready = <B, E, R>(effect: Effect.Effect<B, E, R>): B | typeof notEnded => {
  try {
    if (!isExit(effect)) return notEnded
    const ended = effect as Exit.Exit<B, E>
    return ended._tag === "Success" ? ended.value : notEnded
  } catch {
    return notEnded
  }
}
