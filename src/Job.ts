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
import {
  decodeDuration,
  describe,
  type Invalid,
  isInvalid,
  isOptionsObject,
  notAnObject,
  unreadable
} from "./internal/options.ts"

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
   * Which delivery of the job this is, from 1. Always 1 in memory; a durable
   * pool delivers a job again after a failure or a crash (see `Durable`).
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
}

let lastId = 0

/** "000" to "999": the last three digits of a generated id, made once. */
const lastDigits = Array.from({ length: 1_000 }, (_, n) => String(n).padStart(3, "0"))
/** "job-" and the digits before the last three, while they stay the same. */
let thousands = -1
let prefix = ""

/**
 * Returns an id that no other job of this process has been given: `job-1`,
 * `job-2`... A counter, not a UUID: ids are made on the per-job path and only
 * need to be unique within the process that runs the pool.
 *
 * The digits are not converted per job. V8 keeps the strings it converts from
 * numbers in a cache that lives in the old generation, which keeps each new
 * id alive through the next scavenge; at a million jobs that alone grew the
 * young generation, and the peak RSS, by some 30 MB. Here a job's id is one
 * concatenation of two strings made beforehand.
 */
const nextId = (): string => {
  const n = ++lastId
  if (n < 1_000) return `job-${n}`
  const last = n % 1_000
  const rest = (n - last) / 1_000
  if (rest !== thousands) {
    thousands = rest
    prefix = `job-${rest}`
  }
  return prefix + lastDigits[last]
}

/**
 * A job with a generated id and no options: nothing to check.
 *
 * @internal
 */
export const unchecked = <A>(payload: A): Job<A> => ({ id: nextId(), payload, timeout: undefined, attempt: 1 })

/**
 * Validates `options` and makes the job, or says which option is wrong and
 * why. What a pool's `submit` uses, so that bad options become a typed error.
 *
 * @internal
 */
export const validate = <A>(payload: A, options: Options | undefined): Job<A> | Invalid => {
  if (options === undefined) return unchecked(payload)
  if (!isOptionsObject(options)) return notAnObject("options", options)
  // Each field is read once, into a local: a getter could answer differently
  // the second time. Which one is being read names it, should reading throw.
  let reading = "id"
  try {
    const id = options.id
    reading = "timeout"
    const timeout = options.timeout
    reading = "attempt"
    const attempt = options.attempt
    return checked(payload, id, timeout, attempt)
  } catch (error) {
    return unreadable(reading, error)
  }
}

const checked = <A>(payload: A, id: unknown, timeout: unknown, attempt: unknown = 1): Job<A> | Invalid => {
  if (id !== undefined && typeof id !== "string") return { option: "id", reason: `must be a string, got ${describe(id)}` }
  if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) {
    return { option: "attempt", reason: `must be an integer >= 1, got ${describe(attempt)}` }
  }
  const decoded = timeout === undefined ? undefined : decodeDuration("timeout", timeout, { allowZero: false })
  if (isInvalid(decoded)) return decoded
  return { id: id ?? nextId(), payload, timeout: decoded, attempt: attempt as number }
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
  return job
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
 * `jobTimeout`). The handler was interrupted and its finalizers ran.
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
