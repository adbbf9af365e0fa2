/**
 * Validation of what users hand the durable pool and its stores: options
 * objects, per-job options, store URLs. Each check names the option and says
 * why, so that the entry points can fail with a `PoolConfigError` before
 * anything starts, is stored or is connected.
 *
 * User-given objects are read here once, each field inside a `try`: an
 * options object may be a Proxy whose traps throw, or have a getter that
 * throws, and that must be a typed error naming it, never a defect. What the
 * checks return is plain data, read again by nobody.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import { decodeDuration, describe as describeValue, type Invalid, isInvalid } from "../internal/options.ts"
import type * as Shutdown from "../Shutdown.ts"
import type { Store } from "./Store.ts"

/** Thrown by a check, caught by `checked`: the way out of a nested check. */
class Refusal {
  readonly invalid: Invalid
  constructor(invalid: Invalid) {
    this.invalid = invalid
  }
}

/** Stops the check in progress: `option` is wrong, for `reason`. */
export const refuse = (option: string, reason: string): never => {
  throw new Refusal({ option, reason })
}

/** A thrown value's message, whatever was thrown. */
const messageOf = (cause: unknown): string => {
  try {
    return cause instanceof Error ? cause.message : String(cause)
  } catch {
    return "an exception"
  }
}

/**
 * Runs a check written with `refuse`: its result, or the `Invalid` it
 * refused with. Anything else it throws (a hostile object found a way) is
 * reported against `option` rather than escaping as a defect.
 */
export const checked = <A>(option: string, check: () => A): A | Invalid => {
  try {
    return check()
  } catch (cause) {
    if (cause instanceof Refusal) return cause.invalid
    return { option, reason: `could not be read: ${messageOf(cause)}` }
  }
}

/** Renders a bad input for an error message; never throws (a Proxy may, when rendered). */
export const describe = (input: unknown): string => {
  try {
    return describeValue(input)
  } catch {
    return typeof input
  }
}

/** What `input` is, in a word or two, for "must be an object, got ...". */
const kindOf = (input: unknown): string =>
  input === null ? "null" : Array.isArray(input) ? "an array" : typeof input === "object" ? "an object" : describe(input)

/** `input` as an object whose fields can be read, or a refusal naming `option`. */
export const record = (option: string, input: unknown): object => {
  let plain = false
  try {
    plain = typeof input === "object" && input !== null && !Array.isArray(input)
  } catch (cause) {
    // `Array.isArray` throws on a revoked Proxy.
    refuse(option, `could not be read: ${messageOf(cause)}`)
  }
  if (!plain) refuse(option, `must be an object, got ${kindOf(input)}`)
  return input as object
}

/** Reads `source[key]` once; a getter or Proxy trap that throws is a refusal naming `option`. */
export const field = (source: object, key: PropertyKey, option: string): unknown => {
  try {
    return (source as Record<PropertyKey, unknown>)[key]
  } catch (cause) {
    return refuse(option, `could not be read: ${messageOf(cause)}`)
  }
}

/** Every operation a `Store` has, in the order the contract lists them. */
const storeOperations = [
  "offer",
  "claim",
  "complete",
  "retry",
  "bury",
  "release",
  "extend",
  "counts",
  "buried"
] as const satisfies ReadonlyArray<keyof Store>

/**
 * `input` as a `Store`: each operation read once and bound to it (a store
 * written as a class keeps its `this`), so that a getter is not run again on
 * every claim.
 */
export const store = (option: string, input: unknown): Store => {
  const source = record(option, input)
  const operations: Record<string, unknown> = {}
  for (const name of storeOperations) {
    const operation = field(source, name, option)
    if (typeof operation !== "function") {
      refuse(option, `must be a Store (${storeOperations.join(", ")}): its ${name} is ${describe(operation)}`)
    }
    operations[name] = (operation as (...args: ReadonlyArray<unknown>) => unknown).bind(source)
  }
  return operations as unknown as Store
}

/**
 * Why a job id cannot be kept by every store, if it cannot: PostgreSQL holds
 * neither the NUL character nor half of a UTF-16 surrogate pair (it would
 * refuse the batch, or change the id), and an id must mean the same on
 * every engine.
 */
const unkeepableId = (id: string): string | undefined =>
  id.includes("\u0000")
    ? "must not contain the NUL character (\\u0000), which not every store can keep"
    : /\p{Cs}/u.test(id)
    ? "must not contain half of a UTF-16 surrogate pair, which not every store can keep"
    : undefined

/**
 * The id of a durable job from `submit`'s options: `options.id`, or a new
 * random UUID. `options` must be absent or an object; `id`, a string that
 * every store can keep.
 */
export const jobId = (options: unknown): string => {
  if (options === undefined) return crypto.randomUUID()
  const id = field(record("options", options), "id", "id")
  if (id === undefined) return crypto.randomUUID()
  if (typeof id !== "string") return refuse("id", `must be a string, got ${describe(id)}`)
  const unkeepable = unkeepableId(id)
  return unkeepable === undefined ? id : refuse("id", unkeepable)
}

/** `submitAll`'s payloads as an array; anything but an iterable is a refusal naming `payloads`. */
export const payloadList = <A>(payloads: Iterable<A>): ReadonlyArray<A> => {
  if (Array.isArray(payloads)) return payloads
  const iterator = payloads === null || payloads === undefined ? undefined : field(payloads, Symbol.iterator, "payloads")
  if (typeof iterator !== "function") return refuse("payloads", `must be an iterable of payloads, got ${kindOf(payloads)}`)
  try {
    return Array.from(payloads)
  } catch (cause) {
    return refuse("payloads", `could not be read: ${messageOf(cause)}`)
  }
}

/** A URL's scheme, authority and port, read without the `URL` class (which says only "Invalid URL"). */
const urlParts = /^([a-z][a-z0-9+.-]*):(?:\/\/([^/?#]*))?/i

/**
 * The connection URL of a store engine: a string, or a `Redacted` one, that
 * parses as a URL of one of `schemes` with a port from 1 to 65535 if it has
 * one. The reasons never repeat the URL: it may hold a password.
 */
export const storeUrl = (input: unknown, schemes: ReadonlyArray<string>): string => {
  const url = Redacted.isRedacted(input) ? Redacted.value(input) : input
  const expected = `a ${schemes.map((scheme) => `${scheme}://`).join(" or ")} URL`
  if (typeof url !== "string") return refuse("url", `must be ${expected}, got ${kindOf(url)}`)
  const parts = urlParts.exec(url)
  const scheme = parts?.[1]?.toLowerCase()
  if (scheme === undefined || !schemes.includes(scheme)) {
    return refuse("url", `must be ${expected}, got ${scheme === undefined ? "no scheme" : `${scheme}:`}`)
  }
  const hostAndPort = parts?.[2]?.slice(parts[2].lastIndexOf("@") + 1) ?? ""
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostAndPort)?.[1]
  if (port !== undefined && port !== "" && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return refuse("url", `has port ${JSON.stringify(port)}: a port is a number from 1 to 65535`)
  }
  if (!URL.canParse(url)) return refuse("url", `is not a valid URL (${expected} expected)`)
  return url
}

/** Whether `predicate` holds of a user-given value; one that throws (a Proxy) is a refusal naming `option`. */
export const holds = (option: string, predicate: () => boolean): boolean => {
  try {
    return predicate()
  } catch (cause) {
    return refuse(option, `could not be read: ${messageOf(cause)}`)
  }
}

/** `input` as it is, unless it is an `Invalid`: then a refusal with it. */
export const orRefuse = <A>(input: A | Invalid): A => {
  if (isInvalid(input)) refuse(input.option, input.reason)
  return input as A
}

/**
 * A shutdown policy's fields read once into a plain object (for
 * `Shutdown.resolve` to check), or `undefined` when there is none. `null`
 * is not a policy: refused, as an options object that is `null` is.
 */
export const policy = (option: string, input: unknown): Partial<Shutdown.Policy> | undefined => {
  if (input === undefined) return undefined
  const source = record(option, input)
  const timeout = field(source, "timeout", `${option}.timeout`)
  const backlog = field(source, "backlog", `${option}.backlog`)
  return {
    ...(timeout === undefined ? {} : { timeout: timeout as Duration.Input }),
    ...(backlog === undefined ? {} : { backlog: backlog as Shutdown.Policy["backlog"] })
  }
}

/** A store's timeout option: a duration greater than zero (`"Infinity"`: wait for ever), `fallback` when absent. */
export const timeoutOption = (option: string, input: unknown, fallback: Duration.Duration): Duration.Duration =>
  input === undefined ? fallback : orRefuse(decodeDuration(option, input, { allowZero: false }))

/**
 * Why a store cannot take the batch `jobs`, if one of its ids is not a
 * string (a caller of the `Store` itself, past the durable pool's checks):
 * every engine refuses it alike, before sending anything.
 */
export const nonStringId = (jobs: ReadonlyArray<{ readonly id: unknown }>): string | undefined => {
  for (const job of jobs) {
    if (typeof job.id !== "string") return `a job id must be a string, got ${describe(job.id)}`
  }
  return undefined
}
