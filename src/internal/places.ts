/**
 * The pool's worker places: one per worker, each running a worker's loop in
 * a fiber of its own, and a new loop when that fiber dies outright.
 *
 * The runtime ends a fiber at once, without running any of its frames, when
 * it meets a value that is not an Effect (a handler's
 * `Effect.suspend(() => undefined)` in JavaScript, say). Such a loop would
 * take its job and its place with it; the place awaits its loop's fiber, so
 * the job it held ends as died and a new loop takes the place.
 *
 * A loop's fiber can also die with its frames run (a step of the loop that
 * throws): its `ensuring` has then taken it out of `running` already. So
 * each loop's hand says whether it is still counted, and whichever of the
 * two comes first takes it out.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type * as Job from "../Job.ts"
import * as Executor from "./executor.ts"
import * as Ledger from "./ledger.ts"
import { quietly } from "./quietly.ts"
import type { Entry, PoolState } from "./state.ts"
import * as Worker from "./worker.ts"

type Handlers<A, B, E, R> = Worker.Handlers<Entry<A, B, E>, B, E | Job.JobTimeoutError, R>

/** A loop's hand, and whether the loop is counted in `running`. */
interface Hand<A> extends Worker.Hand<A> {
  counted: boolean
}

/** Takes a loop out of `running`, once: its `ensuring` and `replace` may both come. */
const leave = <A, B, E, R>(state: PoolState<A, B, E, R>, hand: Hand<Entry<A, B, E>>): void => {
  if (!hand.counted) return
  hand.counted = false
  state.running--
}

/** One worker's loop, counted in `running` while it runs, with its id for the handler and the logs. */
const worker = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  handlers: Handlers<A, B, E, R>,
  id: number,
  hand: Hand<Entry<A, B, E>>
): Effect.Effect<void, never, R> =>
  Effect.suspend(() => {
    hand.counted = true
    if (++state.running === state.settings.workers) Deferred.doneUnsafe(state.allStarted, Effect.void)
    return Worker.loop(state.backlog, handlers, hand)
  }).pipe(
    Effect.ensuring(Effect.sync(() => leave(state, hand))),
    Effect.provideService(state.settings.workerId, id),
    Effect.annotateLogs("worker", id)
  )

/** A worker's place: its loop runs in a fiber of its own, replaced should that fiber die outright. */
const place = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  handlers: Handlers<A, B, E, R>,
  id: number
): Effect.Effect<void, never, R> =>
  Effect.suspend(() => {
    const hand: Hand<Entry<A, B, E>> = { item: undefined, counted: false }
    // A new loop (after one died outright) gets a new hand: the snapshot of running jobs reads this one.
    state.hands[id - 1] = hand
    return Effect.flatMap(Effect.forkChild(worker(state, handlers, id, hand), { startImmediately: true }), (fiber) =>
      Effect.onInterrupt(Fiber.await(fiber), () => Fiber.interrupt(fiber)).pipe(
        Effect.flatMap((exit) =>
          Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
            ? Effect.void
            : replace(state, handlers, id, hand, exit.cause)
        )
      ))
  })

/**
 * The loop's fiber died (outright, or a step of its own threw): the job it
 * held ends as died, and a new loop takes the place.
 */
const replace = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  handlers: Handlers<A, B, E, R>,
  id: number,
  hand: Hand<Entry<A, B, E>>,
  cause: Cause.Cause<never>
): Effect.Effect<void, never, R> => {
  leave(state, hand) // the loop's own `ensuring` may not have run
  const entry = hand.item
  const settled = entry === undefined ? Effect.void : Ledger.failed(state, entry, cause)
  const logged = quietly(Effect.logError("a worker's fiber died; a new one takes its place", cause).pipe(
    Effect.annotateLogs("worker", id)
  ))
  return Effect.andThen(Effect.andThen(settled, logged), place(state, handlers, id))
}

/**
 * Starts the pool's workers in `scope` and returns once every one of them
 * is taking jobs: the pool starts before its traffic.
 */
export const start = <A, B, E, R>(state: PoolState<A, B, E, R>, scope: Scope.Scope): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const handlers = Executor.handlers(state)
    for (let id = 1; id <= state.settings.workers; id++) {
      state.places.push(yield* Effect.forkIn(place(state, handlers, id), scope))
    }
    yield* Deferred.await(state.allStarted)
  })
