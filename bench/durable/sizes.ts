/**
 * The sizes of a durable benchmark run. `full` is what `npm run bench:durable`
 * measures; `tiny` runs every contender end to end in seconds, for the
 * structural test (its numbers mean nothing).
 */
export interface DurableSizes {
  readonly label: "full" | "tiny"
  /** No-op jobs offered, then consumed, per run. */
  readonly jobs: number
  /** Consumer process counts, each measured apart. */
  readonly consumers: ReadonlyArray<number>
  /** Timed runs per contender and consumer count (the median is reported). */
  readonly reps: number
  /** Untimed runs of each contender (one consumer) on a fresh server, before the timed ones. */
  readonly warmups: number
  /**
   * Jobs each consumer process consumes, untimed, on a queue of its own
   * before its timed run (at most a quarter of the run's jobs): the run
   * times a worker that has been running, not a fresh process compiling its
   * code (see `consumer.ts`).
   */
  readonly consumerWarmUpJobs: number
  /** Whether PostgreSQL's tables are analyzed once each run's jobs are offered (see `analyze` in `run.ts`). */
  readonly analyze: boolean
  /** Whether PostgreSQL's database is vacuumed before each measurement (see `vacuum` in `run.ts`). */
  readonly vacuum: boolean
  /** Jobs offered one at a time to an idle queue per contender, for its pickup latency (see `pickup.ts`). */
  readonly pickupJobs: number
  /** Rounds they are split into, the contenders alternating (see `pickupRows` in `run.ts`). */
  readonly pickupRounds: number
  /** Untimed jobs offered the same way at the start of each round (the first connections' and statements' costs). */
  readonly pickupWarmups: number
  /** Whether the throughput runs are made (`--latency-only` skips them). */
  readonly throughput: boolean
  /**
   * Ours only, for the scaling table: more shapes than `consumers` (each on
   * one queue): here 4 consumers on one queue, and 4 consumers each on a
   * queue of its own (the jobs split evenly between the 4 queues).
   */
  readonly scaling: ReadonlyArray<{ readonly consumers: number; readonly queues: number }>
  /** Seconds of steady load per contender for the end-to-end latency (`load.ts`); 0 skips it. */
  readonly loadSeconds: number
  /** `--only`: comma-separated words; only the other contenders whose name contains one run (ours always). */
  readonly only?: string | undefined
}

const scaling = [{ consumers: 4, queues: 1 }, { consumers: 4, queues: 4 }]

export const full: DurableSizes = {
  label: "full",
  jobs: 20_000,
  consumers: [1, 2],
  reps: 3,
  warmups: 1,
  consumerWarmUpJobs: 5_000,
  analyze: true,
  vacuum: true,
  pickupJobs: 400,
  pickupRounds: 4,
  pickupWarmups: 5,
  throughput: true,
  scaling,
  loadSeconds: 4
}

export const tiny: DurableSizes = {
  label: "tiny",
  jobs: 300,
  consumers: [1, 2],
  reps: 1,
  warmups: 0,
  consumerWarmUpJobs: 30,
  analyze: true,
  vacuum: true,
  pickupJobs: 4,
  pickupRounds: 2,
  pickupWarmups: 1,
  throughput: true,
  scaling,
  loadSeconds: 0.3
}
