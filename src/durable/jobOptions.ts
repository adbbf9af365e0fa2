/**
 * A durable job's own options, from `submit` to the store and back: when it
 * may run (`delay`, `runAt`), its `priority`, and its own retry settings
 * (`maxAttempts`, `retry`), which the store keeps with the job as text and
 * gives back with each claim, so that whichever process runs it, however
 * many attempts later, applies them. The settings also carry the span
 * current at submit, if any, as a W3C `traceparent` (`traceparent.ts`).
 *
 * Checked with the vocabulary of `../internal/options.ts`: a wrong option is
 * a refusal naming it, before the store is asked.
 *
 * Internal: not an entry point of the package.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import {
  describe,
  duration,
  field,
  orDefault,
  positive,
  positiveInteger,
  record,
  refuse,
  refuseUnknown,
  unreadable,
  zeroOrMore
} from "../internal/options.ts"
import type * as Tracer from "effect/Tracer"
import { maxPriority, minPriority, type Offered } from "./Store.ts"
import * as Traceparent from "./traceparent.ts"

/**
 * A job's own retry delays, kept with it in the store: `base` before the
 * first retry, multiplied by `factor` before each next one, never more than
 * `max`. A `Schedule` cannot be stored, so a job's own delays are these
 * three numbers; the pool's `retry` schedule applies to jobs without.
 */
export interface Backoff {
  /** The delay before the first retry: a finite duration > 0. */
  readonly base: Duration.Input
  /** Each next delay is the previous one times this: a finite number >= 1. Default 2 (1: a fixed delay). */
  readonly factor?: number | undefined
  /** No delay is longer than this: a finite duration >= `base`. Default 5 minutes. */
  readonly max?: Duration.Input | undefined
}

/** Options of one durable job, at `submit` (all but `id` at `submitAll`, for each of its jobs). */
export interface JobOptions {
  /**
   * An idempotency key (see `Producer.submit`); `submit` only. Text every
   * store can keep: no NUL, no half of a surrogate pair, at most 1,024
   * bytes of UTF-8.
   */
  readonly id?: string | undefined
  /** Not run before this much time from now, by the store's clock. A duration >= 0. Not with `runAt`. */
  readonly delay?: Duration.Input | undefined
  /**
   * Not run before this instant, by the store's clock: a `DateTime`, a
   * `Date` or milliseconds since the epoch (one in the past: now). Not with
   * `delay`.
   */
  readonly runAt?: DateTime.DateTime | Date | number | undefined
  /** Lower runs first, strictly: an integer from -1,000 to 1,000. Default 0. */
  readonly priority?: number | undefined
  /** This job's deliveries before it is dead-lettered, instead of the pool's `maxAttempts`: an integer >= 1. */
  readonly maxAttempts?: number | undefined
  /** This job's retry delays, instead of the pool's `retry` schedule. */
  readonly retry?: Backoff | undefined
}

/** A job's own retry settings, as kept in the store (durations in milliseconds). */
export interface Settings {
  readonly maxAttempts?: number
  readonly retry?: { readonly base: number; readonly factor: number; readonly max: number }
  /** The span current when the job was offered, as a W3C `traceparent`. */
  readonly traceparent?: string
}

/** The fields of `Offered` that a job's options decide. */
export type Fields = Pick<Offered, "delay" | "runAt" | "priority" | "settings">

const known: ReadonlySet<string> = new Set(["id", "delay", "runAt", "priority", "maxAttempts", "retry"])

/** What to say of an unknown option that is a likely slip. */
const hints: Readonly<Record<string, string>> = {
  runAfter: " (use `delay` or `runAt`)",
  startAfter: " (use `delay` or `runAt`)",
  scheduledAt: " (use `runAt`)",
  at: " (use `runAt`)",
  timeout: " (a durable pool's deadline is its `jobTimeout`)",
  attempts: " (did you mean `maxAttempts`?)"
}

/** A finite duration, in milliseconds. */
const finiteMillis = (option: string, input: unknown, rule: typeof positive): number => {
  const decoded = duration(option, input, rule)
  if (!Duration.isFinite(decoded)) refuse(option, "must be finite")
  return Duration.toMillis(decoded)
}

/** `runAt` in milliseconds since the epoch. */
const instant = (input: unknown): number => {
  let millis: unknown
  try {
    millis = DateTime.isDateTime(input) ? DateTime.toEpochMillis(input) : input instanceof Date ? input.getTime() : input
  } catch (cause) {
    throw unreadable("runAt", cause)
  }
  if (typeof millis !== "number" || !Number.isFinite(millis)) {
    refuse("runAt", `must be a DateTime, a Date or milliseconds since the epoch, got ${describe(input)}`)
  }
  return millis as number
}

const priority = (input: unknown): number => {
  if (!(Number.isInteger(input) && (input as number) >= minPriority && (input as number) <= maxPriority)) {
    refuse("priority", `must be an integer from ${minPriority} to ${maxPriority}, got ${describe(input)}`)
  }
  return input as number
}

const backoff = (input: unknown): NonNullable<Settings["retry"]> => {
  const source = record("retry", input)
  const read = (key: string) => field(source, key, `retry.${key}`)
  refuseUnknown(source, new Set(["base", "factor", "max"]), "retry", { schedule: " (a job's own retry is a Backoff)" }, "retry")
  const base = finiteMillis("retry.base", read("base"), positive)
  const factorInput = orDefault(read("factor"), 2)
  if (!(typeof factorInput === "number" && Number.isFinite(factorInput) && factorInput >= 1)) {
    refuse("retry.factor", `must be a finite number >= 1, got ${describe(factorInput)}`)
  }
  const max = finiteMillis("retry.max", orDefault(read("max"), "5 minutes"), positive)
  if (max < base) refuse("retry.max", `must be at least retry.base (${base} millis), got ${max} millis`)
  return { base, factor: factorInput as number, max }
}

/**
 * Reads a job's options (`undefined`: none) into the `Offered` fields they
 * decide, refusing a wrong one by name. `id` is read elsewhere (it is
 * `submit`'s alone): here it is only refused where `allowId` is false.
 */
export const fields = (options: unknown, allowId: boolean, parent?: Tracer.AnySpan): Fields => {
  if (options === undefined) return parent === undefined ? {} : { settings: JSON.stringify({ traceparent: Traceparent.format(parent) }) }
  const source = record("options", options)
  refuseUnknown(source, known, "a durable job", hints)
  const read = (key: string) => field(source, key, key)
  if (!allowId && read("id") !== undefined) refuse("id", "is not an option of submitAll: each job gets a new id")
  const delayInput = read("delay")
  const runAtInput = read("runAt")
  if (delayInput !== undefined && runAtInput !== undefined) refuse("runAt", "cannot be given with delay: give one")
  const out: { -readonly [K in keyof Fields]: Fields[K] } = {}
  if (delayInput !== undefined) out.delay = finiteMillis("delay", delayInput, zeroOrMore)
  if (runAtInput !== undefined) out.runAt = instant(runAtInput)
  const priorityInput = read("priority")
  if (priorityInput !== undefined) out.priority = priority(priorityInput)
  const settings: { maxAttempts?: number; retry?: Settings["retry"]; traceparent?: string } = {}
  const maxAttempts = read("maxAttempts")
  if (maxAttempts !== undefined) settings.maxAttempts = positiveInteger("maxAttempts", maxAttempts)
  const retry = read("retry")
  if (retry !== undefined) settings.retry = backoff(retry)
  if (parent !== undefined) settings.traceparent = Traceparent.format(parent)
  if (settings.maxAttempts !== undefined || settings.retry !== undefined || parent !== undefined) {
    out.settings = JSON.stringify(settings)
  }
  return out
}

/** Whether `u` is a positive finite number. */
const isPositive = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u) && u > 0

/**
 * A claimed job's settings, read back. What this code did not write (text
 * of another producer, a field of the wrong kind) is left out: the pool's
 * own setting applies instead.
 */
export const parse = (text: string | undefined): Settings | undefined => {
  if (text === undefined) return undefined
  let parsed: {
    maxAttempts?: unknown
    retry?: { base?: unknown; factor?: unknown; max?: unknown }
    traceparent?: unknown
  }
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof parsed !== "object" || parsed === null) return undefined
  const { maxAttempts, retry, traceparent } = parsed
  const ownRetry = typeof retry === "object" && retry !== null && isPositive(retry.base) && isPositive(retry.max) &&
      isPositive(retry.factor)
    ? { base: retry.base, factor: retry.factor, max: retry.max }
    : undefined
  return {
    ...(Number.isSafeInteger(maxAttempts) && (maxAttempts as number) >= 1 ? { maxAttempts: maxAttempts as number } : {}),
    ...(ownRetry === undefined ? {} : { retry: ownRetry }),
    ...(typeof traceparent === "string" ? { traceparent } : {})
  }
}

/** The delay before the retry that follows `attempt` (from 1), by a job's own backoff. */
export const backoffDelay = (retry: NonNullable<Settings["retry"]>, attempt: number): Duration.Duration =>
  Duration.millis(Math.min(retry.max, retry.base * retry.factor ** (attempt - 1)))
