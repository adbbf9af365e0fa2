/**
 * The one side effect every job has: counting itself. After each run the
 * harness checks that the count equals the number of jobs, so a contender that
 * drops jobs (or returns before they ran) fails loudly instead of looking fast.
 */

/** Jobs that ran since the last `reset`. A mutable cell shared by every job definition. */
export const counter = { count: 0 }

export const reset = (): void => {
  counter.count = 0
}

/** Throws unless exactly `jobs` jobs ran. */
export const verify = (contender: string, jobs: number): void => {
  if (counter.count !== jobs) {
    throw new Error(`${contender}: ${counter.count} jobs ran, expected ${jobs}`)
  }
}
