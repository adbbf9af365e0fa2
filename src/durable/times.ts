/**
 * The farthest a job may wait, the same on every store: `maxDelay`, stated
 * once here and applied at the store boundary (`boundary.ts`) to every time
 * an engine is given, so that none sees past it and each reads it alike.
 *
 * - an offer's `delay` past it is `maxDelay`;
 * - an offer's `runAt` past `latestRunAt` (the last instant a JavaScript
 *   `Date` holds) is `latestRunAt`: a run-at is an instant, bounded by no
 *   one's clock (a caller on a `TestClock` and a store on a real one agree
 *   on it);
 * - a retry's delay past it (a job's own `retry.base` of 1e17 ms, a pool's
 *   schedule that grew without end) is `maxDelay`;
 * - so is a lease past it (a lease is finite, but may be any length).
 *
 * Clamped, not refused: a backoff growing large is normal, and must be
 * clamped; an offer then follows the same rule, so that "far in the future"
 * has one meaning whichever way a job got there (and PostgreSQL already
 * clamped its delays and leases so). A thousand years is as good as never
 * for a job queue, and nobody is helped by a `submit` that fails on it.
 *
 * Internal: not an entry point of the package.
 */
import * as Duration from "effect/Duration"
import type { Offered } from "./Store.ts"

/**
 * The longest a job waits from when the store takes it (offer, retry,
 * lease), in milliseconds: a thousand years of 365.25 days.
 *
 * Why a thousand years: it is what PostgreSQL's statements already bounded
 * an infinite lease by; it is far past any time a job queue means; and now
 * plus it stays far inside every engine's range whatever the store's clock
 * says for the next 270,000 years (a JavaScript `Date` ends in year 275760,
 * PostgreSQL's `timestamptz` in 294276, Redis's scores are doubles, whole
 * milliseconds exact up to 2^53, about year 287000), so an engine's own
 * `now + delay` is never out of range and `lookup().runAt` is never an
 * Invalid Date. A larger bound (the last instant a `Date` holds) would
 * leave no room for that addition.
 */
export const maxDelay = 1000 * 365.25 * 24 * 3600 * 1000

/** `delay`, at most `maxDelay` (an infinite one is `maxDelay`), and at least zero (a negative retry delay is none). */
export const bounded = (delay: Duration.Duration): Duration.Duration => {
  const millis = Duration.toMillis(delay)
  return millis > maxDelay ? Duration.millis(maxDelay) : millis < 0 ? Duration.zero : delay
}

/**
 * The latest run-at a job may have, in milliseconds since the epoch: the
 * last instant a JavaScript `Date` holds (year 275760), so that
 * `lookup().runAt` is a real date; PostgreSQL's `timestamptz` and Redis's
 * scores hold it too.
 */
export const latestRunAt = 8.64e15

/** Whether `job` has a time past its bound. */
const pastBound = (job: Offered): boolean =>
  (job.delay !== undefined && job.delay > maxDelay) || (job.runAt !== undefined && job.runAt > latestRunAt)

/**
 * `jobs` (whose fields `offeredFields.ts` found right) with every delay
 * past `maxDelay` made `maxDelay`, and every run-at past `latestRunAt` made
 * `latestRunAt`; the same array when none is.
 */
export const boundedJobs = (jobs: ReadonlyArray<Offered>): ReadonlyArray<Offered> => {
  let out: Array<Offered> | undefined
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    if (!pastBound(job)) continue
    out ??= jobs.slice()
    out[i] = job.delay !== undefined && job.delay > maxDelay ? { ...job, delay: maxDelay } : { ...job, runAt: latestRunAt }
  }
  return out ?? jobs
}
