/**
 * Jobs as the pools make them, on the per-job path: ids, and the check of a
 * job's options. Allocation-light: a job without options is checked for
 * nothing, and one with options costs a `try` and a few reads, unless they
 * are refused.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type { Job, Options } from "../Job.ts"
import {
  duration,
  field,
  type Invalid,
  invalidOf,
  jobIdString,
  positive,
  positiveInteger,
  record,
  refuse,
  refuseUnknown,
  zeroOrMore
} from "./options.ts"

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
 * Jobs are made with `new`, not an object literal, for the reason entries
 * are (`state.ts`): V8 would start allocating a literal's objects in the old
 * generation once it saw most of them outlive a young-generation collection,
 * as the jobs waiting in a full backlog do, and the old generation would
 * grow until a full collection.
 */
class JobRecord<A> implements Job<A> {
  readonly id: string
  readonly payload: A
  readonly timeout: Job<A>["timeout"]
  readonly attempt: number
  constructor(id: string, payload: A, timeout: Job<A>["timeout"], attempt: number) {
    this.id = id
    this.payload = payload
    this.timeout = timeout
    this.attempt = attempt
  }
}

/**
 * A job whose options asked for a delay of a nanosecond or more, with that
 * delay in nanoseconds: what the pool schedules (`delayed.ts`) instead of
 * queueing. Made only for such a job; one without a delay is its `Job` alone.
 */
export class DelayedJob<A> {
  readonly job: Job<A>
  readonly delayNanos: number
  constructor(job: Job<A>, delayNanos: number) {
    this.job = job
    this.delayNanos = delayNanos
  }
}

/**
 * A job's `delay`: a duration of zero or more, and finite, since a job that
 * never runs would hold its place in the pool for ever. In nanoseconds (a
 * `number`: exact up to 104 days, and within a nanosecond or so beyond).
 */
const delayNanos = (input: unknown): number => {
  const delay = duration("delay", input, zeroOrMore)
  return Duration.isFinite(delay)
    ? Number(Duration.toNanosUnsafe(delay))
    : refuse("delay", "must be finite (a job that never runs would hold its place in the pool for ever)")
}

/** A job with a generated id and no options: nothing to check. */
export const unchecked = <A>(payload: A): Job<A> => new JobRecord(nextId(), payload, undefined, 1)

/** A job whose id and attempt its caller vouches for (see `Admission.deliver`): nothing to check. */
export const vouched = <A>(payload: A, id: string, attempt: number): Job<A> =>
  new JobRecord(id, payload, undefined, attempt)

/** Every option a job reads. */
const knownOptions: ReadonlySet<string> = new Set(["id", "timeout", "attempt", "delay"] satisfies ReadonlyArray<keyof Options>)

/** What to say of an unknown option that is a durable job's, or a likely slip. */
const instead: Readonly<Record<string, string>> = {
  runAt: " (a durable job's: in memory, use `delay`)",
  priority: " (a durable job's: the in-memory pool runs jobs in the order they come)",
  retry: " (a durable job's: the in-memory pool runs a job once)",
  jobTimeout: " (a job's own deadline is `timeout`)"
}

/**
 * Validates `options` and makes the job, or says which option is wrong and
 * why. What a pool's `submit` uses, so that bad options become a typed error.
 * A job with a delay greater than zero comes wrapped in a `DelayedJob`.
 */
export const validate = <A>(payload: A, options: Options | undefined): Job<A> | DelayedJob<A> | Invalid => {
  if (options === undefined) return unchecked(payload)
  try {
    const source = record("options", options)
    // Each field is read once, all before any is checked: a getter could
    // answer differently the second time, and one that throws is named.
    const id = field(source, "id", "id")
    const timeout = field(source, "timeout", "timeout")
    const attempt = field(source, "attempt", "attempt")
    const delay = field(source, "delay", "delay")
    refuseUnknown(source, knownOptions, "an in-memory job", instead)
    const checkedId = id === undefined ? undefined : jobIdString(id)
    const checkedAttempt = attempt === undefined ? 1 : positiveInteger("attempt", attempt)
    const checkedTimeout = timeout === undefined ? undefined : duration("timeout", timeout, positive)
    const checkedDelay = delay === undefined ? 0 : delayNanos(delay)
    const job = new JobRecord(checkedId ?? nextId(), payload, checkedTimeout, checkedAttempt)
    return checkedDelay > 0 ? new DelayedJob(job, checkedDelay) : job
  } catch (cause) {
    return invalidOf("options", cause)
  }
}
