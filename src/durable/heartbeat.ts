/**
 * The heartbeat: the one fiber that keeps this process's leases from
 * running out. A third of the way through a lease it renews every lease the
 * lease book says is still ours (held, or ended but not yet in the store),
 * retrying through an outage. The store answers which of them it no longer
 * holds for us: cancelled meanwhile (by any process; and maybe removed,
 * redriven or purged since, before this heard of the cancel), or taken over
 * by another holder once a lease ran out. The heartbeat stops those
 * deliveries as cancelled (the ones still under the lease it asked about),
 * whose endings would do nothing, and counts them as leases lost: a running
 * job is cancelled within a third of a lease, whatever was done to it after.
 * `Durable.ts` starts it; closing the pool's background scope stops it.
 *
 * Internal: not an entry point of the package.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Leases from "./leases.ts"
import { type DurableMetrics, leasesLost } from "./metrics.ts"
import { throughOutage } from "./outage.ts"
import type { Lease, Store } from "./Store.ts"

export interface Options {
  readonly store: Store
  readonly queue: string
  /** How long each renewal extends a lease by. */
  readonly lease: Duration.Duration
  readonly book: Leases.Book
  /** Stops this process's delivery of the job `id` (the pool's `cancel`). */
  readonly stop: (id: string) => void
  /** Where the leases found lost are counted, if the pool has metrics. */
  readonly metrics?: DurableMetrics | undefined
}

/** Starts the heartbeat in `scope`. */
export const start = (options: Options, scope: Scope.Scope): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(
    renew(options).pipe(Effect.delay(Duration.divideUnsafe(options.lease, 3)), Effect.forever),
    scope
  ))

/** Renews the leases still ours, if any. */
const renew = ({ book, lease, metrics, queue, stop, store }: Options): Effect.Effect<void> =>
  Effect.suspend(() => {
    const leases = Leases.toRenew(book)
    if (leases.length === 0) return Effect.void
    return throughOutage(
      "renewing leases",
      Effect.map(store.extend(queue, leases, lease), (lost) => {
        leasesLost(metrics, "renewal", stopLost(book, leases, lost, stop))
      })
    )
  })

/**
 * Stops the deliveries whose leases among `asked` the store no longer
 * holds: only where the lease held now is the one asked about. A job claimed
 * here again since (its lease ran out in an outage, while this renewal was
 * retried) runs on under its new lease. Returns how many it stopped.
 */
const stopLost = (
  book: Leases.Book,
  asked: ReadonlyArray<Lease>,
  lost: ReadonlyArray<string>,
  stop: (id: string) => void
): number => {
  if (lost.length === 0) return 0
  const askedAbout = new Set(asked)
  return stopCancelled(book, lost.filter((id) => {
    const held = Leases.heldLease(book, id)
    return held !== undefined && askedAbout.has(held)
  }), stop)
}

/**
 * Stops the deliveries this process holds of the jobs the store cancelled,
 * or no longer holds for it. Returns how many it stopped (one already
 * stopped, or no longer held, is not).
 */
export const stopCancelled = (book: Leases.Book, ids: ReadonlyArray<string>, stop: (id: string) => void): number => {
  let stopped = 0
  for (const id of ids) {
    if (Leases.cancelHeld(book, id)) {
      stop(id)
      stopped++
    }
  }
  return stopped
}
