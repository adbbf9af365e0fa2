/**
 * Maintenance: the one fiber that keeps a queue's store from growing for
 * ever. Every `interval` it asks the store to purge up to `batch` ended jobs
 * older than their retention (`Store.purge`): completed and cancelled jobs
 * after `retention.completed`, dead letters after `retention.buried`. Every
 * process working the queue runs it; the store makes that safe (each job is
 * deleted once), and the batch bounds each run's work on the store. A run
 * that fails is logged and left to the next one: nothing waits on it.
 *
 * `Durable.ts` starts it; closing the pool's background scope stops it.
 *
 * Internal: not an entry point of the package.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { quietly } from "../internal/quietly.ts"
import type { Retention, Store } from "./Store.ts"

export interface Options {
  readonly store: Store
  readonly queue: string
  readonly retention: Retention
  /** How long between two runs. */
  readonly interval: Duration.Duration
  /** The most jobs one run deletes. */
  readonly batch: number
}

/** Starts the maintenance in `scope`: its first run is one interval from now. */
export const start = (options: Options, scope: Scope.Scope): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(
    purgeOnce(options).pipe(Effect.delay(options.interval), Effect.forever),
    scope
  ))

/** One run: purges a batch; a failure is logged, and the next run tries again. */
export const purgeOnce = ({ batch, queue, retention, store }: Options): Effect.Effect<void> =>
  store.purge(queue, retention, batch).pipe(
    Effect.flatMap((purged) =>
      purged === 0 ? Effect.void : quietly(Effect.logDebug("purged ended jobs").pipe(Effect.annotateLogs({ queue, purged })))
    ),
    Effect.catch((error) => quietly(Effect.logWarning("purging ended jobs failed; the next run tries again", error.message)))
  )
