/**
 * Running one job: calling the handler, refusing what is not an Effect,
 * bounding it by its timeout, and, for a `run` job, running it in a fiber of
 * its own that its caller can interrupt. `handlers` is what a worker's loop
 * (`worker.ts`) does with each job it takes; how the job ended goes to the
 * ledger.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Job from "../Job.ts"
import * as Admission from "./admission.ts"
import * as Ledger from "./ledger.ts"
import { effectOrDie } from "./userEffect.ts"
import type { Entry, PoolState } from "./state.ts"
import * as Tracing from "./tracing.ts"
import type * as Worker from "./worker.ts"

/**
 * Calls the handler now, in the worker's step, so that an effect that has
 * already ended (an `Exit`) is settled without a runtime step. A handler
 * that throws, or returns something that is not an Effect, dies instead.
 */
const callHandler = <A, B, E, R>(state: PoolState<A, B, E, R>, job: Job.Job<A>): Effect.Effect<B, E, R> => {
  try {
    return effectOrDie(state.settings.handler(job), "the handler")
  } catch (defect) {
    return Effect.die(defect)
  }
}

/** The job's effect, bounded by its own timeout or else the pool's, after the pool's `beforeJob` if any. */
const runHandler = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>
): Effect.Effect<B, E | Job.JobTimeoutError, R> => {
  const { job, parent } = entry
  const effect = callHandler(state, job)
  const timeout = job.timeout ?? state.settings.jobTimeout
  const bounded = timeout === undefined || !Duration.isFinite(timeout) ? effect : Effect.timeoutOrElse(effect, {
    duration: timeout,
    orElse: () => Effect.fail(new Job.JobTimeoutError({ jobId: job.id, timeout }))
  })
  const spanned = parent === undefined ? bounded : Tracing.inJobSpan(state, bounded, job, parent)
  const before = state.hooks.beforeJob
  return before === undefined ? spanned : Effect.andThen(before(job), spanned)
}

/**
 * Runs a `run` job (or a cancellable pool's) in a fiber of its own, so that
 * its caller can interrupt just that job.
 *
 * A cancellable pool's job starts at once, in the worker's step (see
 * `runAtOnce`). A `run` job's fiber is scheduled: its caller may be
 * interrupted before it starts, and then it must not run at all (the check
 * below). So is a threaded pool's (one with `beforeJob`): its job costs a
 * round trip between threads anyway, and a durable pool on threads once hung
 * under a loaded test run with the job started at once, which was not
 * understood in time to keep it.
 */
const runCancellable = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>
): Effect.Effect<B, E | Job.JobTimeoutError, R> => {
  // `start` runs in the worker's step: the current fiber is the worker's.
  if (startsAtOnce(state, entry)) return runAtOnce(Fiber.getCurrent()!.context as Context.Context<R>, state, entry)
  return Effect.flatMap(Effect.forkChild(runHandler(state, entry)), (fiber) => {
    entry.fiber = fiber
    // Cancelled since the worker took it: stop the fiber before it starts.
    return entry.cancelled ? Effect.andThen(Fiber.interrupt(fiber), Fiber.join(fiber)) : Fiber.join(fiber)
  })
}

/**
 * Runs a cancellable pool's job in a fiber of its own that starts now, in
 * the worker's step, with the worker's context: a fiber scheduled to start
 * later cost the worker a trip through the scheduler per job (a durable
 * pool of no-op jobs on the memory store ran 18k jobs/s so, 37k at once,
 * 47k with no fiber per job). The fiber is not the worker's child: no
 * runtime step to fork it, none to join one that has already ended (its
 * `Exit` goes back to the worker, which settles it without a step), and no
 * entry in the worker's children. The durable pool's path went from 41,900
 * to 36,000 instructions a job (`npm run bench:callgrind -- --variant
 * durable`; 33,900 with no fiber per job at all). Its one owner is the
 * entry: the worker interrupted while running it stops it
 * (`interruptedWhileRunning`).
 */
const runAtOnce = <A, B, E, R>(
  context: Context.Context<R>,
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>
): Effect.Effect<B, E | Job.JobTimeoutError, R> => {
  const fiber = Effect.runForkWith(context)(runHandler(state, entry))
  entry.fiber = fiber
  return Fiber.join(fiber)
}

/** Whether `entry`'s fiber starts in the worker's step (see `runCancellable`). */
const startsAtOnce = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): boolean =>
  entry.reply === undefined && state.hooks.beforeJob === undefined

/**
 * Starts one job, in the step in which a worker took it: the effect that
 * runs it, or `undefined` for a job cancelled while it was queued. The room
 * it freed goes to the submits waiting for it first.
 */
const start = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>
): Effect.Effect<B, E | Job.JobTimeoutError, R> | undefined => {
  if (state.waiters.size > 0) Admission.admitWaiters(state)
  if (entry.cancelled) {
    Ledger.cancelled(state, entry)
    return undefined
  }
  Ledger.started(state, entry)
  // A cancellable pool's jobs each run in a fiber of their own too, so that `cancel.ts` can stop one.
  return entry.reply === undefined && state.byId === undefined
    ? runHandler(state, entry)
    : runCancellable(state, entry)
}

/** The worker was interrupted (the drain deadline) while running `entry`: stop the job too. */
const interruptedWhileRunning = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>) =>
  Effect.andThen(
    entry.fiber === undefined ? Effect.void : Fiber.interrupt(entry.fiber),
    Effect.sync(() => Ledger.interruptedWhileRunning(state, entry))
  )

/** What a worker's loop does with the jobs of `state`: made once per pool, shared by its workers. */
export const handlers = <A, B, E, R>(
  state: PoolState<A, B, E, R>
): Worker.Handlers<Entry<A, B, E>, B, E | Job.JobTimeoutError, R> => ({
  run: (entry) => start(state, entry),
  succeeded: (entry, value) => Ledger.succeeded(state, entry, value),
  failed: (entry, cause) => Ledger.failed(state, entry, cause),
  interrupted: (entry) => interruptedWhileRunning(state, entry)
})
