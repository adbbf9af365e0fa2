/**
 * Median, min and max of a set of samples: the median is what the tables
 * report (one slow repetition, a GC or a noisy neighbour, does not move it),
 * min and max show the spread.
 */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const summarize = (samples: ReadonlyArray<number>): Summary => {
  if (samples.length === 0) throw new Error("no samples to summarize")
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}
