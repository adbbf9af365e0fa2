/**
 * A periodic declaration's options (`Periodic.declare`, `Periodic.layer`):
 * read once, checked with the vocabulary of `../../internal/options.ts`,
 * their defaults applied. A wrong one is a refusal naming it, before
 * anything ticks.
 *
 * Internal: not an entry point of the package.
 */
import * as Cron from "effect/Cron"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import {
  checked,
  describe,
  duration,
  field,
  holds,
  type Invalid,
  maxJobIdBytes,
  nonEmptyString,
  oneOf,
  orDefault,
  record,
  refuse,
  refuseUnknown,
  safeString,
  unkeepableText,
  zeroOrMore
} from "../../internal/options.ts"
import { type ProducerConfig, producerFields } from "../config.ts"
import * as JobFields from "../jobOptions.ts"
import { jsonCodec, suspended } from "../payloadCodec.ts"
import * as Ticks from "./ticks.ts"

/** What `missed` may be: run the most recent missed tick once, late, or not at all. */
export type Missed = "runOnce" | "skip"

/** A declaration's options, checked and read once, with their defaults. */
export interface PeriodicConfig<A, I> extends ProducerConfig<A, I> {
  readonly name: string
  /** The schedule, with its time zone (UTC when none was given). */
  readonly cron: Cron.Cron
  /** Each tick's payload (a plain value is the same for every tick). */
  readonly payload: (tick: DateTime.Utc) => A
  readonly missed: Missed
  /** How far back `runOnce` looks on a start, in milliseconds. */
  readonly catchUp: number
  /** Each tick's job options but its `id` and `runAt`: `priority`, `maxAttempts`, `retry`, as read once. */
  readonly jobOptions: JobFields.JobOptions
}

/** Every option `declare` reads: any other key is a mistake (a typo would otherwise be ignored). */
const knownOptions: ReadonlySet<string> = new Set([
  "store",
  "queue",
  "schema",
  "name",
  "cron",
  "timeZone",
  "payload",
  "missed",
  "catchUp",
  "priority",
  "maxAttempts",
  "retry"
])

/** What to say of an unknown option that is a likely slip. */
const instead: Readonly<Record<string, string>> = {
  schedule: " (use `cron`)",
  tz: " (use `timeZone`)",
  timezone: " (use `timeZone`)",
  id: " (each tick's id is `Periodic.tickId(name, tick)`)",
  delay: " (each tick's job runs at its tick)",
  runAt: " (each tick's job runs at its tick)",
  catchup: " (did you mean `catchUp`?)",
  onMissed: " (use `missed`)"
}

/**
 * The longest a tick's id is beside its name: `periodic:`, `@` and the
 * tick's ISO time, at most 27 characters (`+275760-09-13T00:00:00.000Z`, a
 * `Date`'s last one, is the longest `toISOString` writes; a tick of a year
 * from 0 to 9999 takes 24).
 */
const tickIdOverhead = Buffer.byteLength(Ticks.tickId("", new Date(8.64e15)), "utf8")

/**
 * The most bytes of UTF-8 a declaration's name may take: each tick's id,
 * `periodic:<name>@<time>`, must be a job id every store keeps, at most
 * `maxJobIdBytes` (987 bytes).
 */
const maxNameBytes = maxJobIdBytes - tickIdOverhead

/**
 * The declaration's name: part of every tick's id, so it must be text every
 * store can keep in an id (no NUL, no half of a surrogate pair), short
 * enough that every tick's id is at most `maxJobIdBytes`.
 */
const name = (input: unknown): string => {
  const given = nonEmptyString("name", input)
  const unkeepable = unkeepableText(
    given,
    maxNameBytes,
    ` (each tick's id, periodic:<name>@<time>, is a job id of at most ${maxJobIdBytes})`
  )
  return unkeepable === undefined ? given : refuse("name", unkeepable)
}

// The checks read the value (a Proxy's trap may throw): such a value is refused by name.
const isTimeZone = (input: unknown): input is DateTime.TimeZone => holds("timeZone", () => DateTime.isTimeZone(input))
const isCron = (input: unknown): input is Cron.Cron => holds("cron", () => Cron.isCron(input))

/** The time zone of a cron string: a zone id (`Europe/Paris`), an offset (`+02:00`) or a `TimeZone`. Default UTC. */
const timeZone = (input: unknown): DateTime.TimeZone => {
  if (input === undefined) return DateTime.zoneMakeNamedUnsafe("UTC")
  if (isTimeZone(input)) return placeable(input, input)
  if (typeof input !== "string") return refuse("timeZone", `must be a time zone id or a TimeZone, got ${describe(input)}`)
  const zone = DateTime.zoneFromString(input)
  if (zone._tag === "None") return refuse("timeZone", `is not a time zone this runtime knows: ${describe(input)}`)
  return placeable(zone.value, input)
}

/**
 * `zone`, unless it is an offset no place has (`given` is what the caller
 * wrote, as `option`): more than 14 hours from UTC, or not a number.
 */
const placeable = (zone: DateTime.TimeZone, given: unknown, option = "timeZone"): DateTime.TimeZone =>
  DateTime.isTimeZoneOffset(zone) && !(Math.abs(zone.offset) <= maxOffsetMillis)
    ? refuse(option, `has an offset no place has (none is more than 14 hours from UTC): ${describe(given)}`)
    : zone

/** The largest offset from UTC of any place (Kiribati's +14:00). */
const maxOffsetMillis = 14 * 60 * 60 * 1000

/**
 * The schedule: a cron string read in `timeZone`, or a `Cron` (which has
 * its own time zone, so none may be given beside it). A `Cron` made without
 * a time zone is read in UTC, not the host's zone: every process that
 * declares it must compute the same ticks, wherever it runs.
 */
const schedule = (cronInput: unknown, timeZoneInput: unknown): Cron.Cron => {
  if (isCron(cronInput)) {
    if (timeZoneInput !== undefined) {
      refuse("timeZone", "is for a cron string: a Cron carries its own time zone (Cron.parse(expression, timeZone))")
    }
    if (cronInput.tz._tag === "None") return Cron.make({ ...cronInput, tz: DateTime.zoneMakeNamedUnsafe("UTC") })
    placeable(cronInput.tz.value, cronInput.tz.value, "cron")
    return cronInput
  }
  if (typeof cronInput !== "string") {
    return refuse("cron", `must be a cron expression or a Cron, got ${describe(cronInput)}`)
  }
  const zone = timeZone(timeZoneInput)
  const parsed = Cron.parse(cronInput, zone)
  return parsed._tag === "Success"
    ? parsed.success
    : refuse("cron", `is not a cron expression (${parsed.failure.message}): ${describe(cronInput)}`)
}

/** Refuses a schedule with no tick around `now` (the 30th of February): it would never run. */
const ticking = (cron: Cron.Cron, now: number): void => {
  try {
    Ticks.firstAtOrAfter(cron, now)
    Ticks.before(cron, now)
  } catch {
    refuse("cron", "never matches a date: it has no tick to run")
  }
}

/**
 * Each tick's payload. A function is called with the tick; anything else is
 * the payload of every tick, and checked against the schema now, since it
 * would be refused at every tick. A schema whose encoding suspends cannot be
 * checked now (this is synchronous): each tick's offer encodes the payload,
 * as `submit` does, and a refusal is logged for that tick.
 */
const payload = <A, I>(input: unknown, schema: Schema.Codec<A, I>): (tick: DateTime.Utc) => A => {
  if (typeof input === "function") return input as (tick: DateTime.Utc) => A
  let encoded: Exit.Exit<unknown, Schema.SchemaError>
  try {
    encoded = Schema.encodeUnknownExit(jsonCodec(schema))(input)
  } catch (cause) {
    return refuse("payload", `could not be encoded: ${safeString(cause)}`)
  }
  if (Exit.isFailure(encoded)) {
    if (suspended(encoded.cause)) return () => input as A
    const reason = encoded.cause.reasons.find((r) => r._tag === "Fail")
    refuse("payload", `is refused by the schema: ${reason?._tag === "Fail" ? reason.error.message : "it does not encode"}`)
  }
  return () => input as A
}

/**
 * `catchUp`'s default: an hour short of the default `completedRetention` (a
 * day). The look-back is measured on the declaring process's clock, the
 * retention on the store's: with both a day, a process whose clock was
 * behind by a minute caught up a daily tick its store had just purged, and
 * ran it again. The hour is the clocks' margin.
 */
const defaultCatchUp = "23 hours"

/** `catchUp`: a finite duration >= 0, in milliseconds. */
const catchUp = (input: unknown): number => {
  const decoded = duration("catchUp", orDefault(input, defaultCatchUp), zeroOrMore)
  if (!Duration.isFinite(decoded)) refuse("catchUp", "must be finite: the store forgets completed ticks after its retention")
  return Duration.toMillis(decoded)
}

/**
 * Each tick's job options, checked as `submit` checks them and kept as the
 * numbers read, so that a getter of the user's is not run again at every
 * tick.
 */
const jobOptions = (priority: unknown, maxAttempts: unknown, retry: unknown): JobFields.JobOptions => {
  const fields = JobFields.fields({ priority, maxAttempts, retry }, false)
  const settings = JobFields.parse(fields.settings)
  return {
    ...(fields.priority === undefined ? {} : { priority: fields.priority }),
    ...(settings?.maxAttempts === undefined ? {} : { maxAttempts: settings.maxAttempts }),
    ...(settings?.retry === undefined ? {} : { retry: settings.retry })
  }
}

/**
 * Checks `declare`'s options at `now` (for the cron's ticks), in a fixed
 * order that decides which option a bag with several wrong ones names: the
 * producer's, unknown keys, then the rest as listed.
 */
export const validate = <A, I>(options: unknown, now: number): PeriodicConfig<A, I> | Invalid =>
  checked("options", () => {
    const source = record("options", options)
    const read = (key: string) => field(source, key, key)
    const producer = producerFields<A, I>(source)
    refuseUnknown(source, knownOptions, "a periodic declaration", instead)
    const checkedName = name(read("name"))
    const cron = schedule(read("cron"), read("timeZone"))
    ticking(cron, now)
    return {
      ...producer,
      name: checkedName,
      cron,
      payload: payload(read("payload"), producer.schema),
      missed: oneOf("missed", orDefault(read("missed"), "runOnce"), ["runOnce", "skip"] as const),
      catchUp: catchUp(read("catchUp")),
      jobOptions: jobOptions(read("priority"), read("maxAttempts"), read("retry"))
    }
  })
