/**
 * The heartbeat: the one fiber that keeps this process's leases from
 * running out. A third of the way through a lease it renews every lease the
 * lease book says is still ours (held, or ended but not yet in the store),
 * retrying through an outage. `Durable.ts` starts it; closing the pool's
 * background scope stops it.
 *
 * Internal: not an entry point of the package.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Leases from "./leases.ts"
import { throughOutage } from "./outage.ts"
import type { Store } from "./Store.ts"

export interface Options {
  readonly store: Store
  readonly queue: string
  /** How long each renewal extends a lease by. */
  readonly lease: Duration.Duration
  readonly book: Leases.Book
}

/** Starts the heartbeat in `scope`. */
export const start = (options: Options, scope: Scope.Scope): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(
    renew(options).pipe(Effect.delay(Duration.divideUnsafe(options.lease, 3)), Effect.forever),
    scope
  ))

/** Renews the leases still ours, if any. */
const renew = ({ book, lease, queue, store }: Options): Effect.Effect<void> =>
  Effect.suspend(() => {
    const leases = Leases.toRenew(book)
    return leases.length === 0 ? Effect.void : throughOutage("renewing leases", store.extend(queue, leases, lease))
  })
