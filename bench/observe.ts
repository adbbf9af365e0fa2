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
import { noop } from "./jobs.ts"
import { describeRun } from "./kit/context.ts"
import { summarize } from "./kit/numbers.ts"
import { full, type Sizes, tiny } from "./sizes.ts"
import { type Row, measureThroughput } from "./throughput.ts"
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

export interface ObserveResult {
  readonly rows: ReadonlyArray<Row>
  readonly markdown: string
}

const perJobNanos = (jobsPerSecond: number) => 1e9 / jobsPerSecond

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`

/** The median over the rounds of what `row` loses to `base` in the same round (its runs are in round order). */
const pairedCost = (base: Row, row: Row): number =>
  summarize(row.runsMs.map((ms, round) => 1 - base.runsMs[round] / ms)).median

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
  const rows = await measureThroughput(variants, workload, { reps: sizes.reps, warmups: sizes.warmups, log })
  const base = rows[0].jobsPerSecond.median
  const run = describeRun()
  const lines = [
    "# What observing the pool costs (W1)",
    "",
    `Written by \`npm run bench:observe\` (bench/observe.ts) on ${run.date}, Node ${run.node}, ` +
    `commit ${run.revision}, ${run.machine.cores} cores (${run.machine.model}).`,
    "",
    `W1 of the benchmark: ${sizes.noopJobs.toLocaleString("en")} no-op jobs \`submit\`ted in a loop, ` +
    `${sizes.workers} workers, capacity ${sizes.capacity}; every variant in the same process, alternating, ` +
    `${sizes.warmups} warm-up and ${sizes.reps} timed runs each (sizes: ${sizes.label}).`,
    "",
    "| variant | how | jobs/s (median) | min – max | ns per job | cost vs off (medians) | cost vs off (paired) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((row) => {
      const median = row.jobsPerSecond.median
      const first = row === rows[0]
      const cost = first ? "" : percent(1 - median / base)
      const paired = first ? "" : percent(pairedCost(rows[0], row))
      return `| ${row.contender} | ${row.note} | ${Math.round(median).toLocaleString("en")} | ` +
        `${Math.round(row.jobsPerSecond.min).toLocaleString("en")} – ${Math.round(row.jobsPerSecond.max).toLocaleString("en")} | ` +
        `${perJobNanos(median).toFixed(0)} | ${cost} | ${paired} |`
    }),
    "",
    "Cost (medians): one minus the ratio of the medians. Cost (paired): the median over the rounds of one minus " +
    "the ratio of the two variants' throughputs in the same round; rounds run every variant back to back, so a " +
    "machine that slows down for a while (other processes) slows both sides of a pair alike.",
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
