/**
 * The lease book: every lease this process holds, from its claim until its
 * ending is in the store. It alone keeps that state; the others ask it.
 *
 * A lease goes through these stages (`Life`), in this order:
 *
 * - held: claimed; its job runs or waits for a worker;
 * - ended: its job ended and what to tell the store is decided (`Ending`);
 *   it waits for the settler;
 * - settling: taken by the settler, on its way to the store;
 * - stored: the store has it (or the settler gave up on it): no longer ours.
 *
 * Until stored, a lease is still this process's and must be renewed
 * (`toRenew`): a store slow to take an acknowledgement would otherwise see
 * the lease run out and hand the job, done, to a worker again.
 *
 * Who calls what: the fetcher reserves room for each claim (`reserve`,
 * `unreserve`), holds the leases it claims (`hold`), ends those it cannot
 * deliver (`end`, `endUnheld`) and waits for `room`; the
 * pool's hook ends a lease as its job ends (`endDelivery`); the settler takes
 * the ended ones (`takeEnded`), marks them `stored`, and at shutdown says
 * there will be no more (`noMoreEndings`); the heartbeat renews `toRenew`
 * and marks the held leases whose job the store cancelled or no longer
 * holds for us (`cancelHeld`): those end without a word to the store, which
 * would ignore it.
 * Every transition is synchronous, so none can interleave with another.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Queue from "effect/Queue"
import type * as Pool from "../Pool.ts"
import * as Failures from "./failures.ts"
import * as JobOptions from "./jobOptions.ts"
import { snoozedFor } from "./snooze.ts"
import type { Claimed, Lease } from "./Store.ts"

/** What the store is told of a lease once its job ended. */
export type Ending =
  /** Done for good. */
  | { readonly _tag: "complete" }
  /** Ready again at once, the attempt not counted: not the job's fault (cut off, never started). */
  | { readonly _tag: "release" }
  /**
   * Ready again after a delay: the job's own `backoff`'s, if it has one,
   * else the pool's retry schedule's, for `attempt`, which failed with
   * `error` (rendered, for the log).
   */
  | {
    readonly _tag: "retry"
    readonly attempt: number
    readonly error: string
    readonly backoff: JobOptions.Settings["retry"] | undefined
  }
  /** Dead-lettered after `attempts` deliveries, with `error` as the reason. */
  | { readonly _tag: "bury"; readonly error: string; readonly attempts: number }
  /** Ready again after `delay`, the attempt given back: the handler snoozed (`snooze.ts`) on `attempt`. */
  | { readonly _tag: "snooze"; readonly delay: Duration.Duration; readonly attempt: number }

export const complete: Ending = { _tag: "complete" }
export const release: Ending = { _tag: "release" }
export const retry = (attempt: number, error: string, backoff?: JobOptions.Settings["retry"]): Ending => ({
  _tag: "retry",
  attempt,
  error,
  backoff
})
export const bury = (error: string, attempts: number): Ending => ({ _tag: "bury", error, attempts })

/** Claimed; its job runs or waits for a worker. */
export interface Held {
  readonly _tag: "Held"
  readonly lease: Lease
  /**
   * The store's attempt when this process claimed the job again while its
   * own delivery still ran (see `hold`): the store counted one delivery
   * more, so a failure counts as this attempt, not the one the handler got.
   */
  readonly reclaimedAs: number | undefined
  /** The job's own settings, kept with it in the store: they override the pool's. */
  readonly own: JobOptions.Settings | undefined
}

/** Its ending decided, waiting for the settler. */
export interface Ended {
  readonly _tag: "Ended"
  readonly lease: Lease
  readonly ending: Ending
}

/** Taken by the settler, on its way to the store. */
export interface Settling {
  readonly _tag: "Settling"
  readonly lease: Lease
  readonly ending: Ending
}

/** In the store, or given up on: its lease may run out now. */
export interface Stored {
  readonly _tag: "Stored"
  readonly lease: Lease
}

/** A lease's life in this process. */
export type Life = Held | Ended | Settling | Stored

/** The state of the lease book. Read it through the functions below; only they change it. */
export interface Book {
  /** How many leases may be held at once: the pool's workers plus its prefetch. */
  readonly capacity: number
  /** Deliveries before a failing job is dead-lettered, unless the job has its own. */
  readonly maxAttempts: number
  /** Whether a job's failure may be retried; one that may not is dead-lettered at once. */
  readonly retryable: (cause: Cause.Cause<unknown>) => boolean
  /** Held leases by job id: one per job (a job claimed again keeps one delivery, under the newer lease). */
  readonly held: Map<string, Held>
  /**
   * Ended and settling leases, by lease. A job may have several: ended here,
   * then claimed again (its lease ran out) before its ending reached the store.
   */
  readonly leaving: Map<Lease, Ended | Settling>
  /** The ended leases, in the order they ended, for the settler. */
  readonly ended: Queue.Queue<Ended, Cause.Done>
  /**
   * Leases the claims in flight may bring: each claim reserves as many as
   * it asks for (`reserve`) and gives them back once its jobs are held
   * (`unreserve`), so that held and reserved leases together never exceed
   * `capacity`, however many claims are in flight.
   */
  claiming: number
  /** Open while the fetcher may claim; closed while it waits for room. */
  readonly room: Latch.Latch
  /**
   * How many free leases the waiting fetcher waits for: an `end` that
   * leaves fewer wakes nobody (no wake-up per job while a claim is in
   * flight and the fetcher waits for room for a second one).
   */
  wanted: number
  /** Ids of held leases whose job the store cancelled: they end with nothing to tell it. */
  readonly cancelled: Set<string>
}

export const make = (
  options: Pick<Book, "capacity" | "maxAttempts" | "retryable">
): Effect.Effect<Book> =>
  Effect.map(Queue.unbounded<Ended, Cause.Done>(), (ended) => ({
    ...options,
    held: new Map(),
    leaving: new Map(),
    ended,
    claiming: 0,
    room: Latch.makeUnsafe(true),
    wanted: 1,
    cancelled: new Set()
  }))

/**
 * Holds a claimed lease, with the job's `own` settings (read from `claimed`
 * unless the caller has read them). Returns whether to deliver its job: not
 * when this process's own delivery of the job still runs (its lease ran out,
 * a heartbeat lost in an outage, and it was claimed here again). Then the
 * one delivery goes on under the new lease, rather than run twice at once.
 */
export const hold = (
  book: Book,
  claimed: Claimed,
  own: JobOptions.Settings | undefined = JobOptions.parse(claimed.settings)
): boolean => {
  const lease: Lease = { id: claimed.id, token: claimed.token }
  const running = book.held.has(claimed.id)
  book.held.set(claimed.id, { _tag: "Held", lease, reclaimedAs: running ? claimed.attempt : undefined, own })
  return !running
}

/**
 * What to tell the store of a delivery that ended as the pool says, on the
 * store's `attempt`, by the job's `own` settings, else the `book`'s.
 */
export const decide = (
  book: Pick<Book, "maxAttempts" | "retryable">,
  ending: Pool.Ending,
  attempt: number,
  own: JobOptions.Settings | undefined
): Ending => {
  switch (ending._tag) {
    case "Succeeded":
      return complete
    // Failed, died, timed out, or interrupted itself before the shutdown:
    // its fault. (Released, a handler that interrupts itself would come back for ever.)
    case "Failed": {
      const snoozed = snoozedFor(ending.cause)
      if (snoozed !== undefined) return { _tag: "snooze", delay: snoozed, attempt }
      const error = Failures.describe(ending.cause)
      const last = attempt >= (own?.maxAttempts ?? book.maxAttempts) || !book.retryable(ending.cause)
      return last ? bury(error, attempt) : retry(attempt, error, own?.retry)
    }
    // Cut off by the shutdown, never started, given up on: not its fault, so
    // the attempt is given back.
    default:
      return release
  }
}

/** The pool's hook: ends a held lease by how the pool says its delivery ended. */
export const endDelivery = (book: Book, job: { readonly id: string; readonly attempt: number }, ending: Pool.Ending) => {
  const held = book.held.get(job.id)
  if (held === undefined) return
  end(book, job.id, decide(book, ending, held.reclaimedAs ?? job.attempt, held.own))
}

/**
 * Held → ended: makes room for another claim. Does nothing if the job holds
 * no lease. A lease the store cancelled goes straight to stored: the store
 * already ended it, and would ignore its ending.
 */
export const end = (book: Book, id: string, ending: Ending): void => {
  const held = book.held.get(id)
  if (held === undefined) return
  book.held.delete(id)
  if (!book.cancelled.delete(id)) endUnheld(book, held.lease, ending)
  if (free(book) >= book.wanted) book.room.openUnsafe()
}

/** The lease under which this process delivers the job `id` now, if it does. */
export const heldLease = (book: Book, id: string): Lease | undefined => book.held.get(id)?.lease

/**
 * The store cancelled the job `id`: if this process holds its lease, its
 * delivery is to be stopped, and its ending told to nobody. Returns whether
 * it was held (and not already marked).
 */
export const cancelHeld = (book: Book, id: string): boolean => {
  if (!book.held.has(id) || book.cancelled.has(id)) return false
  book.cancelled.add(id)
  return true
}

/** Claimed → ended, never held: a job never delivered (its payload does not decode). */
export const endUnheld = (book: Book, lease: Lease, ending: Ending): void => {
  const ended: Ended = { _tag: "Ended", lease, ending }
  book.leaving.set(lease, ended)
  Queue.offerUnsafe(book.ended, ended)
}

/** Ended → settling: waits for ended leases and takes all there are. Fails with `Done` once there will be no more. */
export const takeEnded = (book: Book): Effect.Effect<ReadonlyArray<Settling>, Cause.Done> =>
  Effect.map(Queue.takeAll(book.ended), (batch) =>
    batch.map(({ ending, lease }) => {
      const settling: Settling = { _tag: "Settling", lease, ending }
      book.leaving.set(lease, settling)
      return settling
    }))

/** Settling → stored: no longer renewed. */
export const stored = (book: Book, settling: Settling): Stored => {
  book.leaving.delete(settling.lease)
  return { _tag: "Stored", lease: settling.lease }
}

/** No lease will end any more (the pool drained, the fetcher stopped): `takeEnded` hands out the last ones, then fails. */
export const noMoreEndings = (book: Book): void => {
  Queue.endUnsafe(book.ended)
}

/** The leases to renew: the held ones, and those whose ending is on its way to the store. */
export const toRenew = (book: Book): ReadonlyArray<Lease> => [
  ...Array.from(book.held.values(), (held) => held.lease),
  ...book.leaving.keys()
]

/** How many more leases the fetcher may claim now: neither held nor reserved by a claim in flight. */
export const free = (book: Book): number => book.capacity - book.held.size - book.claiming

/** A claim about to ask for `n` leases: they are no longer free until `unreserve`. */
export const reserve = (book: Book, n: number): void => {
  book.claiming += n
}

/**
 * The claim that reserved `n` leases answered, and the jobs it got are held
 * (or ended): its reservation is given back, and the waiting fetcher looks
 * again (a claim fewer in flight may let it claim).
 */
export const unreserve = (book: Book, n: number): void => {
  book.claiming -= n
  book.room.openUnsafe()
}

/** Waits until the fetcher may claim, and says how many. */
export const room = (book: Book): Effect.Effect<number> =>
  Effect.suspend(() => {
    const n = free(book)
    if (n > 0) return Effect.succeed(n)
    return Effect.andThen(roomChanged(book, 1), room(book))
  })

/**
 * Waits until `atLeast` leases may be free: an `end` that leaves that many,
 * or a claim's reservation given back. The caller looks again: this only
 * says something changed.
 */
export const roomChanged = (book: Book, atLeast: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    book.wanted = atLeast
    // An `end` opens it again; one that comes before the wait begins leaves it open, so no wake-up is lost.
    book.room.closeUnsafe()
    return book.room.await
  })
