/**
 * The fiber of one periodic declaration: it sleeps until a tick's offer
 * time (a little before the tick, on the Effect `Clock`), offers the tick's
 * job (id `tickId(name, tick)`, `runAt` the tick, so that the store's clock
 * decides when it runs) and goes on to the next, until its scope closes.
 *
 * - Every declaring process offers every tick; the store keeps the first
 *   offer of an id and skips the others, so a tick is one job. An id the
 *   store refuses as a dead letter or a cancelled job was handled already.
 * - A store outage is retried with the durable pool's backoff
 *   (`../outage.ts`), a warning each time, until the next tick's offer
 *   time: a tick not offered through its whole period is logged as an
 *   error and left (its next chance is the catch-up of a start). An offer
 *   that never ends (a schema's encoding that never completes) is given up
 *   then too, so that it cannot stop the declaration.
 * - A payload that cannot be made or is refused is logged, for that tick;
 *   the ticks go on.
 * - Missed ticks (on a start, or after this process stalled through a whole
 *   period): with `missed: "runOnce"`, the most recent one, if it is within
 *   `catchUp`, is offered (and runs at once); older ones are not.
 *
 * Internal: not an entry point of the package.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { producer as makeProducer, type Producer } from "../../Durable.ts"
import { safeString } from "../../internal/options.ts"
import { quietly } from "../../internal/quietly.ts"
import { backoff } from "../outage.ts"
import type { PeriodicConfig } from "./config.ts"
import * as Ticks from "./ticks.ts"

/** What one declaration's fiber works with: its options and the producer its offers go through. */
interface Ticker<A, I> {
  readonly config: PeriodicConfig<A, I>
  readonly producer: Producer<A>
}

const iso = (millis: number): string => new Date(millis).toISOString()

/** The wait before the first retry of an offer: the backoff's first delay. */
const firstRetryMillis = 100

/**
 * The least time a tick's offer is given, whatever is left of its period: a
 * tick offered late (the catch-up of a start just before the next tick)
 * still gets a store operation's usual deadline (`commandTimeout`'s default).
 */
const leastOfferMillis = 5_000

/**
 * The longest one sleep: a timer runs on the machine's monotonic time, not
 * the wall clock's, so the wall clock is read again at least this often,
 * and a step of it (NTP putting a wrong clock right, a VM restored) is seen
 * within a minute, rather than after a sleep as long as the step.
 */
const longestNapMillis = 60_000

/**
 * How far a nap's end may read behind what it slept before the clock is
 * said to have gone back: a second, and a tenth of the nap, as a clock
 * being slewed (not stepped) runs up to about 8 % slow.
 */
const stepBackMillis = (nap: number): number => 1_000 + nap / 10

/**
 * Sleeps until `at` on the clock (at once if it has passed), a nap at a
 * time: `"due"` then, or `"steppedBack"` as soon as a nap ends with the
 * clock behind where the nap should have left it (it was set back).
 */
const sleepUntil = (at: number): Effect.Effect<"due" | "steppedBack"> =>
  Effect.gen(function*() {
    let now = yield* Clock.currentTimeMillis
    while (now < at) {
      const nap = Math.min(at - now, longestNapMillis)
      yield* Effect.sleep(Duration.millis(nap))
      const woke = yield* Clock.currentTimeMillis
      if (woke < now + nap - stepBackMillis(nap)) return "steppedBack"
      now = woke
    }
    return "due"
  })

/** A failure of the store that retrying can get past. */
const isOutage = (error: { readonly _tag: string; readonly retryable?: boolean }): boolean =>
  error._tag === "StoreError" && error.retryable === true

/** What became of a tick's offer that did not fail: stored (or known already), or its period ran out first. */
type Offered = "offered" | "periodOver"

/** `offer`'s result, or `"periodOver"` once `millis` have passed. */
const within = <E>(offer: Effect.Effect<Offered, E>, millis: number): Effect.Effect<Offered, E> =>
  Effect.map(
    Effect.timeoutOption(offer, Duration.millis(Math.max(0, millis))),
    (done) => done._tag === "Some" ? done.value : "periodOver"
  )

/**
 * Offers the job of `tick`: one try, then, through an outage, tries again
 * with the durable pool's backoff until `deadline` (the next tick's offer
 * time), a warning for each failure. Never fails: what did not work is
 * logged.
 */
const offer = <A, I>({ config, producer }: Ticker<A, I>, tick: number, deadline: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    let payload: A
    try {
      payload = config.payload(DateTime.fromDateUnsafe(new Date(tick)))
    } catch (cause) {
      return quietly(Effect.logError("periodic tick's payload function threw; this tick is not offered", safeString(cause)))
    }
    const id = Ticks.tickId(config.name, new Date(tick))
    const once = producer.submit(payload, { ...config.jobOptions, id, runAt: tick })
      .pipe(
        Effect.as<Offered>("offered"),
        Effect.tapError((error) =>
          isOutage(error)
            ? quietly(Effect.logWarning("offer of a periodic tick failed; retrying", error.message))
            : Effect.void
        )
      )
    // The first try is bounded too (a schema's encoding may never end), by at least `leastOfferMillis`.
    const first = Effect.flatMap(Clock.currentTimeMillis, (now) => within(once, Math.max(leastOfferMillis, deadline - now)))
    // After the first try, the retries are bounded by the tick's period.
    const untilDeadline = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      within(
        Effect.sleep(Duration.millis(firstRetryMillis)).pipe(
          Effect.andThen(once),
          Effect.retry({ schedule: backoff, while: isOutage })
        ),
        deadline - now
      ))
    return first.pipe(
      Effect.catchIf(isOutage, () => untilDeadline),
      Effect.matchEffect({
        onSuccess: (offered) =>
          offered === "offered"
            ? quietly(Effect.logDebug("periodic tick offered"))
            : quietly(Effect.logError(
              "periodic tick not offered within its period (the store was unreachable, or the offer never ended); " +
                "its next chance is the catch-up of a start"
            )),
        onFailure: (error) => {
          switch (error._tag) {
            case "JobNotResubmittedError":
              return quietly(Effect.logDebug(`periodic tick already handled (${error.state})`))
            case "StoreError":
              return quietly(Effect.logError("periodic tick refused by the store", error.message))
            default:
              return quietly(Effect.logError("periodic tick's payload refused; this tick is not offered", error.message))
          }
        }
      }),
      // Whatever dies here loses that tick, not the declaration. (A store's own defects arrive as a
      // `StoreError`, above: ours through their boundary, any other through `guard.ts`.)
      Effect.catchDefect((defect) =>
        quietly(Effect.logError("periodic tick's offer died; this tick is not offered", safeString(defect)))
      )
    )
  }).pipe(
    // A span per tick, the root of its trace: the tick's job, made current by whichever process
    // runs it, is its child.
    Effect.withSpan(`effect-worker-pool.periodic ${config.name}`, {
      attributes: { "periodic.name": config.name, "periodic.tick": iso(tick), queue: config.queue }
    }),
    Effect.annotateLogs({ tick: iso(tick) })
  )

/**
 * After a start or a stall at `now`: offers the most recent tick before
 * `now` if `missed` is `"runOnce"` and it is within `catchUp`, and returns
 * the first tick at or after `now`, where the ticking goes on. After the
 * clock went back (`mayCatchUp` false), nothing is caught up: the clock may
 * be the wrong one, and the tick it calls the latest one long run and purged.
 */
const resume = <A, I>(ticker: Ticker<A, I>, now: number, mayCatchUp = true): Effect.Effect<number> => {
  const { catchUp, cron, missed } = ticker.config
  const upcoming = Ticks.firstAtOrAfter(cron, now)
  const latest = Ticks.before(cron, upcoming)
  if (!mayCatchUp || missed === "skip" || now - latest > catchUp) return Effect.succeed(upcoming)
  return Effect.as(offer(ticker, latest, Ticks.offerAt(cron, upcoming)), upcoming)
}

/**
 * Ticks for ever from a start at `now`: each tick offered at its offer
 * time; a tick whose whole period passed before this fiber woke (the
 * process was stalled or suspended) is missed, and resumed from.
 */
const tickFrom = <A, I>(ticker: Ticker<A, I>, start: number): Effect.Effect<never> =>
  Effect.gen(function*() {
    const { cron } = ticker.config
    let tick = yield* resume(ticker, start)
    while (true) {
      const woke = yield* sleepUntil(Ticks.offerAt(cron, tick))
      const now = yield* Clock.currentTimeMillis
      if (woke === "steppedBack") {
        yield* quietly(
          Effect.logWarning("the clock went back; the ticks go on from its time, none caught up").pipe(
            Effect.annotateLogs({ expected: iso(tick), resumedAt: iso(now) })
          )
        )
        tick = yield* resume(ticker, now, false)
        continue
      }
      const following = Ticks.after(cron, tick)
      const deadline = Ticks.offerAt(cron, following)
      if (now >= deadline) {
        yield* quietly(
          Effect.logWarning("periodic ticks missed: this process was held up past their period (suspended, or a slow store)").pipe(
            Effect.annotateLogs({ missedFrom: iso(tick), resumedAt: iso(now) })
          )
        )
        tick = yield* resume(ticker, now)
        continue
      }
      yield* offer(ticker, tick, deadline)
      tick = following
    }
  })

/**
 * The declaration's fiber: runs until interrupted (its scope closed). With
 * no span current: each tick's offer is a trace of its own (its span, then
 * its job's), not a child of whatever span `declare` ran in (a start-up's,
 * a request's), which would hold every tick for the life of the process.
 */
export const run = <A, I>(config: PeriodicConfig<A, I>): Effect.Effect<never> =>
  Effect.flatMap(Clock.currentTimeMillis, (start) =>
    tickFrom({ config, producer: makeProducer({ store: config.store, queue: config.queue, schema: config.schema }) }, start)
  ).pipe(
    Effect.updateContext((context: Context.Context<never>) => Context.omit(Tracer.ParentSpan)(context)),
    // Not expected (the schedule was tried at `declare`), but a declaration that stops must say so.
    Effect.tapDefect((defect) =>
      quietly(Effect.logError("periodic declaration stopped by a defect; its ticks are no longer offered", safeString(defect)))
    ),
    Effect.annotateLogs({ queue: config.queue, periodic: config.name })
  )
