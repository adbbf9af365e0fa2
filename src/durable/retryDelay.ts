/**
 * The delays before a failed job's next attempts, by the pool's `retry`
 * schedule: for an attempt, the schedule's step of that number.
 *
 * The schedule is the user's code (`modifyDelay`, `tapOutput`, a service it
 * reads), and the settler steps it, the one fiber that tells the store how
 * every job ended. A schedule that fails, dies or has not given a delay
 * within a second is given up, with a warning: that retry and every later
 * one wait the default schedule's delay. A bug there costs jobs delays
 * they did not ask for, never the acknowledgements of the jobs after them,
 * nor a second's wait for each retry.
 *
 * Internal: not an entry point of the package.
 */
import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"
import { quietly } from "../internal/quietly.ts"
import * as Failures from "./failures.ts"

/** Exponential from 1 second, each delay at most 5 minutes: the `retry` option's default. */
export const defaultRetry = Schedule.exponential("1 second").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.minutes(5))))
)

/** How long a schedule may take to give a delay before it is given up. */
const stepBound = Duration.seconds(1)

/** The delay before the retry that follows an attempt, by `schedule` until it breaks, then by the default. */
export const retryDelays = (schedule: Schedule.Schedule<unknown, unknown>) => {
  let broken = false
  const giveUp = (attempt: number) => (cause: Cause.Cause<unknown>) => {
    broken = true
    return Effect.andThen(
      quietly(Effect.logWarning("the retry schedule failed; the default schedule's delays are used from now on").pipe(
        Effect.annotateLogs({ attempt, error: Failures.describe(cause) })
      )),
      stepTo(defaultRetry, attempt)
    )
  }
  return (attempt: number): Effect.Effect<Duration.Duration> =>
    broken ? stepTo(defaultRetry, attempt) : stepTo(schedule, attempt).pipe(
      Effect.timeoutOrElse({
        duration: stepBound,
        orElse: () => Effect.die(`it gave no delay within ${Duration.format(stepBound)}`)
      }),
      Effect.catchCause(giveUp(attempt))
    )
}

/** The delay `schedule` gives at its `attempt`-th step; one that ended keeps its last delay. */
const stepTo = (schedule: Schedule.Schedule<unknown, unknown>, attempt: number): Effect.Effect<Duration.Duration> =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    let delay = Duration.zero
    let now = 0
    for (let i = 1; i <= attempt; i++) {
      const result = yield* Pull.catchDone(step(now, i), () => Effect.undefined)
      if (result === undefined) break
      delay = result[1]
      now += Duration.toMillis(delay)
    }
    return delay
  })
