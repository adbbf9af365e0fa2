/**
 * The one vocabulary for checking what users hand the library: the options
 * of the pools and the stores, per-job options, `submitAll`'s payloads,
 * store URLs. Every entry point checks its input with these rules, so that
 * a wrong value is named and explained the same way everywhere, and the
 * entry point wraps that in a `PoolConfigError` before anything starts, is
 * accepted, stored or connected.
 *
 * One style: a rule takes the option's name and the value, and returns the
 * value it accepts or `refuse`s (throws an `Invalid`). An entry point runs
 * its rules inside `checked`, which returns the result or the `Invalid`;
 * nothing thrown leaves this module. A hot path (a job's options) uses the
 * same rules with a `try` of its own and `invalidOf`, allocating nothing
 * unless it refuses.
 *
 * User-given objects may be hostile: a Proxy whose traps throw, a getter
 * that throws, a revoked Proxy. They are read through `record` and `field`
 * (each field once, inside a `try`), and whatever they throw becomes an
 * `Invalid` naming the field, never a defect.
 *
 * Why not `Schema`: its struct parser reads the input itself, outside any
 * `try` (a revoked Proxy fails `Array.isArray`, a getter throws), so every
 * field would still have to be read by hand first; nearly every rule here
 * would be a custom filter (durations that refuse `{ second: 30 }`, stores
 * checked operation by operation, defaults that depend on another option,
 * the order that decides which option a bad bag names, unknown keys with
 * hints), its issues would have to be turned back into an option and a
 * reason; and the per-job path must stay hand-written, so Schema would make
 * two styles where this makes one.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import type * as Shutdown from "../Shutdown.ts"

// -----------------------------------------------------------------------------
// Refusals
// -----------------------------------------------------------------------------

/**
 * Which option is wrong, and why. A class of its own, branded, so that
 * telling a refusal from an accepted value never looks into that value (a
 * user's array may be a Proxy whose `has` trap throws).
 */
export class Invalid {
  /** On every `Invalid` and on nothing else: what `is` looks for. */
  readonly #brand = undefined
  readonly option: string
  readonly reason: string
  constructor(option: string, reason: string) {
    this.option = option
    this.reason = reason
  }
  /** Whether `u` is an `Invalid`; no trap of a Proxy is run. */
  static is(u: unknown): u is Invalid {
    return typeof u === "object" && u !== null && #brand in u
  }
}

/** Whether a check refused its input. */
export const isInvalid = (u: unknown): u is Invalid => Invalid.is(u)

/** Stops the check in progress: `option` is wrong, for `reason`. */
export const refuse = (option: string, reason: string): never => {
  throw new Invalid(option, reason)
}

/** The refusal for an option whose reading threw (a getter, a Proxy's trap). */
export const unreadable = (option: string, error: unknown): Invalid =>
  new Invalid(option, `could not be read (${threw(error)})`)

/**
 * What `cause`, thrown while checking `option`, means: the refusal itself,
 * or, for anything else (a hostile object found a way), that `option` could
 * not be read.
 */
export const invalidOf = (option: string, cause: unknown): Invalid =>
  isInvalid(cause) ? cause : unreadable(option, cause)

/** Runs a check written with `refuse`: its result, or the `Invalid` it refused with. */
export const checked = <A>(option: string, check: () => A): A | Invalid => {
  try {
    return check()
  } catch (cause) {
    return invalidOf(option, cause)
  }
}

/** `input` as it is, unless it is an `Invalid`: then a refusal with it. */
export const orRefuse = <A>(input: A | Invalid): A => {
  if (isInvalid(input)) throw input
  return input
}

// -----------------------------------------------------------------------------
// Reading user-given objects
// -----------------------------------------------------------------------------

/**
 * Whether `input` can be an options object: an object, not an array. Looking
 * at a revoked Proxy throws; that is a no.
 */
const isOptionsObject = (input: unknown): input is object => {
  if (typeof input !== "object" || input === null) return false
  try {
    return !Array.isArray(input)
  } catch {
    return false
  }
}

/** `input` as an object whose fields can be read, or a refusal naming `option`. */
export const record = (option: string, input: unknown): object =>
  isOptionsObject(input) ? input : refuse(option, `must be an object, got ${kindOf(input)}`)

/** Reads `source[key]` once; a getter or Proxy trap that throws is a refusal naming `option`. */
export const field = (source: object, key: PropertyKey, option: string): unknown => {
  try {
    return (source as Record<PropertyKey, unknown>)[key]
  } catch (cause) {
    throw unreadable(option, cause)
  }
}

/** Whether `predicate` holds of a user-given value; one that throws (a Proxy) is a refusal naming `option`. */
export const holds = (option: string, predicate: () => boolean): boolean => {
  try {
    return predicate()
  } catch (cause) {
    throw unreadable(option, cause)
  }
}

/** `input`, or `fallback` when it is absent (`undefined`; `null` is a value, and checked as one). */
export const orDefault = (input: unknown, fallback: unknown): unknown => input === undefined ? fallback : input

// -----------------------------------------------------------------------------
// Rules for values
// -----------------------------------------------------------------------------

/** What a handler must be. */
export const effectFunction = "a function returning an Effect"

/** What `onShutdown` must be. */
export const reportFunction = "a function of the report returning an Effect"

/** `input` if `is` holds of it (even when it is a Proxy), else a refusal saying it must be `what`. */
export const must = <A>(option: string, input: unknown, is: (u: unknown) => u is A, what: string): A =>
  holds(option, () => is(input)) ? input as A : refuse(option, `must be ${what}, got ${describe(input)}`)

/** Whether `u` is a function (of any kind: the type system says which). */
export const isFunction = (u: unknown): u is (...args: ReadonlyArray<never>) => unknown => typeof u === "function"

/** Whether `u` is `true` or `false`. */
export const isBoolean = (u: unknown): u is boolean => typeof u === "boolean"

/** Whether `n` is an integer >= 1, one that a number holds exactly. */
export const isPositiveInteger = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1

/** An integer >= 1. */
export const positiveInteger = (option: string, input: unknown): number =>
  isPositiveInteger(input) ? input : refuse(option, `must be an integer >= 1, got ${describe(input)}`)

/** `n` (already checked as a number), unless it is more than `most`. */
export const atMost = (option: string, n: number, most: number): number =>
  n <= most ? n : refuse(option, `must be at most ${most}, got ${n}`)

/** One of `choices`, which the reason lists. */
export const oneOf = <const C extends string>(option: string, input: unknown, choices: ReadonlyArray<C>): C =>
  choices.includes(input as C)
    ? input as C
    : refuse(option, `must be ${choices.map((choice) => JSON.stringify(choice)).join(" or ")}, got ${describe(input)}`)

/** A string that is not empty. */
export const nonEmptyString = (option: string, input: unknown): string =>
  typeof input === "string" && input.length > 0 ? input : refuse(option, `must be a non-empty string, got ${describe(input)}`)

/**
 * Refuses the first key of `source` not in `known`, named after `parent`
 * when it is a nested option's (`shutdown.timout`): `hints` says what to
 * use instead, for likely slips. Ignored, a slip would leave the default in
 * force without a word.
 */
export const refuseUnknown = (
  source: object,
  known: ReadonlySet<string>,
  owner: string,
  hints: Readonly<Record<string, string>>,
  parent?: string
): void => {
  // A Proxy's `ownKeys` trap may throw: that is the option itself unreadable, named as such.
  const keys = readKeys(source, parent ?? "options")
  for (const key of keys) {
    // A key given as `undefined` says nothing (a spread of optional fields): as if absent.
    if (!known.has(key) && field(source, key, parent === undefined ? key : `${parent}.${key}`) !== undefined) {
      refuse(parent === undefined ? key : `${parent}.${key}`, `is not an option of ${owner}${Object.hasOwn(hints, key) ? hints[key] : ""}`)
    }
  }
}

/** `source`'s own keys, or a refusal naming `option` if listing them throws. */
const readKeys = (source: object, option: string): ReadonlyArray<string> => {
  try {
    return Object.keys(source)
  } catch (cause) {
    throw unreadable(option, cause)
  }
}

// -----------------------------------------------------------------------------
// Durations
// -----------------------------------------------------------------------------

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

/** Which durations an option takes: zero ("do not wait") only where it means something. */
export interface DurationRule {
  readonly allowZero: boolean
}

/** Durations greater than zero. */
export const positive: DurationRule = { allowZero: false }

/** Durations from zero on: a shutdown's timeout, where zero means "do not wait". */
export const zeroOrMore: DurationRule = { allowZero: true }

/**
 * `input` as a duration; `"Infinity"` is accepted, negative and malformed
 * values are not, and zero only where `rule` says so. A value that throws
 * when looked at (a Proxy, a getter, a fake `Duration`) is refused like any
 * other malformed one.
 */
export const duration = (option: string, input: unknown, rule: DurationRule): Duration.Duration => {
  let decoded: Duration.Duration | undefined
  try {
    decoded = decodeDuration(input)
  } catch (error) {
    return refuse(option, `is not a duration (${threw(error)})`)
  }
  if (decoded === undefined) return refuse(option, `is not a duration: ${describe(input)}`)
  if (Duration.isLessThan(decoded, Duration.zero)) {
    return refuse(option, `must not be negative, got ${Duration.format(decoded)}`)
  }
  if (!rule.allowZero && Duration.isZero(decoded)) {
    // A positive amount under a nanosecond is zero once a Duration: say so, not "greater than zero".
    return refuse(option, typeof input === "number" && input > 0 ? `must be at least 1 nanosecond, got ${input} ms` : "must be greater than zero")
  }
  return decoded
}

/** `input` decoded as a duration, `undefined` if it is none; may throw (a hostile object). */
const decodeDuration = (input: unknown): Duration.Duration | undefined => {
  // NaN is no duration, alone or inside a `[seconds, nanos]` pair (which `Duration` would read as zero).
  const malformed = (typeof input === "number" && Number.isNaN(input)) ||
    (Array.isArray(input) && input.some((part) => typeof part === "number" && Number.isNaN(part))) ||
    (typeof input === "object" && input !== null && !Duration.isDuration(input) && !Array.isArray(input) &&
      !isDurationObject(input))
  const decoded = malformed ? undefined : Duration.fromInput(input as Duration.Input)
  return decoded === undefined || decoded._tag === "None" ? undefined : decoded.value
}

/** A store's timeout option: a duration greater than zero (`"Infinity"`: wait for ever), `fallback` when absent. */
export const timeoutOption = (option: string, input: unknown, fallback: Duration.Duration): Duration.Duration =>
  input === undefined ? fallback : duration(option, input, positive)

/**
 * A store's `connectTimeout`: a `timeoutOption` that is finite. Its start
 * against a server that cannot be reached must fail at some point, and
 * `Config.Number` reads a number such as "1e309" as `Infinity`.
 */
export const connectTimeoutOption = (input: unknown, fallback: Duration.Duration): Duration.Duration => {
  const timeout = timeoutOption("connectTimeout", input, fallback)
  return Duration.isFinite(timeout)
    ? timeout
    : refuse("connectTimeout", "must be finite: a start against a server that cannot be reached must fail")
}

// -----------------------------------------------------------------------------
// Bags shared by the pools
// -----------------------------------------------------------------------------

/** A shutdown policy's fields: any other key is a slip. */
const policyKeys: ReadonlySet<string> = new Set(["timeout", "backlog"] satisfies ReadonlyArray<keyof Shutdown.Policy>)

/**
 * A shutdown policy's fields read once into a plain object, or `undefined`
 * when there is none. `null` is not a policy: refused, as an options object
 * that is `null` is. The fields are checked when the policy is resolved.
 */
export const policy = (option: string, input: unknown): Partial<Shutdown.Policy> | undefined => {
  if (input === undefined) return undefined
  const source = record(option, input)
  const timeout = field(source, "timeout", `${option}.timeout`)
  const backlog = field(source, "backlog", `${option}.backlog`)
  refuseUnknown(source, policyKeys, option, {}, option)
  return {
    ...(timeout === undefined ? {} : { timeout: timeout as Duration.Input }),
    ...(backlog === undefined ? {} : { backlog: backlog as Shutdown.Policy["backlog"] })
  }
}

/**
 * `submitAll`'s payloads (or another list argument, `option`), to be read by index: an array as it is (the fast
 * path: nothing copied, read as the batch is accepted), any other iterable
 * read in full now, its `Symbol.iterator` read once.
 */
export const payloadList = <A>(payloads: Iterable<A>, option = "payloads"): ReadonlyArray<A> => {
  try {
    if (Array.isArray(payloads)) return payloads
    if (typeof payloads === "string") return Array.from(payloads)
    if ((typeof payloads !== "object" || payloads === null) && typeof payloads !== "function") {
      return refuse(option, `must be an iterable, got ${kindOf(payloads)}`)
    }
    const iterate: unknown = payloads[Symbol.iterator]
    if (typeof iterate !== "function") return refuse(option, `must be an iterable, got ${kindOf(payloads)}`)
    return Array.from({ [Symbol.iterator]: () => iterate.call(payloads) as Iterator<A> })
  } catch (cause) {
    throw invalidOf(option, cause)
  }
}

// -----------------------------------------------------------------------------
// Durable jobs and stores
// -----------------------------------------------------------------------------

/**
 * The most bytes of UTF-8 a durable job's id may take. PostgreSQL keys its
 * jobs by `(id, queue)` in a btree, one entry of which holds at most 2,704
 * bytes (a third of an 8 KB page, less its headers): a longer key is
 * refused at the insert ("index row size ... exceeds btree maximum"), and
 * only when it does not compress, so that a long id of repeated letters
 * would pass and a random one of the same length fail. An id of at most
 * `maxJobIdBytes` with a queue name of at most `maxQueueBytes` makes an
 * entry of at most 1,536 bytes of text and a few of headers: a thousand
 * bytes to spare, never near the limit whatever the text. Redis and
 * memory have no such limit; the same limit holds on every store, so that
 * an id means the same whichever engine a deployment moves to.
 */
export const maxJobIdBytes = 1_024

/**
 * The most bytes of UTF-8 a queue's name may take: the other half of the
 * jobs' key (`maxJobIdBytes`), and the head of every other index of the
 * jobs table and of the counts table's key `(queue, shard)`, all far below
 * the limit at this length. Smaller than an id's: a queue's name is chosen
 * by a programmer, and is also a label of every store metric and span, and
 * the payload of PostgreSQL's wakeup notifications; an id may carry a
 * caller's key (an order number, a hash, a URL).
 */
export const maxQueueBytes = 512

/**
 * Why `text` is not text every store can keep, at most `maxBytes` bytes of
 * UTF-8, if it is not: PostgreSQL holds neither the NUL character nor half
 * of a UTF-16 surrogate pair (it would refuse the batch, or read it as
 * U+FFFD, so that `X\ud800` and `X\udbff` would be one name), nor a key
 * longer than its index takes (`maxJobIdBytes`). A name or an id must mean
 * the same on every engine, so every engine refuses them alike. `why`
 * follows the limit in the reason.
 */
export const unkeepableText = (text: string, maxBytes: number, why = ""): string | undefined => {
  if (text.includes("\u0000")) return "must not contain the NUL character (\\u0000), which not every store can keep"
  if (/\p{Cs}/u.test(text)) return "must not contain half of a UTF-16 surrogate pair, which not every store can keep"
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a pair, 4 for 2): short text needs no counting.
  if (text.length * 3 <= maxBytes) return undefined
  const bytes = Buffer.byteLength(text, "utf8")
  return bytes > maxBytes ? `must be at most ${maxBytes} bytes of UTF-8${why}, got ${bytes}` : undefined
}

/**
 * `text` as every store keeps it: without the NUL character (which
 * PostgreSQL cannot store), half a UTF-16 surrogate pair as U+FFFD (as Redis
 * and PostgreSQL would store it).
 */
export const keptText = (text: string): string => text.replaceAll("\u0000", "").replace(/\p{Cs}/gu, "\uFFFD")

/** A job's id: a string. */
export const jobIdString = (input: unknown): string =>
  typeof input === "string" ? input : refuse("id", `must be a string, got ${describe(input)}`)

/**
 * A durable job's id, the option named `option`: a string every store can
 * keep, at most `maxJobIdBytes` bytes of UTF-8. An id no store keeps names
 * no job: asked about anyway, PostgreSQL would read half a surrogate pair
 * as U+FFFD, another job's id.
 */
export const keepableJobId = (input: unknown, option = "id"): string => {
  if (typeof input !== "string") return refuse(option, `must be a string, got ${describe(input)}`)
  const unkeepable = unkeepableText(input, maxJobIdBytes)
  return unkeepable === undefined ? input : refuse(option, unkeepable)
}

/**
 * A queue's name, the option named `option`: a non-empty string every
 * store can keep, at most `maxQueueBytes` bytes of UTF-8.
 */
export const keepableQueue = (input: unknown, option = "queue"): string => {
  const queue = nonEmptyString(option, input)
  const unkeepable = unkeepableText(queue, maxQueueBytes)
  return unkeepable === undefined ? queue : refuse(option, unkeepable)
}

/**
 * Why a store cannot take `queue` as a queue's name, if it cannot (a caller
 * of the `Store` itself, past the durable pool's checks): `keepableQueue`'s
 * rule, said of "the queue's name". Every engine refuses it alike, before
 * sending anything.
 */
export const unkeepableQueue = (queue: unknown): string | undefined => {
  if (typeof queue !== "string" || queue.length === 0) {
    return `the queue's name must be a non-empty string, got ${describe(queue)}`
  }
  const unkeepable = unkeepableText(queue, maxQueueBytes)
  return unkeepable === undefined ? undefined : `the queue's name ${unkeepable}`
}

/**
 * The id a caller gave a durable job in `submit`'s options (`options.id`),
 * or none: the producer makes one. `options` must be absent or an object;
 * `id`, a string that every store can keep.
 */
export const givenJobId = (options: unknown): string | undefined => {
  if (options === undefined) return undefined
  const id = field(record("options", options), "id", "id")
  return id === undefined ? undefined : keepableJobId(id)
}

/**
 * Why a store cannot take the batch `jobs`, if one of its ids is not a
 * string, or not text every store can keep (`keepableJobId`'s rule): a
 * caller of the `Store` itself, past the durable pool's checks. Every
 * engine refuses it alike, before sending anything, and a long id is shown
 * by its head.
 */
export const unkeepableJobId = (jobs: ReadonlyArray<{ readonly id: unknown }>): string | undefined => {
  for (const job of jobs) {
    if (typeof job.id !== "string") return `a job id must be a string, got ${describe(job.id)}`
    const unkeepable = unkeepableText(job.id, maxJobIdBytes)
    if (unkeepable !== undefined) {
      const shown = job.id.length > 64 ? `${JSON.stringify(job.id.slice(0, 64))}...` : JSON.stringify(job.id)
      return `the job id ${shown} ${unkeepable}`
    }
  }
  return undefined
}

/** A URL's scheme, authority and port, read without the `URL` class (which says only "Invalid URL"). */
const urlParts = /^([a-z][a-z0-9+.-]*):(?:\/\/([^/?#]*))?/i

/**
 * The connection URL of a store engine (the `option` so named): a string,
 * or a `Redacted` one, that parses as a URL of one of `schemes` with a port
 * from 1 to 65535 if it has one. The reasons never repeat the URL: it may
 * hold a password.
 */
export const storeUrl = (input: unknown, schemes: ReadonlyArray<string>, option = "url"): string => {
  // A Proxy's trap may throw even here: a refusal naming the option, never a defect.
  const url = holds(option, () => Redacted.isRedacted(input)) ? Redacted.value(input as Redacted.Redacted<unknown>) : input
  const expected = `a ${schemes.map((scheme) => `${scheme}://`).join(" or ")} URL`
  if (typeof url !== "string") return refuse(option, `must be ${expected}, got ${kindOf(url)}`)
  const parts = urlParts.exec(url)
  const scheme = parts?.[1]?.toLowerCase()
  if (scheme === undefined || !schemes.includes(scheme)) {
    return refuse(option, `must be ${expected}, got ${scheme === undefined ? "no scheme" : `${scheme}:`}`)
  }
  const hostAndPort = parts?.[2]?.slice(parts[2].lastIndexOf("@") + 1) ?? ""
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostAndPort)?.[1]
  if (port !== undefined && port !== "" && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return refuse(option, `has port ${JSON.stringify(port)}: a port is a number from 1 to 65535`)
  }
  if (!URL.canParse(url)) return refuse(option, `is not a valid URL (${expected} expected)`)
  return url
}

// -----------------------------------------------------------------------------
// Describing bad input
// -----------------------------------------------------------------------------

const threw = (error: unknown): string => {
  try {
    return `it threw ${error instanceof Error ? `${error.name}: ${error.message}` : describe(error)}`
  } catch {
    return "it threw"
  }
}

/** What kind of value `input` is, for "must be an object, got ...". */
const kindOf = (input: unknown): string => {
  if (typeof input !== "object" || input === null) return describe(input)
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
    if (typeof input === "string") return shortened(JSON.stringify(input))
    if (typeof input === "function") return "a function"
    if (typeof input === "bigint") return shortened(`${input}n`)
    // As JSON, an invalid Date is "null": the one value it is not.
    if (input instanceof Date) return Number.isNaN(input.getTime()) ? "an invalid Date" : input.toISOString()
    if (typeof input !== "object" || input === null || Array.isArray(input)) return shortened(String(input))
    return shortened(safeJson(input))
  } catch {
    return "a value that cannot be shown"
  }
}

/**
 * A thrown value as text, for a message: `String(cause)`, or, for a value
 * that cannot be made a string (no prototype, a `toString` that throws),
 * `describe`'s words. Never throws: a message about a failure must not fail.
 */
export const safeString = (cause: unknown): string => {
  try {
    return String(cause)
  } catch {
    return describe(cause)
  }
}

/** What a failure says: an `Error`'s message, else the thrown value as `safeString` writes it. */
export const messageOf = (cause: unknown): string => cause instanceof Error ? cause.message : safeString(cause)

/** The most characters of a value a message shows: a list of 100,000 ids is not a message. */
export const shownAtMost = 200

/** `text`, or its first `shownAtMost` characters (never half a surrogate pair) and its length. */
const shortened = (text: string): string => {
  if (text.length <= shownAtMost) return text
  const end = /[\uD800-\uDBFF]/.test(text[shownAtMost - 1]!) ? shownAtMost - 1 : shownAtMost
  return `${text.slice(0, end)}… (${text.length} characters)`
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
