/**
 * The pool's ledger: its counts, its outcome stream, and every way an
 * accepted job ends. The pool's promise is kept here:
 *
 *   Every accepted job ends exactly once. At any moment,
 *
 *     submitted = succeeded + failed + died + cancelled + interrupted
 *               + abandoned + queued + active
 *
 *   (`interrupted`: before the shutdown began, and after). `unaccounted`
 *   computes the difference: zero when the rule holds.
 *
 * The life of a job, in this file's functions: `enqueue` accepts it into the
 * backlog (submitted, queued), or `hold` accepts a delayed one into a place
 * held for it (submitted, queued and delayed, until `delayed.ts` moves it
 * into the backlog when it is due, or ends it as `cancelled` or `abandon`ed). A worker takes it, and it either ends at once,
 * `cancelled` (its `run` caller gave up while it was queued), or is `started`
 * (active) until `succeeded`, `failed` (failed, died, or interrupted: by
 * itself, or by its caller) or `interruptedWhileRunning` (the drain's
 * deadline). What is still queued when the shutdown takes the backlog goes
 * to `abandonBacklog`. Each ending moves the job out of queued or active
 * into exactly one count, calls `Hooks.ended` once, replies to its `run`
 * caller (if any, unless that caller gave up) and publishes its outcome to
 * whoever listens (an abandoned job has none: it never ran).
 *
 * `test/Ledger.test.ts` checks each ending, and the rule over random sequences of them.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Job from "../Job.ts"
import type { Ending, ResolvedOutcomeBuffer, Stats } from "../Pool.ts"
import type * as Shutdown from "../Shutdown.ts"
import * as Cancel from "./cancel.ts"
import * as Metrics from "./metrics.ts"
import { quietly } from "./quietly.ts"
import type { Entry, PoolState, Subscriber } from "./state.ts"

/** The jobs accepted that are neither queued, running nor ended: zero when the rule holds. */
export const unaccounted = (stats: Stats): number =>
  stats.submitted - (stats.succeeded + stats.failed + stats.died + stats.cancelled + stats.interrupted +
    stats.abandoned + stats.queued + stats.active)

/** A snapshot of the counts. */
export const stats = <A, B, E, R>(state: PoolState<A, B, E, R>): Stats => ({
  workers: state.running,
  queued: state.backlog.size() + state.delayed.size(),
  delayed: state.delayed.size(),
  active: state.active,
  ...state.counts,
  interrupted: state.interruptedBeforeShutdown + state.interrupted.length,
  droppedOutcomes: state.droppedOutcomes
})

// -----------------------------------------------------------------------------
// Accepted, started
// -----------------------------------------------------------------------------

/** Puts `entry` in the backlog if there is room: from then on it is accepted, and counted. */
export const enqueue = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): boolean => {
  if (!state.backlog.offer(entry)) return false
  state.counts.submitted++
  Cancel.track(state, entry)
  if (state.metrics !== undefined) ready(state, entry)
  return true
}

/** `entry` can start from now on (accepted, or due): its wait begins. Only for a pool with job timings. */
export const ready = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  entry.readyAt = state.clock.currentTimeMillisUnsafe()
}

/**
 * Holds a place in the backlog for a delayed `entry` if there is room: from
 * then on it is accepted, and counted (as queued, since it holds a place).
 */
export const hold = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): boolean => {
  if (!state.backlog.hold()) return false
  state.counts.submitted++
  Cancel.track(state, entry)
  return true
}

/** A worker took `entry` from the backlog and runs it. */
export const started = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  state.active++
  const metrics = state.metrics
  if (metrics !== undefined) {
    const now = state.clock.currentTimeMillisUnsafe()
    entry.startedAt = now
    Metrics.record(metrics, metrics.wait, now - entry.readyAt)
    // Otherwise the clock is read only while someone listens: nobody else needs `elapsed`.
  } else if (state.subscribers.size > 0) entry.startedAt = state.clock.currentTimeMillisUnsafe()
}

/** A running job ended: its run time, for a pool with job timings. */
const ran = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  const metrics = state.metrics
  if (metrics !== undefined) {
    Metrics.record(metrics, metrics.runTime, state.clock.currentTimeMillisUnsafe() - (entry.startedAt ?? 0))
  }
}

// -----------------------------------------------------------------------------
// Endings
// -----------------------------------------------------------------------------

const succeededEnding: Ending = { _tag: "Succeeded" }
const cutOffEnding: Ending = { _tag: "CutOff" }
const abandonedEnding: Ending = { _tag: "Abandoned" }
const cancelledEnding: Ending = { _tag: "Cancelled" }

/** How long a job ran; for one that started before anyone listened, since they did. */
const elapsed = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>) =>
  Duration.millis(state.clock.currentTimeMillisUnsafe() - (entry.startedAt ?? state.listeningSince))

/** A running job's handler succeeded. */
export const succeeded = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>, value: B): void => {
  state.active--
  ran(state, entry)
  state.counts.succeeded++
  state.hooks.ended(entry.job, succeededEnding)
  if (entry.reply) Deferred.doneUnsafe(entry.reply, Exit.succeed(value))
  if (state.subscribers.size > 0) {
    publish(state, { _tag: "Succeeded", job: entry.job, value, elapsed: elapsed(state, entry) })
  }
}

/**
 * A running job ended without succeeding: failed (a timeout included), died
 * (its worker's fiber too, dying outright: `places.ts`), or was interrupted.
 * Returns the log line it deserves.
 */
export const failed = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>,
  cause: Cause.Cause<E | Job.JobTimeoutError>
): Effect.Effect<void> => {
  state.active--
  ran(state, entry)
  const { job, reply } = entry
  const listening = state.subscribers.size > 0
  const error = Cause.findError(cause)
  if (error._tag === "Success") {
    state.counts.failed++
    state.hooks.ended(job, { _tag: "Failed", cause })
    if (reply) Deferred.doneUnsafe(reply, Exit.fail(error.success))
    if (listening) publish(state, { _tag: "Failed", job, error: error.success, elapsed: elapsed(state, entry) })
    return quietly(Effect.logDebug("job failed", error.success).pipe(Effect.annotateLogs("jobId", job.id)))
  }
  const defect = Cause.findDefect(cause)
  if (defect._tag === "Success") {
    state.counts.died++
    state.hooks.ended(job, { _tag: "Failed", cause })
    if (reply) Deferred.doneUnsafe(reply, Exit.die(defect.success))
    if (listening) publish(state, { _tag: "Died", job, defect: defect.success })
    return quietly(Effect.logWarning("job died", cause).pipe(Effect.annotateLogs("jobId", job.id)))
  }
  interrupted(state, entry, cause)
  return Effect.void
}

/** The worker running `entry` was interrupted (the drain's deadline), and the job with it. */
export const interruptedWhileRunning = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  state.active--
  ran(state, entry)
  interrupted(state, entry, Cause.interrupt())
}

/**
 * A job stopped half-way: by its caller (cancelled), by itself, or by the
 * drain. One that interrupted itself before the shutdown began failed, as far
 * as a pool built on this one is concerned; once it began, it was cut off.
 */
const interrupted = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>, cause: Cause.Cause<unknown>) => {
  if (entry.cancelled) return cancelled(state, entry)
  const { job, reply } = entry
  if (state.accepting) {
    state.interruptedBeforeShutdown++
    state.hooks.ended(job, { _tag: "Failed", cause })
  } else {
    state.interrupted.push(job)
    state.hooks.ended(job, cutOffEnding)
  }
  if (reply) Deferred.doneUnsafe(reply, Exit.fail(new Job.JobInterruptedError({ jobId: job.id })))
  if (state.subscribers.size > 0) publish(state, { _tag: "Interrupted", job, cancelled: false })
}

/**
 * Its `run` caller gave up on the job: while it was queued (a worker took it,
 * or the shutdown did, and it never starts), or while it ran. Nobody waits
 * for its reply: the caller's interruption is its end.
 */
export const cancelled = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  state.counts.cancelled++
  state.hooks.ended(entry.job, cancelledEnding)
  if (state.subscribers.size > 0) publish(state, { _tag: "Interrupted", job: entry.job, cancelled: true })
}

/**
 * A queued job taken out by the shutdown: it will never start. Handed back
 * (its `run` caller told the pool closed), unless its caller already gave up.
 */
const abandoned = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): Array<Job.Job<A>> => {
  if (entry.cancelled) {
    cancelled(state, entry)
    return []
  }
  state.counts.abandoned++
  state.hooks.ended(entry.job, abandonedEnding)
  if (entry.reply) Deferred.doneUnsafe(entry.reply, Effect.fail(new state.settings.errors.Closed()))
  return [entry.job]
}

/** Takes every queued job out of the backlog: the jobs handed back, oldest first. */
export const abandonBacklog = <A, B, E, R>(state: PoolState<A, B, E, R>): Array<Job.Job<A>> =>
  abandon(state, state.backlog.takeAll())

/** Abandons `entries`, accepted jobs taken out of the pool (delayed ones, not due): the jobs handed back. */
export const abandon = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entries: ReadonlyArray<Entry<A, B, E>>
): Array<Job.Job<A>> => entries.flatMap((entry) => abandoned(state, entry))

// -----------------------------------------------------------------------------
// Outcomes
// -----------------------------------------------------------------------------

/**
 * Sends an outcome to every subscriber. Callers build one only while
 * someone listens. A full buffer drops one outcome (its queue's strategy
 * says which), and the worker goes on.
 */
const publish = <A, B, E, R>(state: PoolState<A, B, E, R>, outcome: Job.Outcome<A, B, E>): void => {
  for (const subscriber of state.subscribers) {
    if (Queue.sizeUnsafe(subscriber.queue) >= subscriber.capacity) state.droppedOutcomes++
    Queue.offerUnsafe(subscriber.queue, outcome)
  }
}

/** Subscribes to the outcomes of the jobs that end from now on, until the scope or the pool closes. */
export const subscribe = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  buffer: ResolvedOutcomeBuffer
): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (state.closed) return Stream.empty
    const queue = yield* Queue.make<Job.Outcome<A, B, E>, Cause.Done>(buffer)
    const subscriber: Subscriber<A, B, E> = { queue, capacity: buffer.capacity }
    if (state.subscribers.size === 0) state.listeningSince = state.clock.currentTimeMillisUnsafe()
    state.subscribers.add(subscriber)
    // Ended as well as removed: a stream still reading it ends instead of waiting forever.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        state.subscribers.delete(subscriber)
        Queue.endUnsafe(queue)
      })
    )
    return Stream.fromQueue(queue)
  })

/** The drain is over: ends the outcome streams and returns the totals of the report. */
export const close = <A, B, E, R>(
  state: PoolState<A, B, E, R>
): Omit<Shutdown.Report<A>, "abandoned" | "timedOut" | "elapsed"> => {
  state.closed = true
  for (const subscriber of state.subscribers) Queue.endUnsafe(subscriber.queue)
  const { counts, interrupted, interruptedBeforeShutdown } = state
  return {
    succeeded: counts.succeeded,
    failed: counts.failed,
    died: counts.died,
    cancelled: counts.cancelled,
    interrupted,
    interruptedBeforeShutdown
  }
}
