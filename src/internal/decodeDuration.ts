/**
 * Decoding of user-supplied durations into either a `Duration` or the reason
 * it is not acceptable, so that each caller can wrap the reason in its own
 * typed error.
 *
 * @internal
 */
import * as Duration from "effect/Duration"

/**
 * Decodes `input` as a duration; `"Infinity"` is accepted, negative and
 * malformed values are not, and zero only where `allowZero` says so.
 */
export const decodeDuration = (
  input: unknown,
  options: { readonly allowZero: boolean }
): Duration.Duration | string => {
  const decoded = typeof input === "number" && Number.isNaN(input)
    ? undefined
    : Duration.fromInput(input as Duration.Input)
  if (decoded === undefined || decoded._tag === "None") return `is not a duration: ${describe(input)}`
  const duration = decoded.value
  if (Duration.isLessThan(duration, Duration.zero)) return `must not be negative, got ${Duration.format(duration)}`
  if (!options.allowZero && Duration.isZero(duration)) return "must be greater than zero"
  return duration
}

/** Renders a bad input for an error message. */
export const describe = (input: unknown): string =>
  typeof input === "string" ? JSON.stringify(input) : String(input)
