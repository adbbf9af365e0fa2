/**
 * effect-worker-pool: a production worker pool for Effect.
 *
 * - `Job`: the job value, its options, its `Outcome` and job-level errors.
 * - `Pool`: `make`, `layer`, the `WorkerPool` interface and its errors.
 * - `Shutdown`: the drain `Policy` and the `Report` it produces.
 * - `Durable`: the same pool on a queue kept in Redis or PostgreSQL. Its
 *   stores are separate entry points (`effect-worker-pool/RedisStore`,
 *   `/PostgresStore`, `/MemoryStore`), so that only the client in use loads.
 * - `Periodic`: periodic jobs declared from a cron, one durable job per tick.
 * - `Dashboard`: a web page that shows pools and queues live, with actions on dead letters.
 */
export * as Job from "./Job.ts"
export * as Pool from "./Pool.ts"
export * as Shutdown from "./Shutdown.ts"

/** The pools' metrics, as Effect `Metric`s: names, types, what each counts. */
export * as Metrics from "./Metrics.ts"

/** A pool whose jobs live in a durable store: Redis, PostgreSQL, or memory. */
export * as Durable from "./Durable.ts"

/** The pool with its handler in worker threads, for jobs that compute. */
export * as Threads from "./Threads.ts"

/** Periodic jobs declared from a cron: each tick one durable job, however many processes declare it. */
export * as Periodic from "./Periodic.ts"

/** A web page that shows pools and durable queues as they run, served on Effect's `HttpServer`. */
export * as Dashboard from "./Dashboard.ts"
