/**
 * Validation of user-given options: each check returns the decoded value or
 * an `Invalid` that names the option and says why, so that each public entry
 * point can wrap it in its own typed error.
 *
 * @internal
 */
import * as Duration from "effect/Duration"

/** Which option is wrong, and why. */
export interface Invalid {
  readonly option: string
  readonly reason: string
}

/** Whether a check refused its input. */
export const isInvalid = (u: unknown): u is Invalid =>
  typeof u === "object" && u !== null && "option" in u && "reason" in u

const durationFields = new Set([
  "weeks",
  "days",
  "hours",
  "minutes",
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds"
])

/**
 * `Duration.fromInput` reads any object as a sum of its known fields, so that
 * `{ second: 30 }` (a typo) would silently mean zero. Only objects made of
 * known fields with finite numbers are durations here.
 */
const isDurationObject = (input: object): boolean => {
  const entries = Object.entries(input)
  return entries.length > 0 &&
    entries.every(([key, value]) => durationFields.has(key) && typeof value === "number" && Number.isFinite(value))
}

/**
 * Decodes `option` as a duration; `"Infinity"` is accepted, negative and
 * malformed values are not, and zero only where `allowZero` says so.
 */
export const decodeDuration = (
  option: string,
  input: unknown,
  options: { readonly allowZero: boolean }
): Duration.Duration | Invalid => {
  const malformed = (typeof input === "number" && Number.isNaN(input)) ||
    (typeof input === "object" && input !== null && !Duration.isDuration(input) && !Array.isArray(input) &&
      !isDurationObject(input))
  const decoded = malformed ? undefined : Duration.fromInput(input as Duration.Input)
  if (decoded === undefined || decoded._tag === "None") {
    return { option, reason: `is not a duration: ${describe(input)}` }
  }
  const duration = decoded.value
  if (Duration.isLessThan(duration, Duration.zero)) {
    return { option, reason: `must not be negative, got ${Duration.format(duration)}` }
  }
  if (!options.allowZero && Duration.isZero(duration)) return { option, reason: "must be greater than zero" }
  return duration
}

/** Renders a bad input for an error message. */
export const describe = (input: unknown): string =>
  typeof input === "string"
    ? JSON.stringify(input)
    : typeof input === "object" && input !== null && !Array.isArray(input)
    ? safeJson(input)
    : String(input)

const safeJson = (input: object): string => {
  try {
    return JSON.stringify(input)
  } catch {
    return String(input)
  }
}
