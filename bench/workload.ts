/**
 * What every contender is given: the items to process, how many run at once,
 * how many may wait, and the job to run for each item.
 *
 * The job comes in three flavours of the *same* work (an Effect, a plain
 * function, a Node-style callback function), so that each library runs it in
 * its native form and none pays for an adapter the others do not.
 */
import type * as Effect from "effect/Effect"

/** One unit of work, in the form each kind of contender takes. */
export interface Job {
  /** A short name, for tables. */
  readonly name: string
  /** For Effect contenders: built once, run once per item. */
  readonly effect: Effect.Effect<void>
  /** For p-queue, p-limit and fastq.promise: sync or async. */
  readonly fn: () => void | Promise<void>
  /** For the fastq callback API: calls `done(null)` once the work is over. */
  readonly callback: (done: (error: null) => void) => void
}

/** A workload: the same for every contender within a run. */
export interface Workload {
  /** An array in throughput runs (no copy for anyone), a lazy range in memory runs (see `range`). */
  readonly items: Iterable<number>
  /** How many items there are. */
  readonly jobs: number
  /** Jobs running at once. */
  readonly workers: number
  /** Jobs that may wait for a worker, for contenders with a bounded queue. */
  readonly capacity: number
  readonly job: Job
}

/**
 * A lazy range 0..n-1. The memory runs use it instead of an array, so that
 * peak RSS measures the contender, not a million-element input array. (A
 * contender that copies its input, like `Effect.forEach` with concurrency,
 * pays for that copy itself.)
 *
 * A generator, as a user would write one: its results are made by V8 itself.
 * An iterator returning an object literal gave V8's pretenuring an allocation
 * site to track, and once it saw most of those results outlive a
 * young-generation collection, it allocated every later one in the old
 * generation: peak RSS then measured that decision (about 170 MiB instead
 * of 130 over a million jobs), not the contender.
 */
export const range = (n: number): Iterable<number> => ({
  *[Symbol.iterator]() {
    for (let i = 0; i < n; i++) yield i
  }
})

/** The same items, as an array: the cheapest to iterate, shared by every contender. */
export const array = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)
