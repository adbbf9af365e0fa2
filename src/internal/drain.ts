/**
 * The drain protocol a pool follows as it shuts down: the Go blueprint's
 * `close(jobs); wg.Wait()` with its "Pro Tip" built in. Stop accepting, let
 * the workers finish (or hand the backlog back), wait at most the policy's
 * `timeout`, then interrupt what still runs (its finalizers run) and hand
 * back what never started. Delayed jobs not due when it begins are handed
 * back at once, with either policy.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { Job } from "../Job.ts"
import type { Report } from "../Shutdown.ts"
import type { Resolved } from "./policy.ts"
import { quietly } from "./quietly.ts"

/**
 * What the drain protocol needs from a pool. The pool keeps its state; the
 * protocol decides the order of the steps.
 */
export interface Drainable<A> {
  /** From now on nothing is accepted; submits waiting for room are refused. */
  readonly stopAccepting: () => void
  /**
   * Takes out the delayed jobs that are not due yet (those that are go to the
   * queue): they never start, whatever the backlog policy.
   */
  readonly takeNotDue: Effect.Effect<Array<Job<A>>>
  /** Takes the jobs still queued out of the queue: they never started. */
  readonly takeBacklog: Effect.Effect<Array<Job<A>>>
  /** Lets the workers finish what is queued, then stop (Go's `close(jobs)`). */
  readonly closeQueue: () => void
  /** Completes when every worker has stopped. */
  readonly awaitWorkers: Effect.Effect<void>
  /** Interrupts the workers and waits until they, and their jobs' finalizers, are done. */
  readonly interruptWorkers: Effect.Effect<void>
  /** Marks the pool closed, ends its outcome streams, and returns its totals. */
  readonly close: () => Omit<Report<A>, "abandoned" | "timedOut" | "elapsed">
}

/**
 * Runs the drain protocol on `pool` under `policy` and reports what happened.
 *
 * It is not interruptible: once begun, a shutdown finishes (within its
 * timeout), whatever happens to whoever asked for it.
 */
export const drain = <A>(pool: Drainable<A>, policy: Resolved): Effect.Effect<Report<A>> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    pool.stopAccepting()
    // A drain does not wait for jobs that are not due: it would not be bounded by what is queued.
    const notDue = yield* pool.takeNotDue
    const abandoned = policy.backlog === "return" ? yield* pool.takeBacklog : []
    abandoned.push(...notDue)
    pool.closeQueue()
    yield* quietly(Effect.annotateLogs(
      Effect.logDebug("draining"),
      { backlog: policy.backlog, timeout: Duration.format(policy.timeout) }
    ))
    const finished = yield* Effect.timeoutOption(pool.awaitWorkers, policy.timeout)
    const timedOut = finished._tag === "None"
    if (timedOut) {
      // The backlog goes first, so that no worker starts another job while
      // the running ones are being interrupted.
      abandoned.push(...(yield* pool.takeBacklog))
      yield* pool.interruptWorkers
    }
    // Whatever is still queued now (nothing, unless a worker died) is handed
    // back rather than left behind.
    abandoned.push(...(yield* pool.takeBacklog))
    const totals = pool.close()
    const elapsed = Duration.millis((yield* Clock.currentTimeMillis) - startedAt)
    if (timedOut) {
      yield* quietly(Effect.logWarning("shutdown deadline reached").pipe(Effect.annotateLogs({
        interrupted: totals.interrupted.length,
        abandoned: abandoned.length
      })))
    }
    return { ...totals, abandoned, timedOut, elapsed }
  }))
