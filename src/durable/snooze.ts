/**
 * A snooze: a handler that cannot do its job yet (a rate limit upstream, a
 * resource not ready, a time window not open) says "ask me again in this
 * long", and the delivery is not counted: the job waits that long and comes
 * back with the same attempt number, no attempt of its `maxAttempts` spent.
 * A failure, by contrast, spends an attempt and waits the retry's backoff.
 *
 * Internal: not an entry point of the package (`Durable` exports `Snooze`
 * and `snooze`).
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Checks from "../internal/options.ts"
import { configError } from "../internal/poolOptions.ts"

/**
 * What a handler fails with to snooze its job for `millis` milliseconds
 * (made by `snooze`). The delay is kept as a number, so that it crosses from
 * a thread as it is.
 */
export class Snooze extends Schema.TaggedError<Snooze>()("Snooze", {
  millis: Schema.Number
}) {
  override get message(): string {
    return `snoozed for ${Duration.format(Duration.millis(this.millis))}: delivered again then, the attempt not counted`
  }
}

/**
 * Fails the delivery with a `Snooze` of `delay` (a finite duration of zero
 * or more): the job is delivered again once it has passed, as the same
 * attempt. A delay that is not one is a defect naming it, as a bad option
 * is: the delivery then ends as a defect does (an attempt spent).
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Durable } from "effect-worker-pool"
 *
 * declare const slotsLeft: Effect.Effect<number>
 *
 * const handler = () =>
 *   Effect.flatMap(slotsLeft, (left) => left > 0 ? Effect.log("working") : Durable.snooze("30 seconds"))
 * ```
 */
export const snooze = (delay: Duration.Input): Effect.Effect<never, Snooze> =>
  Effect.suspend(() => {
    const checked = Checks.checked("delay", () => {
      const given = Checks.duration("delay", delay, Checks.zeroOrMore)
      return Duration.isFinite(given) ? given : Checks.refuse("delay", "must be finite (a job snoozed for ever would never run again, nor end)")
    })
    return Checks.isInvalid(checked) ? Effect.die(configError(checked)) : Effect.fail(new Snooze({ millis: Duration.toMillis(checked) }))
  })

/**
 * The delay of the snooze `cause` failed with, if it failed with one: a
 * `Snooze`, or its copy from a thread (its tag and fields only), whose
 * `millis` is a finite number of zero or more. Any other failure, or a
 * snooze of another delay (made by hand), is not a snooze: it is retried
 * as a failure.
 */
export const snoozedFor = (cause: Cause.Cause<unknown>): Duration.Duration | undefined => {
  const error = Cause.findErrorOption(cause)
  if (Option.isNone(error)) return undefined
  const found = error.value
  if (typeof found !== "object" || found === null) return undefined
  try {
    const { _tag, millis } = found as { readonly _tag?: unknown; readonly millis?: unknown }
    return _tag === "Snooze" && typeof millis === "number" && Number.isFinite(millis) && millis >= 0
      ? Duration.millis(millis)
      : undefined
  } catch {
    return undefined
  }
}
