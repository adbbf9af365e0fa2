/**
 * A durable pool's own metrics (the definitions are in `../Metrics.ts`):
 * retries and dead letters as the settler takes them, the leases the store
 * no longer held for the pool (found by a renewal, or by an ending it did
 * not take), and the store's counts per state, sampled.
 *
 * The store's counts are asked every `storeCountsInterval` by one fiber in
 * the pool's background scope, and the last answer is what the series read:
 * an exporter that scrapes often costs the store nothing more, and a store
 * in an outage leaves the last counts in place (the outage is logged by the
 * operations that need the store).
 *
 * Internal: not an entry point of the package.
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import { slotOf } from "../internal/metrics.ts"
import * as Metrics from "../Metrics.ts"
import type { Counts, Store } from "./Store.ts"

/** How often a durable pool asks the store for its counts. */
export const storeCountsInterval = Duration.seconds(5)

/** The counters the settler updates, with the pool's attributes, in the context the pool was made in. */
export interface DurableMetrics {
  readonly context: Context.Context<never>
  readonly retried: Metric.Counter<number>
  readonly snoozed: Metric.Counter<number>
  readonly deadLettered: Metric.Counter<number>
  /** Leases the store no longer held for this process (`Metrics.leasesLost`), by how the pool noticed. */
  readonly leasesLost: Record<Noticed, Metric.Counter<number>>
}

/** How a pool noticed a lease lost: its renewal, or an ending the store did not take. */
export type Noticed = "renewal" | "retry" | "bury"

const counterWith = (definition: Metric.Counter<number>, attributes: Metric.Metric.AttributeSet) =>
  Metric.counter(definition.id, { description: definition.description, attributes, incremental: true })

/** The counters of a pool with `attributes` (`pool`, `queue`). */
export const make = (attributes: Metric.Metric.AttributeSet, context: Context.Context<never>): DurableMetrics => ({
  context,
  retried: counterWith(Metrics.jobsRetried, attributes),
  snoozed: counterWith(Metrics.jobsSnoozed, attributes),
  deadLettered: counterWith(Metrics.jobsDeadLettered, attributes),
  leasesLost: {
    renewal: counterWith(Metrics.leasesLost, { ...attributes, noticed: "renewal" }),
    retry: counterWith(Metrics.leasesLost, { ...attributes, noticed: "retry" }),
    bury: counterWith(Metrics.leasesLost, { ...attributes, noticed: "bury" })
  }
})

/** The store took a retry, a snooze or a burial the settler told it. */
export const settled = (metrics: DurableMetrics | undefined, ending: "retry" | "snooze" | "bury"): void => {
  if (metrics === undefined) return
  const counter = ending === "retry" ? metrics.retried : ending === "snooze" ? metrics.snoozed : metrics.deadLettered
  counter.updateUnsafe(1, metrics.context)
}

/** `n` leases the store no longer held for this process, noticed as `noticed` says. */
export const leasesLost = (metrics: DurableMetrics | undefined, noticed: Noticed, n = 1): void => {
  if (n > 0) metrics?.leasesLost[noticed].updateUnsafe(n, metrics.context)
}

const states = ["ready", "leased", "completed", "buried"] as const satisfies ReadonlyArray<keyof Counts>

/** One pool's last answer of the store's counts. */
interface Sampled {
  counts: Counts | undefined
}

/**
 * The store-count series of one name and queue in one registry: shared by
 * the pools of that name and queue in this process (registered again, one
 * pool's series would replace another's, and the first to close would take
 * them away from the others), reading the latest answer any of them had,
 * and removed with the last of them.
 */
interface Shared {
  readonly pools: Set<Sampled>
  latest: Sampled | undefined
  readonly registrations: Array<{ readonly remove: () => void }>
}

const shared = new WeakMap<Metric.MetricRegistry, Map<string, Shared>>()

/** Joins the shared series of `attributes` in `context` (made by the first pool): returns what leaves them. */
const join = (sampled: Sampled, attributes: Metric.Metric.AttributeSet, context: Context.Context<never>) => {
  const { byKey, key } = slotOf(shared, attributes, context)
  let series = byKey.get(key)
  if (series === undefined) {
    const made: Shared = { pools: new Set(), latest: undefined, registrations: [] }
    for (const state of states) {
      made.registrations.push(Metric.registerUnsafe(
        Metric.withAttributes(Metrics.storeJobs, { ...attributes, state }),
        context,
        { get: () => ({ value: made.latest?.counts?.[state] ?? 0 }), update: () => {}, modify: () => {} }
      ))
    }
    byKey.set(key, series = made)
  }
  series.pools.add(sampled)
  const joined = series
  return {
    heard: () => {
      joined.latest = sampled
    },
    leave: () => {
      joined.pools.delete(sampled)
      // Another pool's counts, if one has any; else this one's last stay, as a store in an outage leaves them.
      if (joined.latest === sampled) joined.latest = [...joined.pools].find((pool) => pool.counts !== undefined) ?? sampled
      if (joined.pools.size > 0) return
      joined.registrations.forEach((registration) => registration.remove())
      byKey.delete(key)
    }
  }
}

/**
 * Samples the store's counts of `queue` now and every `storeCountsInterval`
 * in `scope`, until the scope closes, for the series `Metrics.storeJobs` by
 * `state`: shared with the other pools of the same name and queue, and
 * registered until the last of them closes.
 */
export const sampleStoreCounts = (
  options: {
    readonly store: Store
    readonly queue: string
    readonly attributes: Metric.Metric.AttributeSet
    readonly context: Context.Context<never>
  },
  scope: Scope.Scope
): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(
    // Joined and left in the sampling fiber itself: a fiber interrupted before it ran joins nothing.
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const sampled: Sampled = { counts: undefined }
        return { sampled, ...join(sampled, options.attributes, options.context) }
      }),
      ({ heard, sampled }) => {
        const sample = options.store.counts(options.queue).pipe(
          Effect.tap((counts) =>
            Effect.sync(() => {
              sampled.counts = counts
              heard()
            })
          ),
          Effect.ignore
        )
        return Effect.forever(Effect.andThen(sample, Effect.sleep(storeCountsInterval)))
      },
      ({ leave }) => Effect.sync(leave)
    ),
    scope,
    { startImmediately: true }
  ))
