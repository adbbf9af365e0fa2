/**
 * Times contenders on one workload, in one process: an untimed warm-up of
 * each, then `reps` rounds in which every contender runs once (round-robin,
 * the starting contender rotating each round, so that none always runs just
 * after the same neighbour). Each run is timed with `performance.now()` around
 * `run` only, after a GC, and its job count is verified.
 */
import * as counter from "./counter.ts"
import type { Contender } from "./contenders/index.ts"
import { collectGarbage } from "./gc.ts"
import { type Summary, summarize } from "./kit/numbers.ts"
import type { Workload } from "./workload.ts"

/** One contender's row: jobs per second over the timed runs. */
export interface Row {
  readonly contender: string
  readonly note: string
  readonly informational: boolean
  /** Milliseconds of each timed run, in the order they ran. */
  readonly runsMs: ReadonlyArray<number>
  readonly jobsPerSecond: Summary
  readonly medianMs: number
  /** Runs whose job count was checked (all of them: a wrong count throws). */
  readonly verifiedRuns: number
}

const timedRun = async (contender: Contender, workload: Workload): Promise<number> => {
  counter.reset()
  collectGarbage()
  const startedAt = performance.now()
  await contender.run(workload)
  const elapsed = performance.now() - startedAt
  counter.verify(contender.name, workload.jobs)
  return elapsed
}

/** `contenders` starting at `offset`, wrapping around. */
const rotated = <A>(items: ReadonlyArray<A>, offset: number): ReadonlyArray<A> => {
  const start = offset % items.length
  return [...items.slice(start), ...items.slice(0, start)]
}

export const measureThroughput = async (
  contenders: ReadonlyArray<Contender>,
  workload: Workload,
  options: { readonly reps: number; readonly warmups: number; readonly log: (line: string) => void }
): Promise<ReadonlyArray<Row>> => {
  for (let round = 0; round < options.warmups; round++) {
    for (const contender of contenders) await timedRun(contender, workload)
  }
  const runs = new Map<string, Array<number>>(contenders.map((contender) => [contender.name, []]))
  for (let round = 0; round < options.reps; round++) {
    for (const contender of rotated(contenders, round)) {
      const ms = await timedRun(contender, workload)
      runs.get(contender.name)!.push(ms)
      options.log(`  ${contender.name}: ${(workload.jobs / ms * 1000).toFixed(0)} jobs/s`)
    }
  }
  return contenders.map((contender) => toRow(contender, workload.jobs, runs.get(contender.name)!))
}

const toRow = (contender: Contender, jobs: number, runsMs: ReadonlyArray<number>): Row => ({
  contender: contender.name,
  note: contender.note,
  informational: contender.informational === true,
  runsMs,
  jobsPerSecond: summarize(runsMs.map((ms) => jobs / ms * 1000)),
  medianMs: summarize(runsMs).median,
  verifiedRuns: runsMs.length
})
