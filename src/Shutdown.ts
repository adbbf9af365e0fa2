/**
 * Graceful shutdown: the `Policy` that bounds it and the `Report` that
 * accounts for every job it touched. The drain protocol a pool follows is
 * internal (`internal/drain.ts`).
 *
 * The protocol is the Go blueprint's `close(jobs); wg.Wait()` with its "Pro
 * Tip" built in: stop accepting, let the workers finish (or hand the backlog
 * back), wait at most `timeout`, then interrupt what still runs (its
 * finalizers run) and hand back what never started. Nothing is dropped
 * silently: every job ends up in the report by count or by value.
 *
 * ```ts
 * import { Effect } from "effect"
 * import type { Pool } from "effect-worker-pool"
 *
 * declare const pool: Pool.WorkerPool<string, void, never>
 *
 * const stop = Effect.gen(function*() {
 *   const report = yield* pool.shutdown({ timeout: "10 seconds", backlog: "return" })
 *   // report.abandoned: accepted, never started, handed back by value
 *   // report.interrupted: still running at the deadline, interrupted
 * })
 * ```
 */
import * as Duration from "effect/Duration"
import type { Job } from "./Job.ts"

/**
 * How a shutdown proceeds.
 *
 * - `timeout`: how long to wait for the workers before interrupting what
 *   still runs. Zero means "do not wait". Default 30 seconds.
 * - `backlog`: `"drain"` runs the queued jobs too before stopping (Go's
 *   `close(jobs)`); `"return"` takes them out of the queue unstarted and
 *   hands them back in `Report.abandoned`. Default `"drain"`. Either way,
 *   delayed jobs (`Job.Options.delay`) not due when the shutdown begins are
 *   handed back at once: a drain does not wait for them.
 */
export interface Policy {
  readonly timeout: Duration.Input
  readonly backlog: "drain" | "return"
}

/** The policy a pool uses when neither its options nor `shutdown` say otherwise. */
export const defaultPolicy: Policy = { timeout: "30 seconds", backlog: "drain" }

/**
 * What a shutdown did. Counts are over the pool's whole life; the jobs that
 * did not complete are given by value so that the caller can retry, persist
 * or log them.
 */
export interface Report<A> {
  readonly succeeded: number
  readonly failed: number
  readonly died: number
  /** Jobs cancelled by their `run` caller, over the pool's life. */
  readonly cancelled: number
  /**
   * Jobs interrupted, once the shutdown had begun, before they completed:
   * those still running at the deadline, and any handler that interrupted
   * itself during the drain. Bounded by what the pool held when the shutdown
   * began (its workers and its queue).
   */
  readonly interrupted: ReadonlyArray<Job<A>>
  /**
   * Jobs whose handler interrupted itself before the shutdown began: counted,
   * not kept, so that a pool that runs for months holds none of them.
   */
  readonly interruptedBeforeShutdown: number
  /**
   * Jobs accepted but never started: handed back, not dropped. Delayed jobs
   * not due when the shutdown began are among them, whatever the policy.
   */
  readonly abandoned: ReadonlyArray<Job<A>>
  /** Whether the deadline was reached. */
  readonly timedOut: boolean
  /** How long the shutdown took. */
  readonly elapsed: Duration.Duration
}

