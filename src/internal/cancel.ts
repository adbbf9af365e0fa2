/**
 * Cancelling an accepted job by its id, for a pool built on this one (the
 * durable pool, whose store can cancel a job another process asked to stop).
 *
 * Only a pool made with `Hooks.cancellable` keeps its jobs by id
 * (`PoolState.byId`): from the moment one is accepted until it ends. Such a
 * pool runs each job in a fiber of its own, as it runs a `run` job, so that
 * the one job can be interrupted without its worker. Cancelling marks the
 * entry as a `run` caller giving up does: a queued job is skipped when a
 * worker takes it, a running one is interrupted, and either ends through
 * the ledger as `Cancelled`.
 *
 * @internal
 */
import type { Entry, PoolState } from "./state.ts"

/** Keeps an accepted job by its id, if the pool is cancellable. */
export const track = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  if (state.byId !== undefined) state.byId.set(entry.job.id, entry)
}

/** Forgets an ended job. */
export const untrack = <A, B, E, R>(state: PoolState<A, B, E, R>, id: string): void => {
  state.byId?.delete(id)
}

/**
 * Cancels the job `id`, if the pool holds it and it has not ended: returns
 * its entry, or `undefined` if there was none to cancel. The interruption of
 * a running job is requested here and happens as its fiber next yields (its
 * finalizers run then); its ending reaches the hooks once it has stopped. A
 * delayed job not due yet is the caller's to take out (`Admission.withdraw`,
 * which hands its place to the waiting submits: this module sits below it).
 */
export const cancel = <A, B, E, R>(state: PoolState<A, B, E, R>, id: string): Entry<A, B, E> | undefined => {
  const entry = state.byId?.get(id)
  if (entry === undefined || entry.cancelled) return undefined
  entry.cancelled = true
  // Queued: the worker that takes it skips it (`executor.ts`).
  entry.fiber?.interruptUnsafe()
  return entry
}
