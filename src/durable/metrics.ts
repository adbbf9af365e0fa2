/**
 * A durable pool's own metrics (the definitions are in `../Metrics.ts`):
 * retries and dead letters as the settler takes them, and the store's
 * counts per state, sampled.
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
import * as Metrics from "../Metrics.ts"
import type { Counts, Store } from "./Store.ts"

/** How often a durable pool asks the store for its counts. */
export const storeCountsInterval = Duration.seconds(5)

/** The counters the settler updates, with the pool's attributes, in the context the pool was made in. */
export interface DurableMetrics {
  readonly context: Context.Context<never>
  readonly retried: Metric.Counter<number>
  readonly deadLettered: Metric.Counter<number>
}

const counterWith = (definition: Metric.Counter<number>, attributes: Metric.Metric.AttributeSet) =>
  Metric.counter(definition.id, { description: definition.description, attributes, incremental: true })

/** The counters of a pool with `attributes` (`pool`, `queue`). */
export const make = (attributes: Metric.Metric.AttributeSet, context: Context.Context<never>): DurableMetrics => ({
  context,
  retried: counterWith(Metrics.jobsRetried, attributes),
  deadLettered: counterWith(Metrics.jobsDeadLettered, attributes)
})

/** The settler took a retry or a burial. */
export const settled = (metrics: DurableMetrics | undefined, ending: "retry" | "bury"): void => {
  if (metrics === undefined) return
  const counter = ending === "retry" ? metrics.retried : metrics.deadLettered
  counter.updateUnsafe(1, metrics.context)
}

const states = ["ready", "leased", "completed", "buried"] as const satisfies ReadonlyArray<keyof Counts>

/**
 * Samples the store's counts of `queue` now and every `storeCountsInterval`
 * in `scope`, and registers them as `Metrics.storeJobs` by `state`, until
 * the scope closes.
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
  Effect.gen(function*() {
    let last: Counts | undefined
    const registrations = states.map((state) =>
      Metric.registerUnsafe(
        Metric.withAttributes(Metrics.storeJobs, { ...options.attributes, state }),
        options.context,
        { get: () => ({ value: last?.[state] ?? 0 }), update: () => {}, modify: () => {} }
      )
    )
    const sample = options.store.counts(options.queue).pipe(
      Effect.tap((counts) => Effect.sync(() => last = counts)),
      Effect.ignore
    )
    yield* Effect.forkIn(
      Effect.forever(Effect.andThen(sample, Effect.sleep(storeCountsInterval))).pipe(
        Effect.ensuring(Effect.sync(() => registrations.forEach((registration) => registration.remove())))
      ),
      scope
    )
  })
