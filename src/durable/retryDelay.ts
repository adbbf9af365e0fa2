/**
 * The delay before a failed job's next attempt, by the pool's `retry`
 * schedule: the schedule's `attempt`-th step.
 *
 * The schedule is the user's code (`modifyDelay`, `tapOutput`, a service it
 * reads), and the settler steps it, the one fiber that tells the store how
 * every job ended. A schedule that fails, dies or has not stepped within a
 * second gives the default schedule's delay instead, with a warning: a bug
 * there costs one job a delay it did not ask for, never the
 * acknowledgements of every job after it.
 *
 * Internal: not an entry point of the package.
 */
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

/** How long a schedule may take to step to an attempt before the default's delay is used. */
export const stepBound = Duration.seconds(1)

/** The delay before the retry that follows `attempt`, by `schedule`, or else by the default (logged). */
export const retryDelay = (schedule: Schedule.Schedule<unknown, unknown>, attempt: number): Effect.Effect<Duration.Duration> =>
  stepTo(schedule, attempt).pipe(
    Effect.timeoutOrElse({
      duration: stepBound,
      orElse: () => Effect.die(`it did not step within ${Duration.format(stepBound)}`)
    }),
    Effect.catchCause((cause) =>
      Effect.andThen(
        quietly(Effect.logWarning("the retry schedule failed; the default schedule's delay is used").pipe(
          Effect.annotateLogs({ attempt, error: Failures.describe(cause) })
        )),
        stepTo(defaultRetry, attempt)
      )
    )
  )

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
