/**
 * A pool's metrics (the definitions are in `../Metrics.ts`): what the
 * ledger calls as a job becomes ready, starts and ends, and the series read
 * from the pool's counts when the metrics are read.
 *
 * The per-job path pays only for what cannot be read later: one clock read
 * as a job becomes ready, one as it starts, one as it ends, and two
 * histogram updates, made synchronously with `Metric`'s `updateUnsafe` on
 * the context the pool was made in (no Effect per job). Counts the pool
 * keeps anyway (jobs submitted and ended, queued, active, workers) are
 * series registered with `Metric.registerUnsafe`, read when an exporter
 * reads them: nothing per job.
 *
 * Pools with the same attributes (two pools named `"default"`) in one
 * registry share their series: each reads the sum over those pools, so a
 * second pool does not hide the first. A pool that closes leaves its final
 * counts in the counters (a counter never goes back, and an exporter's last
 * export after the pool closed still has them) and leaves the gauges; the
 * series stay while the registry does, one set per name, not per pool.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"
import * as Metrics from "../Metrics.ts"
import type { Stats } from "../Pool.ts"

/** What the ledger needs to record a job's wait and run time. */
export interface PoolMetrics {
  /** The context the pool was made in: its metric registry and attributes. */
  readonly context: Context.Context<never>
  readonly wait: Metric.Histogram<number>
  readonly runTime: Metric.Histogram<number>
}

/** `definition` again, with `attributes` of its own (the same series as `Metric.withAttributes` names). */
const histogramWith = (definition: Metric.Histogram<number>, attributes: Metric.Metric.AttributeSet) =>
  Metric.histogram(definition.id, {
    description: definition.description,
    boundaries: Metrics.durationBoundaries,
    attributes
  })

/** The histograms a pool with `attributes` updates, in `context`. */
export const make = (attributes: Metric.Metric.AttributeSet, context: Context.Context<never>): PoolMetrics => ({
  context,
  wait: histogramWith(Metrics.jobWaitSeconds, attributes),
  runTime: histogramWith(Metrics.jobRunSeconds, attributes)
})

/** Records a wait or a run time of `millis` milliseconds, in seconds. */
export const record = (metrics: PoolMetrics, histogram: Metric.Histogram<number>, millis: number): void =>
  histogram.updateUnsafe(millis / 1000, metrics.context)

// -----------------------------------------------------------------------------
// Series read when the metrics are read
// -----------------------------------------------------------------------------

/** One pool's counts, as `Pool.stats` gives them. */
export type Source = () => Stats

/** The pools that share one set of series, and the counts of those that closed. */
interface Group {
  readonly sources: Set<Source>
  readonly retired: Retired
}

/** The final counts of a group's closed pools, by what a counter reads. */
type Retired = Map<(stats: Stats) => number, number>

/** The groups of each registry, by their attributes. */
const groups = new WeakMap<Metric.MetricRegistry, Map<string, Group>>()

const sum = (sources: Set<Source>, read: (stats: Stats) => number, from = 0): number => {
  let total = from
  for (const source of sources) total += read(source())
  return total
}

/** The series a group registers: each metric, its extra attributes, and what it reads from `Stats`. */
const series: ReadonlyArray<{
  readonly metric: Metric.Counter<number> | Metric.Gauge<number>
  readonly extra: Metric.Metric.AttributeSet
  readonly read: (stats: Stats) => number
}> = [
  { metric: Metrics.jobsSubmitted, extra: {}, read: (stats) => stats.submitted },
  ...Metrics.outcomes.map((outcome) => ({
    metric: Metrics.jobsEnded,
    extra: { outcome },
    read: (stats: Stats) => stats[outcome]
  })),
  { metric: Metrics.jobsQueued, extra: {}, read: (stats) => stats.queued },
  { metric: Metrics.jobsActive, extra: {}, read: (stats) => stats.active },
  { metric: Metrics.workers, extra: {}, read: (stats) => stats.workers }
]

/** Registers the series of `group` with `attributes` in `context`'s registry. */
const registerGroup = (
  { retired, sources }: Group,
  attributes: Metric.Metric.AttributeSet,
  context: Context.Context<never>
): void => {
  for (const { extra, metric, read } of series) {
    const labeled = Metric.withAttributes(metric as Metric.Metric<number, unknown>, { ...attributes, ...extra })
    const get = metric.type === "Counter"
      ? () => ({ count: sum(sources, read, retired.get(read)), incremental: true })
      : () => ({ value: sum(sources, read) })
    Metric.registerUnsafe(labeled, context, { get, update: () => {}, modify: () => {} })
  }
}

/** Moves `source`'s final counts into `group`'s counters, and its gauges out of the group. */
const retire = (group: Group, source: Source): void => {
  const final = source()
  for (const { metric, read } of series) {
    if (metric.type === "Counter") group.retired.set(read, (group.retired.get(read) ?? 0) + read(final))
  }
  group.sources.delete(source)
}

/**
 * Which series `attributes` name in `context`: with the context's own
 * attributes, in order. Pools whose keys are equal add to the same series.
 */
const seriesKey = (attributes: Metric.Metric.AttributeSet, context: Context.Context<never>): string => {
  const all = { ...Context.get(context, Metric.CurrentMetricAttributes), ...attributes }
  return JSON.stringify(Object.entries(all).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

/**
 * Where `table` keeps what stands for the series `attributes` name in
 * `context`'s registry: that registry's map (made if missing) and the key.
 */
export const slotOf = <T>(
  table: WeakMap<Metric.MetricRegistry, Map<string, T>>,
  attributes: Metric.Metric.AttributeSet,
  context: Context.Context<never>
): { readonly byKey: Map<string, T>; readonly key: string } => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let byKey = table.get(registry)
  if (byKey === undefined) table.set(registry, byKey = new Map())
  return { byKey, key: seriesKey(attributes, context) }
}

/**
 * Adds a pool's counts to the series with `attributes` in `context`'s
 * registry: returns what retires them, once the pool has closed.
 */
export const register = (
  source: Source,
  attributes: Metric.Metric.AttributeSet,
  context: Context.Context<never>
): () => void => {
  const { byKey, key } = slotOf(groups, attributes, context)
  let group = byKey.get(key)
  if (group === undefined) {
    group = { sources: new Set(), retired: new Map() }
    registerGroup(group, attributes, context)
    byKey.set(key, group)
  }
  group.sources.add(source)
  const owned = group
  return () => retire(owned, source)
}
