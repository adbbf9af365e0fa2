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
import {
  decodeDuration,
  describe,
  type Invalid,
  isInvalid,
  isOptionsObject,
  notAnObject,
  unreadable
} from "./internal/options.ts"
import type { Job } from "./Job.ts"

/**
 * How a shutdown proceeds.
 *
 * - `timeout`: how long to wait for the workers before interrupting what
 *   still runs. Zero means "do not wait". Default 30 seconds.
 * - `backlog`: `"drain"` runs the queued jobs too before stopping (Go's
 *   `close(jobs)`); `"return"` takes them out of the queue unstarted and
 *   hands them back in `Report.abandoned`. Default `"drain"`.
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
  /** Jobs accepted but never started: handed back, not dropped. */
  readonly abandoned: ReadonlyArray<Job<A>>
  /** Whether the deadline was reached. */
  readonly timedOut: boolean
  /** How long the shutdown took. */
  readonly elapsed: Duration.Duration
}

/** A policy whose timeout has been decoded. */
export interface Resolved {
  readonly timeout: Duration.Duration
  readonly backlog: "drain" | "return"
}

/**
 * Applies `overrides` on top of `base`, validating each given field; an
 * `Invalid` names the wrong one (`"shutdown.timeout"`) and says why.
 */
export const resolve = (base: Resolved, overrides: Partial<Policy> | undefined): Resolved | Invalid => {
  if (overrides === undefined) return base
  if (!isOptionsObject(overrides)) return notAnObject("shutdown", overrides)
  // Each field is read once; which one is being read names it, should reading throw.
  let reading = "shutdown.timeout"
  try {
    const timeout = overrides.timeout
    reading = "shutdown.backlog"
    const backlog = overrides.backlog
    return resolveFields(base, timeout, backlog)
  } catch (error) {
    return unreadable(reading, error)
  }
}

const resolveFields = (base: Resolved, timeout: unknown, backlog: unknown): Resolved | Invalid => {
  const decoded = timeout === undefined
    ? base.timeout
    : decodeDuration("shutdown.timeout", timeout, { allowZero: true })
  if (isInvalid(decoded)) return decoded
  if (backlog === undefined) return { timeout: decoded, backlog: base.backlog }
  if (backlog !== "drain" && backlog !== "return") {
    return { option: "shutdown.backlog", reason: `must be "drain" or "return", got ${describe(backlog)}` }
  }
  return { timeout: decoded, backlog }
}

/** The default policy, decoded. */
export const defaultResolved: Resolved = {
  timeout: Duration.fromInputUnsafe(defaultPolicy.timeout),
  backlog: defaultPolicy.backlog
}
