/**
 * The sizes of a run. `full` is what `npm run bench` measures and what the
 * targets (`checkTargets` in `results.ts`) refer to; `tiny` runs every workload end to end in a few
 * seconds, for the structural test (its numbers mean nothing).
 */
export interface Sizes {
  readonly label: "full" | "tiny"
  /** Workloads 1, 2 and 4: workers and queue capacity. */
  readonly workers: number
  readonly capacity: number
  /** Workload 1: no-op jobs. */
  readonly noopJobs: number
  /** Workload 2: jobs that await a resolved promise. */
  readonly tickJobs: number
  /** Workload 3: jobs that sleep `sleepMs` on a real timer, with `sleepWorkers` workers. */
  readonly sleepJobs: number
  readonly sleepWorkers: number
  readonly sleepMs: number
  /** Timed repetitions per contender (the median is reported), after `warmups` untimed ones. */
  readonly reps: number
  readonly warmups: number
  /** Workload 4: no-op jobs in the small and the large child process. */
  readonly memorySmall: number
  readonly memoryLarge: number
  /** Workload 5: idle pools closed (median reported), and drains with a hanging job. */
  readonly idleCloses: number
  readonly drains: number
  readonly drainTimeoutMs: number
}

export const full: Sizes = {
  label: "full",
  workers: 8,
  capacity: 1024,
  noopJobs: 1_000_000,
  tickJobs: 1_000_000,
  sleepJobs: 20_000,
  sleepWorkers: 256,
  sleepMs: 5,
  reps: 5,
  warmups: 1,
  memorySmall: 10_000,
  memoryLarge: 1_000_000,
  idleCloses: 200,
  drains: 10,
  drainTimeoutMs: 50
}

export const tiny: Sizes = {
  label: "tiny",
  workers: 8,
  capacity: 1024,
  noopJobs: 2_000,
  tickJobs: 2_000,
  sleepJobs: 512,
  sleepWorkers: 256,
  sleepMs: 5,
  reps: 1,
  warmups: 1,
  memorySmall: 200,
  memoryLarge: 2_000,
  idleCloses: 5,
  drains: 1,
  drainTimeoutMs: 50
}
