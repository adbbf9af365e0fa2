/**
 * The pools' metrics, as Effect `Metric`s: any Effect metrics exporter
 * (`PrometheusMetrics`, `OtlpMetrics`, `Metric.snapshot`) sees them. Every
 * series carries the pool's `name` as the attribute `pool` (default
 * `"default"`), a durable pool's also its `queue`; counts that can be read
 * from the pool when the metrics are read (jobs submitted and ended, queued,
 * active, workers, the store's counts) cost nothing per job. Run time and
 * queue wait are histograms, updated as each job starts and ends, by a pool
 * with `jobTimings` (the default for durable and threaded pools, not for
 * the in-memory pool, where they cost about half of no-op jobs' throughput).
 *
 * The metrics below are the definitions: a pool updates them with its own
 * attributes added, so read them with `Metric.withAttributes` (or look them
 * up by name in `Metric.snapshot`).
 *
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Metrics, Pool } from "effect-worker-pool"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* Pool.make({ name: "emails", workers: 2, handler: () => Effect.void })
 *   yield* pool.run("hello")
 *   const ended = yield* Metric.value(
 *     Metric.withAttributes(Metrics.jobsEnded, { pool: "emails", outcome: "succeeded" })
 *   )
 *   return ended.count // 1
 * }))
 * ```
 */
import * as Metric from "effect/Metric"

/** Histogram buckets for durations in seconds: 1 ms, doubling, to about 4.4 minutes. */
export const durationBoundaries: ReadonlyArray<number> = Metric.exponentialBoundaries({
  start: 0.001,
  factor: 2,
  count: 19
})

/** Jobs accepted by the pool (`pool`, and `queue` for a durable pool). */
export const jobsSubmitted: Metric.Counter<number> = Metric.counter("effect_worker_pool_jobs_submitted_total", {
  description: "Jobs accepted by the pool"
})

/**
 * Jobs ended, by `outcome`: `succeeded`, `failed` (a timeout included),
 * `died`, `interrupted`, `cancelled` (by their `run` caller or `cancel`),
 * `abandoned` (handed back by the shutdown, never started).
 */
export const jobsEnded: Metric.Counter<number> = Metric.counter("effect_worker_pool_jobs_ended_total", {
  description: "Jobs ended, by outcome"
})

/** The outcomes `jobsEnded` is labeled with. */
export const outcomes = ["succeeded", "failed", "died", "interrupted", "cancelled", "abandoned"] as const

/** Jobs waiting for a worker (delayed ones included). */
export const jobsQueued: Metric.Gauge<number> = Metric.gauge("effect_worker_pool_jobs_queued", {
  description: "Jobs accepted and waiting for a worker, delayed ones included"
})

/** Jobs a worker is running now. */
export const jobsActive: Metric.Gauge<number> = Metric.gauge("effect_worker_pool_jobs_active", {
  description: "Jobs running now"
})

/** Workers running. */
export const workers: Metric.Gauge<number> = Metric.gauge("effect_worker_pool_workers", {
  description: "Workers running"
})

/** How long each job ran, from its start to its end, in seconds. */
export const jobRunSeconds: Metric.Histogram<number> = Metric.histogram("effect_worker_pool_job_run_seconds", {
  description: "Time a job ran, from start to end",
  boundaries: durationBoundaries
})

/**
 * How long each job waited, from accepted (or due, for a delayed one) to
 * started, in seconds. For a durable pool, from the moment this process took
 * it from the store.
 */
export const jobWaitSeconds: Metric.Histogram<number> = Metric.histogram("effect_worker_pool_job_wait_seconds", {
  description: "Time a job waited for a worker, from accepted (or due) to started",
  boundaries: durationBoundaries
})

/** Durable jobs retried after a failed attempt (`pool`, `queue`). */
export const jobsRetried: Metric.Counter<number> = Metric.counter("effect_worker_pool_jobs_retried_total", {
  description: "Durable jobs retried after a failed attempt"
})

/** Durable jobs snoozed by their handler (`Durable.snooze`): delivered again later, the attempt not counted (`pool`, `queue`). */
export const jobsSnoozed: Metric.Counter<number> = Metric.counter("effect_worker_pool_jobs_snoozed_total", {
  description: "Durable jobs snoozed by their handler"
})

/** Durable jobs dead-lettered: out of attempts, or a failure not worth retrying (`pool`, `queue`). */
export const jobsDeadLettered: Metric.Counter<number> = Metric.counter("effect_worker_pool_jobs_dead_lettered_total", {
  description: "Durable jobs dead-lettered"
})

/**
 * Leases this process held that the store no longer held for it, by how the
 * pool noticed (`noticed`; and `pool`, `queue`): `renewal` (the heartbeat's
 * renewal found it, and the job was stopped as cancelled), `retry` or
 * `bury` (the failed attempt's ending, which the store did not take). The
 * job was cancelled by another process while it ran, or its lease ran out
 * and another process claimed it (then it may run twice). Rising with no
 * cancels, it says renewals did not land within a lease: an event loop
 * blocked, or the store out of reach, for more than about two thirds of a
 * lease.
 */
export const leasesLost: Metric.Counter<number> = Metric.counter("effect_worker_pool_leases_lost_total", {
  description: "Leases the store no longer held for this process: cancelled elsewhere, or taken over once they ran out"
})

/**
 * A durable queue's jobs in the store, by `state` (`ready`, `leased`,
 * `completed`, `buried`), across processes: sampled by each durable pool
 * every `storeCountsInterval` (5 seconds), read when the metrics are.
 */
export const storeJobs: Metric.Gauge<number> = Metric.gauge("effect_worker_pool_store_jobs", {
  description: "Jobs in the store, by state, sampled"
})

/** Store operations, by `operation`, `queue` and `engine`, and how long each took in seconds. */
export const storeOperationSeconds: Metric.Histogram<number> = Metric.histogram(
  "effect_worker_pool_store_operation_seconds",
  { description: "Time a store operation took", boundaries: durationBoundaries }
)

/** Store operations that failed (a `StoreError`), by `operation`, `queue` and `engine`. */
export const storeOperationFailures: Metric.Counter<number> = Metric.counter(
  "effect_worker_pool_store_operation_failures_total",
  { description: "Store operations that failed" }
)
