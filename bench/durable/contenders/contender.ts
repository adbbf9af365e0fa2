/**
 * The shape of a durable-queue contender in the durable benchmark: which
 * engine it runs on, its settings (shown in the report), the driver's side
 * (offer the jobs, count the completed ones) and the consumer's side (run in
 * a child process, see `../consumer.ts`).
 */

export type Engine = "redis" | "postgres"

/** What the driver process holds during one run on one fresh queue. */
export interface DriverSide {
  /** Offers `n` no-op jobs in batches; resolves once the store holds them all. */
  readonly produce: (n: number) => Promise<void>
  /** Offers these payloads in one call (one batch); resolves once the store holds them. */
  readonly offer: (batch: ReadonlyArray<{ readonly n: number }>) => Promise<void>
  /**
   * Whether the store says all `n` jobs are completed: polled every few
   * milliseconds during the run, so it should cost the server little.
   */
  readonly done: (n: number) => Promise<boolean>
  /** How many jobs of the queue the store says are completed: the check once the run ended. */
  readonly completed: () => Promise<number>
  readonly close: () => Promise<void>
}

/** One consumer process's hold on the queue: connected, but consuming only after `start`. */
export interface ConsumerSide {
  readonly start: () => Promise<void>
  readonly close: () => Promise<void>
}

export interface DurableContender {
  readonly name: string
  readonly engine: Engine
  /** True for this library's pool: the left side of every ratio. */
  readonly ours: boolean
  /** Its consumer settings, for the report. */
  readonly settings: string
  /**
   * At most this many jobs per throughput run, for a contender so much slower
   * that the full count would lengthen the benchmark by minutes (its rate is
   * still jobs ÷ time).
   */
  readonly maxJobs?: number
  readonly driver: (url: string, queue: string) => Promise<DriverSide>
  readonly consumer: (url: string, queue: string) => Promise<ConsumerSide>
}

/** Jobs per offer call, for every contender. */
export const OFFER_BATCH = 1_000

/** The payloads of jobs `from` to `from + count - 1`: what every contender offers. */
export const payloads = (from: number, count: number): Array<{ readonly n: number }> =>
  Array.from({ length: count }, (_, i) => ({ n: from + i }))

/** Calls `offer` on consecutive batches of at most `OFFER_BATCH` payloads, one after another. */
export const inBatches = async (
  n: number,
  offer: (batch: ReadonlyArray<{ readonly n: number }>) => Promise<unknown>
): Promise<void> => {
  for (let from = 0; from < n; from += OFFER_BATCH) await offer(payloads(from, Math.min(OFFER_BATCH, n - from)))
}

/**
 * Whether `name` is kept by `--only`: ours always (the left side of every
 * ratio), any other whose name contains one of the comma-separated words
 * (case-insensitive); every one when `only` is empty.
 */
export const selected = (only: string | undefined, name: string, ours: boolean): boolean =>
  ours || only === undefined || only === "" ||
  only.toLowerCase().split(",").some((word) => word.trim() !== "" && name.toLowerCase().includes(word.trim()))
