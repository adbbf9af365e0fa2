/**
 * The child process of workload 4: runs one contender once on `jobs` no-op
 * jobs and prints, as one JSON line, its peak RSS and its heap after a full GC.
 * A fresh process per measurement, because peak RSS only ever grows: two
 * measurements in one process would share a peak.
 *
 * Usage: node --expose-gc bench/memoryChild.ts <contender> <jobs> <workers> <capacity>
 */
import * as counter from "./counter.ts"
import { byName } from "./contenders/index.ts"
import { collectGarbage } from "./gc.ts"
import { noop } from "./jobs.ts"
import { range } from "./workload.ts"

/** What the child prints. */
export interface MemorySample {
  readonly contender: string
  readonly jobs: number
  /** Peak resident set size of the whole process, in bytes. */
  readonly maxRssBytes: number
  /** V8 heap in use after the run and a full GC: what the run left behind. */
  readonly heapUsedBytes: number
  readonly verified: boolean
}

const main = async (): Promise<void> => {
  const [name = "", jobsArg = "", workersArg = "", capacityArg = ""] = process.argv.slice(2)
  const contender = byName(name)
  const jobs = Number(jobsArg)
  await contender.run({ items: range(jobs), jobs, workers: Number(workersArg), capacity: Number(capacityArg), job: noop })
  counter.verify(contender.name, jobs)
  collectGarbage()
  const sample: MemorySample = {
    contender: contender.name,
    jobs,
    // `maxRSS` is in kibibytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: process.memoryUsage().heapUsed,
    verified: true
  }
  process.stdout.write(`${JSON.stringify(sample)}\n`)
}

await main()
