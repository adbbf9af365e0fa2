/**
 * The arithmetic of a periodic declaration's ticks, on Effect's `Cron`:
 * which tick comes next, when it is offered (a little before its time),
 * which tick a start or a stall has missed, and the id of a tick's job.
 * Pure functions of instants in milliseconds: the ticker (`ticker.ts`)
 * reads the clock and decides; this only counts.
 *
 * Internal: not an entry point of the package.
 */
import * as Cron from "effect/Cron"
import * as DateTime from "effect/DateTime"

/** The longest lead: a tick is offered at most this long before its time. */
export const maxLeadMillis = 1_000

/**
 * The id of the job of `name`'s tick at `tick`: `periodic:<name>@<ISO time
 * in UTC, to the millisecond>`. Every process that declares `name` computes
 * the same id for the same tick, so the store keeps one job per tick.
 */
export const tickId = (name: string, tick: Date | DateTime.DateTime): string =>
  `periodic:${name}@${(DateTime.isDateTime(tick) ? DateTime.toDateUtc(tick) : tick).toISOString()}`

/**
 * The first tick strictly after `millis`. `Cron.next` alone passes over
 * ticks that a spring-forward gap shifted: from 03:00 (02:00 shifted), the
 * next of `0,30 2 * * *` was the next day's, never 03:30 (02:30 shifted),
 * which `Cron.prev` does give. So when `prev` finds a tick between
 * `millis` and `next`'s, the first of those is taken (`passedOver`).
 */
export const after = (cron: Cron.Cron, millis: number): number => {
  const next = Cron.next(cron, new Date(millis)).getTime()
  if (before(cron, next) <= millis) return next
  return passedOver(cron, next, millis).find((tick) => tick > millis) ?? next
}

/** The ticks `Cron.next` passed over before `next`, last found for each cron. */
const gaps = new WeakMap<Cron.Cron, { readonly next: number; readonly from: number; readonly ticks: ReadonlyArray<number> }>()

/**
 * The ticks after `from` and before `next` that `Cron.next` passes over,
 * in order: found once a gap, walking back from `next` with `Cron.prev`,
 * and kept, so that a cron that ticks every few seconds through the gap
 * does not walk it again at every tick (a walk of hundreds of ticks).
 */
const passedOver = (cron: Cron.Cron, next: number, from: number): ReadonlyArray<number> => {
  const known = gaps.get(cron)
  if (known !== undefined && known.next === next && known.from <= from) return known.ticks
  const ticks: Array<number> = []
  for (let tick = before(cron, next); tick > from; tick = before(cron, tick)) ticks.push(tick)
  ticks.reverse()
  gaps.set(cron, { next, from, ticks })
  return ticks
}

/** The first tick at or after `millis` (`after` is strictly after; a cron's resolution is a second). */
export const firstAtOrAfter = (cron: Cron.Cron, millis: number): number => after(cron, millis - 1)

/** The last tick strictly before `millis`. */
export const before = (cron: Cron.Cron, millis: number): number => Cron.prev(cron, new Date(millis)).getTime()

/**
 * How long before its time `tick` is offered: a second, or half the gap
 * from the tick before it when the cron is faster than every two seconds
 * (so that a tick is never offered before the one ahead of it is due).
 * Only this much is ever offered ahead: a declaration removed by a deploy
 * leaves at most one tick behind it.
 */
export const leadOf = (cron: Cron.Cron, tick: number): number =>
  Math.min(maxLeadMillis, Math.floor((tick - before(cron, tick)) / 2))

/** When `tick` is offered. */
export const offerAt = (cron: Cron.Cron, tick: number): number => tick - leadOf(cron, tick)
