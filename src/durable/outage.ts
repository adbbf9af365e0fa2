/**
 * How the durable pool's background work waits out a store that fails: one
 * backoff schedule, one rule for which failures are worth retrying, and the
 * two ways an operation is retried (until it succeeds, or a few times).
 * The fetcher, the settler and the heartbeat all use it.
 *
 * Internal: not an entry point of the package.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { quietly } from "../internal/quietly.ts"
import type { StoreError } from "./Store.ts"

const firstDelay = Duration.millis(100)
const longestDelay = Duration.seconds(5)

/** The delays between tries while the store fails: 100 ms, doubling, at most 5 s, for ever. */
export const backoff: Schedule.Schedule<unknown> = Schedule.exponential(firstDelay).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, longestDelay)))
)

/** The backoff's longest delay, in milliseconds. */
export const longestDelayMillis = Duration.toMillis(longestDelay)

/** The backoff's delay after `failures` (>= 1) failures in a row, for a loop that counts them itself. */
export const delayAfter = (failures: number): Duration.Duration =>
  Duration.min(Duration.times(firstDelay, 2 ** Math.min(failures - 1, 16)), longestDelay)

/** Whether a failed store operation is worth trying again: the store says so (a refusal it will repeat is not). */
const retryable = (error: StoreError): boolean => error.retryable

/** How many more times an ending of one job is tried (about 20 seconds of backoff) before its lease is left to run out. */
const triesOfOne = 9

/**
 * What the store answered, and whether a try before it failed in a way
 * that may still have been carried out (a failure worth retrying: a
 * timeout, a lost connection), so that the answer may be to an operation
 * that already happened.
 */
export interface Answered<A> {
  readonly value: A
  readonly afterUnanswered: boolean
}

/**
 * Tries `effect`, logging each failure, again and again through an outage
 * (at most `times` more, if given). When it gives up (a failure not worth
 * retrying, or `times` used up), the failure is logged as an error saying
 * what is `lost` (the leases it was about run out, and their jobs come
 * back), and swallowed; after a failure worth retrying that try may still
 * be carried out (Redis runs the commands it held once it answers again;
 * PostgreSQL keeps a statement that ended before its cancel reached it),
 * and the error says so. Its answer, or none once given up.
 */
const retried = <A>(
  what: string,
  effect: Effect.Effect<A, StoreError>,
  { lost, times }: { readonly lost: string; readonly times?: number }
): Effect.Effect<Option.Option<Answered<A>>> =>
  Effect.suspend(() => {
    let failures = 0
    let unanswered = false
    // A warning only for a failure that will be tried again: the last is the error below.
    const willRetry = (error: StoreError) => {
      unanswered ||= retryable(error)
      return retryable(error) && (times === undefined || ++failures <= times)
    }
    const givenUp = (error: StoreError) =>
      `${what} failed: ${error.message}; ${lost}${unanswered ? ", unless a try left unanswered still reaches the store" : ""}`
    return Effect.map(effect, (value) => Option.some({ value, afterUnanswered: unanswered })).pipe(
      Effect.tapError((error) =>
        willRetry(error) ? quietly(Effect.logWarning(`${what} failed; retrying`, error.message)) : Effect.void
      ),
      Effect.retry({ schedule: backoff, while: retryable, times }),
      Effect.catch((error) => Effect.as(quietly(Effect.logError(givenUp(error))), Option.none()))
    )
  })

/** Retries `effect` for as long as the store fails with an outage. */
export const throughOutage = (what: string, effect: Effect.Effect<void, StoreError>): Effect.Effect<void> =>
  Effect.asVoid(retried(what, effect, { lost: "their leases will run out instead" }))

/**
 * Retries an ending of one job a few times, then gives up on it (its lease
 * runs out and the job comes back, unless a try left unanswered is carried
 * out): a store that keeps refusing one operation must not hold up the
 * acknowledgements behind it. Its answer, or none once given up.
 */
export const persistently = <A>(
  what: string,
  effect: Effect.Effect<A, StoreError>
): Effect.Effect<Option.Option<Answered<A>>> =>
  retried(what, effect, { lost: "its lease will run out instead", times: triesOfOne })
