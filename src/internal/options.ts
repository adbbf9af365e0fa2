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
 * malformed values are not, and zero only where `allowZero` says so. A value
 * that throws when looked at (a Proxy, a getter, a fake `Duration`) is
 * refused like any other malformed one.
 */
export const decodeDuration = (
  option: string,
  input: unknown,
  options: { readonly allowZero: boolean }
): Duration.Duration | Invalid => {
  try {
    return decodeDurationOrThrow(option, input, options)
  } catch (error) {
    return { option, reason: `is not a duration (${threw(error)})` }
  }
}

const decodeDurationOrThrow = (
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

/**
 * Whether `input` can be an options object: an object, not an array. Looking
 * at a revoked Proxy throws; that is a no.
 */
export const isOptionsObject = (input: unknown): input is object => {
  if (typeof input !== "object" || input === null) return false
  try {
    return !Array.isArray(input)
  } catch {
    return false
  }
}

/** The reason for an options object that is not one. */
export const notAnObject = (option: string, input: unknown): Invalid => ({
  option,
  reason: `must be an object, got ${kindOf(input)}`
})

/** The reason for a value that is not an iterable where one belongs. */
export const notAnIterable = (option: string, input: unknown): Invalid => ({
  option,
  reason: `must be an iterable, got ${kindOf(input)}`
})

/** The reason for an option whose reading threw (a getter, a Proxy's trap). */
export const unreadable = (option: string, error: unknown): Invalid => ({
  option,
  reason: `could not be read (${threw(error)})`
})

const threw = (error: unknown): string => {
  try {
    return `it threw ${error instanceof Error ? `${error.name}: ${error.message}` : describe(error)}`
  } catch {
    return "it threw"
  }
}

/** What kind of value `input` is, for an error message. */
const kindOf = (input: unknown): string => {
  if (input === null) return "null"
  if (typeof input === "function") return "a function"
  if (typeof input !== "object") return `${typeof input} ${describe(input)}`
  try {
    return Array.isArray(input) ? "an array" : "an object"
  } catch {
    return "an object that cannot be read (a revoked Proxy)"
  }
}

/**
 * Renders a bad input for an error message. It never throws, whatever the
 * input: a Proxy whose traps throw, an object without a prototype, a getter
 * or `toString` that throws, a cycle.
 */
export const describe = (input: unknown): string => {
  try {
    if (typeof input === "string") return JSON.stringify(input)
    if (typeof input === "function") return "a function"
    if (typeof input === "bigint") return `${input}n`
    if (typeof input !== "object" || input === null || Array.isArray(input)) return String(input)
    return safeJson(input)
  } catch {
    return "a value that cannot be shown"
  }
}

const safeJson = (input: object): string => {
  try {
    const json = JSON.stringify(input)
    if (json !== undefined) return json
  } catch {
    // A cycle, a BigInt, a getter that throws: fall through.
  }
  return String(input)
}
