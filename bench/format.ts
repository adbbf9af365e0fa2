/** Number formats shared by the report and the chart, so both say the same thing. */

export const integer = (n: number): string => Math.round(n).toLocaleString("en-US")

/** Jobs per second, short: "1.23 M/s", "45.6 k/s". */
export const rate = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k/s` : `${n.toFixed(0)} /s`

export const ratio = (n: number): string => `${n.toFixed(2)}×`

export const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`

/** Milliseconds with microsecond precision. */
export const ms = (n: number): string => `${n.toFixed(3)} ms`
