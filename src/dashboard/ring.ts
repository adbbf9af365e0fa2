/**
 * A ring of the last `capacity` values: what keeps every series the
 * dashboard samples (per-second counts, run times, recent outcomes) bounded
 * however long it runs and however many jobs flow. Pushing overwrites the
 * oldest value once full; nothing is allocated per push.
 *
 * Internal: not an entry point of the package.
 */

export interface Ring<A> {
  readonly capacity: number
  readonly items: Array<A | undefined>
  /** Where the next value goes. */
  next: number
  /** How many values it holds (at most `capacity`). */
  size: number
}

export const make = <A>(capacity: number): Ring<A> => ({
  capacity,
  items: new Array<A | undefined>(capacity).fill(undefined),
  next: 0,
  size: 0
})

export const push = <A>(ring: Ring<A>, value: A): void => {
  ring.items[ring.next] = value
  ring.next = (ring.next + 1) % ring.capacity
  if (ring.size < ring.capacity) ring.size++
}

/** The values held, oldest first. */
export const toArray = <A>(ring: Ring<A>): Array<A> => {
  const out: Array<A> = []
  const start = (ring.next - ring.size + ring.capacity) % ring.capacity
  for (let i = 0; i < ring.size; i++) out.push(ring.items[(start + i) % ring.capacity] as A)
  return out
}

/** The run-time percentiles the dashboard shows, in milliseconds. */
export interface Percentiles {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  /** How many run times they were computed from. */
  readonly count: number
}

/**
 * The percentile `p` (0..1) of `sorted` (ascending, not empty), by the
 * nearest-rank method: the smallest value at or above which a share `p` of
 * the values lie.
 */
export const nearestRank = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

/** p50, p90 and p99 of the values held; `undefined` when there are none. */
export const percentiles = (ring: Ring<number>): Percentiles | undefined => {
  if (ring.size === 0) return undefined
  const sorted = toArray(ring).sort((a, b) => a - b)
  return {
    p50: nearestRank(sorted, 0.5),
    p90: nearestRank(sorted, 0.9),
    p99: nearestRank(sorted, 0.99),
    count: sorted.length
  }
}
