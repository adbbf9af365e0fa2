/**
 * Runs the whole benchmark at the given sizes and writes results.md and
 * results.svg into `outDir`. `main.ts` calls it with the full sizes and
 * bench/ as the directory; the test calls it with tiny sizes and a temp dir.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { renderChart } from "./chart.ts"
import { type Contender, contenders, noopContenders, sleepContenders } from "./contenders/index.ts"
import { noop, sleep, tick } from "./jobs.ts"
import { measureMemory } from "./memory.ts"
import { describeRun } from "./kit/context.ts"
import { writeReport } from "./kit/notes.ts"
import { renderReport } from "./report.ts"
import type { Results, ThroughputResult } from "./results.ts"
import { measureShutdown } from "./shutdown.ts"
import type { Sizes } from "./sizes.ts"
import { measureThroughput } from "./throughput.ts"
import { array, type Job } from "./workload.ts"

export interface Output {
  readonly results: Results
  readonly markdown: string
  readonly svg: string
  readonly markdownPath: string
  readonly svgPath: string
}

interface Spec {
  readonly id: ThroughputResult["id"]
  readonly title: string
  readonly job: Job
  readonly contenders: ReadonlyArray<Contender>
  readonly jobs: number
  readonly workers: number
  readonly sleepMs?: number
}

const throughputSpecs = (sizes: Sizes): ReadonlyArray<Spec> => [
  { id: "w1", title: "W1: no-op synchronous jobs", job: noop, contenders: noopContenders, jobs: sizes.noopJobs, workers: sizes.workers },
  { id: "w2", title: "W2: jobs awaiting a resolved promise", job: tick, contenders, jobs: sizes.tickJobs, workers: sizes.workers },
  {
    id: "w3",
    title: `W3: jobs sleeping ${sizes.sleepMs} ms on a real timer`,
    job: sleep(sizes.sleepMs),
    contenders: sleepContenders,
    jobs: sizes.sleepJobs,
    workers: sizes.sleepWorkers,
    sleepMs: sizes.sleepMs
  }
]

const runThroughput = async (spec: Spec, sizes: Sizes, log: (line: string) => void): Promise<ThroughputResult> => {
  log(spec.title)
  const workload = { items: array(spec.jobs), jobs: spec.jobs, workers: spec.workers, capacity: sizes.capacity, job: spec.job }
  const rows = await measureThroughput(spec.contenders, workload, { ...sizes, log })
  const { sleepMs } = spec
  const base = { id: spec.id, title: spec.title, jobs: spec.jobs, workers: spec.workers, capacity: sizes.capacity, rows }
  return sleepMs === undefined ? base : { ...base, sleepMs }
}

export const runBench = async (
  sizes: Sizes,
  outDir: string,
  log: (line: string) => void = () => {}
): Promise<Output> => {
  const throughput: Array<ThroughputResult> = []
  for (const spec of throughputSpecs(sizes)) throughput.push(await runThroughput(spec, sizes, log))
  log("W4: memory")
  const memory = await measureMemory(contenders, {
    small: sizes.memorySmall,
    large: sizes.memoryLarge,
    workers: sizes.workers,
    capacity: sizes.capacity,
    log
  })
  log("W5: shutdown")
  const shutdown = await measureShutdown(sizes)
  const results: Results = {
    ...describeRun(),
    sizes,
    throughput,
    memory,
    shutdown
  }
  const markdownPath = join(outDir, "results.md")
  const svgPath = join(outDir, "results.svg")
  const markdown = await writeReport(markdownPath, (notes) => renderReport(results, notes))
  const svg = renderChart(results)
  await writeFile(svgPath, svg)
  return { results, markdown, svg, markdownPath, svgPath }
}
