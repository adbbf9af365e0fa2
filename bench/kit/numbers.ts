/**
 * The numbers of both benchmarks: how samples are summarized (the median is
 * what the tables report; one slow repetition, a GC or a noisy neighbour,
 * does not move it, and min and max show the spread) and how numbers are
 * written, so that every table and the chart say the same thing.
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

export const integer = (n: number): string => Math.round(n).toLocaleString("en-US")

/** Jobs per second, short: "1.23 M/s", "45.6 k/s". */
export const rate = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k/s` : `${n.toFixed(0)} /s`

export const ratio = (n: number): string => `${n.toFixed(2)}×`

export const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`

/** Milliseconds with microsecond precision. */
export const ms = (n: number): string => `${n.toFixed(3)} ms`

/** A summary's spread as a table cell: "12 – 34". */
export const spread = (summary: Summary, format: (n: number) => string): string =>
  `${format(summary.min)} – ${format(summary.max)}`
