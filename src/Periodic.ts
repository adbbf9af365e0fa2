/**
 * Periodic jobs, declared from a cron: every tick of the schedule becomes
 * one durable job on a queue, which any durable pool working that queue
 * runs at the tick's time.
 *
 * A process declares a schedule (one that runs a pool on the queue, or one
 * that only produces), and ticks until its scope closes:
 *
 * - Each tick is offered as a durable job with the id `tickId(name, tick)`
 *   (`periodic:<name>@<ISO time>`) and `runAt` the tick, a little before
 *   its time (a second, or half the gap between ticks for a faster cron), so
 *   that the store's clock decides when it runs. Every declaring process
 *   offers every tick; the store keeps one job per id, so a tick is ONE job
 *   however many processes declare it, even one whose clock is wrong (its
 *   offers land on the same ids). A tick the store holds as a dead letter or
 *   a cancelled job was handled already: not an error.
 * - Ticks are computed with Effect's `Cron` on the Effect `Clock` (so a day
 *   of ticks runs in milliseconds under the `TestClock`). A cron string is
 *   read in `timeZone` (default UTC); a `Cron` made without a time zone is
 *   read in UTC too, never in the host's zone, so that every process
 *   computes the same ticks.
 * - A store outage is retried with the durable pool's backoff (100 ms
 *   doubling to 5 s), a warning each time, until the next tick is due to be
 *   offered; a tick that could not be offered through its whole period is
 *   logged as an error, and its next chance is the catch-up of a start.
 * - Missed ticks (every declaring process was down at the tick):
 *   `missed: "runOnce"` (the default) offers, on start, the most recent tick
 *   before now if it is within `catchUp` (default 23 hours), so it runs once,
 *   late; older missed ticks are not run. `"skip"` runs none. The catch-up
 *   is bounded because the store forgets a completed tick after the queue's
 *   `completedRetention` (1 day by default): a lookback longer than that
 *   could offer a tick whose job was purged, and run it a second time.
 *   Keep `catchUp` shorter than the queue's `completedRetention` by more
 *   than the clocks may differ (the defaults leave an hour); so never run
 *   ticks on a queue whose `completedRetention` is zero: a completed tick is
 *   forgotten at once, and a restart, or an offer that lands after the tick
 *   ran, runs it again.
 * - Removing a declaration (a deploy without it) stops its ticks: nothing
 *   is offered ahead beyond the one tick within its lead.
 * - Bad options are a `PoolConfigError` naming the option, at `declare`: a
 *   cron that does not parse or never matches, an unknown time zone, an
 *   empty name, a plain `payload` the schema refuses, wrong job options. A
 *   `payload` function that throws or returns what the schema refuses is
 *   logged as an error for that tick, and the declaration keeps ticking.
 *
 * `name` must be unique per queue: two declarations of one name share their
 * ticks' ids (the first offer of each tick wins).
 *
 * ```ts
 * import { DateTime, Effect, Schema } from "effect"
 * import { Periodic } from "effect-worker-pool"
 * import * as MemoryStore from "effect-worker-pool/MemoryStore"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* MemoryStore.make
 *   yield* Periodic.declare({
 *     store,
 *     queue: "reports",
 *     schema: Schema.Struct({ day: Schema.String }),
 *     name: "nightly-report",
 *     cron: "0 2 * * *",
 *     timeZone: "Europe/Paris",
 *     payload: (tick) => ({ day: DateTime.formatIsoDate(tick) })
 *   })
 *   // ... a durable pool on "reports" runs each night's job
 * }))
 * ```
 */
import * as Clock from "effect/Clock"
import type * as Cron from "effect/Cron"
import type * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Backoff } from "./durable/jobOptions.ts"
import { validate } from "./durable/periodic/config.ts"
import * as Ticker from "./durable/periodic/ticker.ts"
import * as Ticks from "./durable/periodic/ticks.ts"
import type { Store } from "./durable/Store.ts"
import { isInvalid } from "./internal/options.ts"
import { configError } from "./internal/poolOptions.ts"
import type { PoolConfigError } from "./Pool.ts"

/** The schedule: a cron string with an optional time zone, or an Effect `Cron` (which has its own). */
export type Schedule =
  | {
    /** A cron expression: five fields (minute to weekday) or six (seconds first). */
    readonly cron: string
    /** The zone the expression is read in: an IANA id (`"Europe/Paris"`), an offset, or a `TimeZone`. Default UTC. */
    readonly timeZone?: string | DateTime.TimeZone | undefined
  }
  | {
    /** An Effect `Cron` (`Cron.parse(expression, timeZone)`); one without a time zone is read in UTC. */
    readonly cron: Cron.Cron
    readonly timeZone?: undefined
  }

/** How to declare a periodic job. */
export type Options<A, I> = Schedule & {
  /** Where the ticks' jobs are kept. */
  readonly store: Store
  /** The queue the ticks' jobs go to: a durable pool on it runs them. */
  readonly queue: string
  /** Encodes each tick's payload for the store, as the pool's `schema` decodes it. */
  readonly schema: Schema.Codec<A, I>
  /**
   * Unique per queue: part of each tick's id (`tickId(name, tick)`). A
   * non-empty string an id may hold, at most 987 bytes of UTF-8 (so that
   * each tick's id is at most an id's 1,024).
   */
  readonly name: string
  /** Each tick's payload: a function of the tick's time, or the same value for every tick. */
  readonly payload: A | ((tick: DateTime.Utc) => A)
  /**
   * What a start does about ticks missed while every declaring process was
   * down: `"runOnce"` (default) offers the most recent one, if within
   * `catchUp`, so it runs once, late; `"skip"` offers none.
   */
  readonly missed?: "runOnce" | "skip" | undefined
  /**
   * How far back `"runOnce"` looks on a start: a finite duration >= 0.
   * Default 23 hours; keep it shorter than the queue's `completedRetention`
   * by more than the declaring processes' clocks may lag the store's, or a
   * tick already run and purged could run again (at a retention of zero, a
   * tick runs again at every restart within `catchUp`).
   */
  readonly catchUp?: Duration.Input | undefined
  /** Each tick's job's priority (see `Durable.JobOptions`). */
  readonly priority?: number | undefined
  /** Each tick's job's deliveries before it is dead-lettered (see `Durable.JobOptions`). */
  readonly maxAttempts?: number | undefined
  /** Each tick's job's retry delays (see `Durable.JobOptions`). */
  readonly retry?: Backoff | undefined
}

/**
 * The id of the job of `name`'s tick at `tick`: `periodic:<name>@<ISO time
 * in UTC>`, e.g. `periodic:nightly-report@2026-03-30T00:00:00.000Z`. Look a
 * tick up, or cancel it, with this id.
 */
export const tickId: (name: string, tick: Date | DateTime.DateTime) => string = Ticks.tickId

/**
 * Declares a periodic job in the current scope: its ticks are offered until
 * the scope closes. Fails with `PoolConfigError` naming a wrong option;
 * nothing ticks then.
 */
export const declare = <A, I>(options: Options<A, I>): Effect.Effect<void, PoolConfigError, Scope.Scope> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const config = validate<A, I>(options, now)
    if (isInvalid(config)) return Effect.fail(configError(config))
    return Effect.asVoid(Effect.forkScoped(Ticker.run(config)))
  })

/** `declare` as a layer: its ticks are offered for as long as the layer lives. */
export const layer = <A, I>(options: Options<A, I>): Layer.Layer<never, PoolConfigError> =>
  Layer.effectDiscard(declare(options))
