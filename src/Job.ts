/**
 * A unit of work for a `WorkerPool`: its id, its payload and its own deadline,
 * the `Outcome` a worker reports for it, and the errors that belong to a job
 * rather than to the pool.
 *
 * In the Go blueprint a job carried a `context.Context` for its deadline and
 * cancellation; here the deadline is a `Duration` and cancellation is fiber
 * interruption.
 *
 * ```ts
 * import { Job } from "effect-worker-pool"
 *
 * const job = Job.make({ to: "ada@example.com" }, { id: "welcome-42", timeout: "10 seconds" })
 * ```
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { DelayedJob, validate } from "./internal/job.ts"
import { isInvalid } from "./internal/options.ts"

/**
 * A job: what a handler receives.
 *
 * `timeout` is the job's own deadline; when it is `undefined` the pool's
 * `jobTimeout` applies, and when both are absent the job may run for as long
 * as it needs.
 */
export interface Job<out A> {
  readonly id: string
  readonly payload: A
  readonly timeout: Duration.Duration | undefined
  /**
   * Which attempt of the job this is, from 1. Always 1 in memory; a durable
   * pool delivers a job again after a failure or a crash (see `Durable`),
   * and after a snooze (`Durable.snooze`) as the same attempt.
   */
  readonly attempt: number
}

/**
 * Per-job options, accepted by `Job.make` and by a pool's `submit`,
 * `trySubmit` and `run`.
 */
export interface Options {
  /** A caller-chosen id, for example an idempotency key. Generated when absent. */
  readonly id?: string | undefined
  /**
   * The job's own deadline; overrides the pool's `jobTimeout`. Must be
   * greater than zero; `"Infinity"` lifts the pool's deadline for this job.
   */
  readonly timeout?: Duration.Input | undefined
  /** Which delivery this is, from 1 (default). Set by durable pools. */
  readonly attempt?: number | undefined
  /**
   * How long the job waits before it may start, counted from the moment the
   * pool accepts it (when `submit` returns), on the Effect `Clock` (so a test
   * on the `TestClock` sees it start when it adjusts the clock past it). When
   * it is due, it joins the back of the queue and runs like any other job.
   * Zero or absent: no wait. Taken by the in-memory and threaded pools'
   * `submit`, `trySubmit` and `run`; `Job.make` checks it and keeps nothing
   * of it (a job does not carry its delay).
   *
   * - It holds its place in the pool's `capacity` from the moment it is
   *   accepted: a full pool makes `submit` wait, and `trySubmit` fail with
   *   `PoolFullError`, as for any job. It is counted in `Stats.queued`, and
   *   in `Stats.delayed` until it is due.
   * - A shutdown does not wait for it: a job not due when the shutdown
   *   begins never starts, and is handed back in `Report.abandoned` (its `run`
   *   caller fails with `PoolClosedError`), with backlog `"drain"` too.
   * - A `run` caller interrupted while it waits cancels it at once, and its
   *   place goes to the submits waiting for room.
   *
   * A duration of zero or more, and finite: negative, `NaN`, `null`,
   * something that is not a duration, and `"Infinity"` (a job that never
   * runs would hold its place for ever) fail with `PoolConfigError` on `delay`.
   */
  readonly delay?: Duration.Input | undefined
}

/**
 * Creates a job. The id is generated when `options.id` is absent.
 *
 * Throws an `IllegalArgumentError` when an option is invalid (a timeout that
 * is not a duration greater than zero, an id that is not a string); a pool's
 * `submit` reports the same as a typed `PoolConfigError` instead.
 *
 * ```ts
 * import { Job } from "effect-worker-pool"
 *
 * Job.make("resize:cat.png").id // => "job-1" (or the next free number)
 * ```
 */
export const make = <A>(payload: A, options?: Options): Job<A> => {
  const job = validate(payload, options)
  if (isInvalid(job)) throw new Cause.IllegalArgumentError(`invalid job option ${job.option}: ${job.reason}`)
  return job instanceof DelayedJob ? job.job : job
}

// -----------------------------------------------------------------------------
// Outcomes
// -----------------------------------------------------------------------------

/** The handler returned a value. */
export interface Succeeded<A, B> {
  readonly _tag: "Succeeded"
  readonly job: Job<A>
  readonly value: B
  readonly elapsed: Duration.Duration
}

/** The handler failed with its own typed error, or ran past the job's deadline. */
export interface Failed<A, E> {
  readonly _tag: "Failed"
  readonly job: Job<A>
  readonly error: E | JobTimeoutError
  readonly elapsed: Duration.Duration
}

/** The handler threw or died: a bug in the handler, not an expected failure. */
export interface Died<A> {
  readonly _tag: "Died"
  readonly job: Job<A>
  readonly defect: unknown
}

/**
 * The job did not complete: `cancelled` when its `run` caller was interrupted,
 * otherwise it was cut off by the drain deadline (or interrupted itself).
 */
export interface Interrupted<A> {
  readonly _tag: "Interrupted"
  readonly job: Job<A>
  readonly cancelled: boolean
}

/**
 * How one job ended. Every job a pool accepts ends in exactly one outcome,
 * except those handed back by a shutdown (`Report.abandoned`), which never
 * started.
 *
 * ```ts
 * import type { Job } from "effect-worker-pool"
 *
 * const describe = (outcome: Job.Outcome<string, number, Error>): string => {
 *   switch (outcome._tag) {
 *     case "Succeeded": return `${outcome.job.id} -> ${outcome.value}`
 *     case "Failed": return `${outcome.job.id} failed: ${outcome.error.message}`
 *     case "Died": return `${outcome.job.id} died`
 *     case "Interrupted": return `${outcome.job.id} interrupted`
 *   }
 * }
 * ```
 */
export type Outcome<A, B, E> = Succeeded<A, B> | Failed<A, E> | Died<A> | Interrupted<A>

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * The job ran past its deadline (its own `timeout`, else the pool's
 * `jobTimeout`). The handler was interrupted and its finalizers ran; a
 * handler that masks interruption (`Effect.uninterruptible`) runs to its
 * end first, and still counts as timed out, whatever it did.
 */
export class JobTimeoutError extends Schema.TaggedError<JobTimeoutError>()("JobTimeoutError", {
  jobId: Schema.String,
  timeout: Schema.Duration
}) {
  override get message(): string {
    return `job ${this.jobId} timed out after ${Duration.format(this.timeout)}`
  }
}

/**
 * What `run` fails with when its job was interrupted before it completed: cut
 * off by the drain deadline, or interrupted by its own handler.
 */
export class JobInterruptedError extends Schema.TaggedError<JobInterruptedError>()("JobInterruptedError", {
  jobId: Schema.String
}) {
  override get message(): string {
    return `job ${this.jobId} was interrupted before it completed`
  }
}
