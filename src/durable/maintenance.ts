/**
 * Maintenance: the one fiber that keeps a queue's store from growing for
 * ever. Every `interval` it asks the store to purge ended jobs older than
 * their retention (`Store.purge`): completed and cancelled jobs after
 * `retention.completed`, dead letters after `retention.buried`; `batch` at
 * a time, and again while a batch comes back full, so that a queue ending
 * more jobs per interval than one batch still keeps only its retention's
 * worth (one batch per run would fall behind for good: at the defaults,
 * 1,000 a minute, any queue ending more than 17 jobs a second). The batch
 * bounds each statement's work on the store; the interval bounds a run, so
 * that a store which always answers a full batch cannot keep it going.
 * Every process working the queue runs it; the store makes that safe (each
 * job is deleted once). A run that fails is logged and left to the next
 * one: nothing waits on it.
 *
 * `Durable.ts` starts it; closing the pool's background scope stops it.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { messageOf } from "../internal/options.ts"
import { quietly } from "../internal/quietly.ts"
import type { Retention, Store, StoreError } from "./Store.ts"

export interface Options {
  readonly store: Store
  readonly queue: string
  readonly retention: Retention
  /** How long between two runs. */
  readonly interval: Duration.Duration
  /** The most jobs one purge deletes: a run asks again while a batch comes back full. */
  readonly batch: number
}

/** Starts the maintenance in `scope`: its first run is one interval from now. */
export const start = (options: Options, scope: Scope.Scope): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(
    purgeCaughtUp(options).pipe(Effect.delay(options.interval), Effect.forever),
    scope
  ))

/**
 * One run: purges a batch, and another while the last came back full,
 * until one interval has passed; a failure is logged, and the next run
 * tries again.
 */
export const purgeCaughtUp = (options: Options): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const { batch, interval, queue, retention, store } = options
    const until = clock.currentTimeMillisUnsafe() + Duration.toMillis(interval)
    // Again only for a full batch: an answer that is no count (a custom store's `undefined`) ends the run.
    const from = (done: number): Effect.Effect<number, StoreError> =>
      Effect.flatMap(store.purge(queue, retention, batch), (purged) =>
        purged >= batch && clock.currentTimeMillisUnsafe() < until ? from(done + purged) : Effect.succeed(done + purged))
    return from(0).pipe(
      Effect.flatMap((purged) =>
        purged > 0 ? quietly(Effect.logDebug("purged ended jobs").pipe(Effect.annotateLogs({ queue, purged }))) : Effect.void
      ),
      // A failure, or a custom store's defect: the maintenance goes on at its next run. Not an interruption.
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.interrupt
          : quietly(Effect.logWarning("purging ended jobs failed; the next run tries again", messageOf(Cause.squash(cause))))
      )
    )
  })
