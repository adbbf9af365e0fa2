/**
 * `npm run bench:observe`: what observing the pool costs per job. W1 of the
 * benchmark (no-op jobs, `submit` in a loop; bench/sizes.ts's full sizes),
 * with metrics and tracing off, with the defaults, with job timings, and
 * with every job submitted under a span, in one process, alternating,
 * median of the runs (bench/throughput.ts). Writes bench/results-observe.md.
 *
 * Flags: `--tiny` (seconds; numbers meaningless), `--out DIR`.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { type Job, Pool } from "../src/index.ts"
import type { Contender } from "./contenders/index.ts"
import * as counter from "./counter.ts"
import { collectGarbage } from "./gc.ts"
import { noop } from "./jobs.ts"
import { describeRun } from "./kit/context.ts"
import { summarize } from "./kit/numbers.ts"
import { full, type Sizes, tiny } from "./sizes.ts"
import { array, type Workload } from "./workload.ts"

/** A tracer that makes Effect's own spans and keeps none: what a span per job costs before any export. */
export const droppingTracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })

/** This pool as bench/contenders/pool.ts runs it, with `options` added, and the producer wrapped by `around`. */
const variant = (
  name: string,
  note: string,
  options: Partial<Pool.Options<number, void, never, never>>,
  around: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E> = (effect) => effect
): Contender => ({
  name,
  note,
  run: (workload: Workload) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const pool = yield* Pool.make({
        workers: workload.workers,
        capacity: workload.capacity,
        handler: (_: Job.Job<number>) => workload.job.effect,
        ...options
      })
      yield* around(Effect.forEach(workload.items, (item) => pool.submit(item), { discard: true }))
      yield* pool.shutdown()
    })))
})

export const variants: ReadonlyArray<Contender> = [
  variant("off", "`metrics: false, tracing: false`", { metrics: false, tracing: false }),
  variant("defaults", "metrics on (counts read when scraped), tracing on, no span current at submit", {}),
  variant("job timings", "defaults + `jobTimings: true`: wait and run-time histograms", { jobTimings: true }),
  variant(
    "under a span",
    "defaults, every `submit` under a span of Effect's default tracer (which keeps spans nowhere): no job span",
    {},
    (effect) => Effect.withSpan(effect, "producer")
  ),
  variant(
    "under a span, traced",
    "defaults, every `submit` under a span, with a tracer installed (one that makes spans and drops them): a span per job",
    {},
    (effect) => Effect.withTracer(Effect.withSpan(effect, "producer"), droppingTracer)
  )
]

/** One variant's runs, in round order: wall-clock and CPU milliseconds of each. */
export interface ObserveRow {
  readonly contender: string
  readonly note: string
  readonly wallMs: ReadonlyArray<number>
  readonly cpuMs: ReadonlyArray<number>
}

export interface ObserveResult {
  readonly rows: ReadonlyArray<ObserveRow>
  readonly markdown: string
}

/** One timed run: wall clock, and the process's CPU time (user + system, all threads), in ms. */
const timedRun = async (contender: Contender, workload: Workload) => {
  counter.reset()
  collectGarbage()
  const cpu = process.cpuUsage()
  const startedAt = performance.now()
  await contender.run(workload)
  const wallMs = performance.now() - startedAt
  const used = process.cpuUsage(cpu)
  counter.verify(contender.name, workload.jobs)
  return { wallMs, cpuMs: (used.user + used.system) / 1000 }
}

/**
 * Every variant once per round, the first one rotating (as bench/throughput.ts
 * does), after `warmups` untimed rounds; each run's job count verified.
 */
const measure = async (workload: Workload, sizes: Sizes, log: (line: string) => void): Promise<Array<ObserveRow>> => {
  for (let round = 0; round < sizes.warmups; round++) {
    for (const contender of variants) await timedRun(contender, workload)
  }
  const runs = variants.map(() => ({ wallMs: [] as Array<number>, cpuMs: [] as Array<number> }))
  for (let round = 0; round < sizes.reps; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length
      const { cpuMs, wallMs } = await timedRun(variants[i], workload)
      runs[i].wallMs.push(wallMs)
      runs[i].cpuMs.push(cpuMs)
      log(`  ${variants[i].name}: ${Math.round(workload.jobs / wallMs * 1000)} jobs/s, ${Math.round(workload.jobs / cpuMs * 1000)} jobs per CPU-second`)
    }
  }
  return variants.map((contender, i) => ({ contender: contender.name, note: contender.note, ...runs[i] }))
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`

const integer = (n: number) => Math.round(n).toLocaleString("en")

/** The median over the rounds of what `row` costs more than `base` in the same round (runs in round order). */
const pairedCost = (base: ReadonlyArray<number>, row: ReadonlyArray<number>): number =>
  summarize(row.map((ms, round) => ms / base[round] - 1)).median

/** Runs the variants on W1 at `sizes` and renders the report. */
export const runObserve = async (sizes: Sizes, log: (line: string) => void = () => {}): Promise<ObserveResult> => {
  const workload: Workload = {
    items: array(sizes.noopJobs),
    jobs: sizes.noopJobs,
    workers: sizes.workers,
    capacity: sizes.capacity,
    job: noop
  }
  log(`W1: ${sizes.noopJobs} no-op jobs, ${sizes.workers} workers, capacity ${sizes.capacity}`)
  const rows = await measure(workload, sizes, log)
  const [off] = rows
  const run = describeRun()
  const perSecond = (ms: ReadonlyArray<number>) => summarize(ms.map((one) => sizes.noopJobs / one * 1000))
  const lines = [
    "# What observing the pool costs (W1)",
    "",
    `Written by \`npm run bench:observe\` (bench/observe.ts) on ${run.date}, Node ${run.node}, ` +
    `commit ${run.revision}, ${run.machine.cores} cores (${run.machine.model}).`,
    "",
    `W1 of the benchmark: ${sizes.noopJobs.toLocaleString("en")} no-op jobs \`submit\`ted in a loop, ` +
    `${sizes.workers} workers, capacity ${sizes.capacity}; every variant in the same process, once per round, ` +
    `${sizes.warmups} warm-up and ${sizes.reps} timed rounds (sizes: ${sizes.label}).`,
    "",
    "| variant | how | jobs/s (median) | min – max | jobs per CPU-second (median) | CPU time vs off (paired) | wall time vs off (paired) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((row) => {
      const wall = perSecond(row.wallMs)
      const first = row === off
      return `| ${row.contender} | ${row.note} | ${integer(wall.median)} | ${integer(wall.min)} – ${integer(wall.max)} | ` +
        `${integer(perSecond(row.cpuMs).median)} | ${first ? "" : percent(pairedCost(off.cpuMs, row.cpuMs))} | ` +
        `${first ? "" : percent(pairedCost(off.wallMs, row.wallMs))} |`
    }),
    "",
    "Paired: the median over the rounds of how much more time the variant took than `off` in the same round " +
    "(rounds run every variant back to back, so a stretch of load from other processes falls on both sides of " +
    "a pair). CPU time is the process's (user + system, all its threads): it counts what the variant made the " +
    "machine do, and is less moved than the wall clock by other processes taking the cores. On a shared machine " +
    "both still move by tens of percent from run to run; bench/results-observe-callgrind.md counts instructions, " +
    "which do not.",
    ""
  ]
  return { rows, markdown: lines.join("\n") }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { tiny: { type: "boolean", default: false }, out: { type: "string" } } })
  const outDir = values.out ?? fileURLToPath(new URL(".", import.meta.url))
  const result = await runObserve(values.tiny ? tiny : { ...full, reps: 9 }, (line) => process.stderr.write(`${line}\n`))
  const path = join(outDir, "results-observe.md")
  await writeFile(path, result.markdown)
  process.stdout.write(result.markdown)
  process.stderr.write(`wrote ${path}\n`)
}
