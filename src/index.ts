/**
 * effect-worker-pool: a production worker pool for Effect.
 *
 * - `Job`: the job value, its options, its `Outcome` and job-level errors.
 * - `Pool`: `make`, `layer`, the `WorkerPool` interface and its errors.
 * - `Shutdown`: the drain `Policy` and the `Report` it produces.
 */
export * as Job from "./Job.ts"
export * as Pool from "./Pool.ts"
export * as Shutdown from "./Shutdown.ts"

/** A pool whose jobs live in a durable store: Redis, PostgreSQL, or memory. */
export * as Durable from "./Durable.ts"
