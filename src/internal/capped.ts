/**
 * A schedule whose delays never exceed a bound: the durable pool's retries
 * and its waits through a store outage both grow exponentially, up to one.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** `schedule`, its delays capped at `max`. */
export const capped = (schedule: Schedule.Schedule<unknown>, max: Duration.Duration): Schedule.Schedule<unknown> =>
  Schedule.modifyDelay(schedule, ({ duration }) => Effect.succeed(Duration.min(duration, max)))
