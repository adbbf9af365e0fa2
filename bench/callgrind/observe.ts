/**
 * Instructions per job of each way of observing the pool (the variants of
 * bench/observe.ts), counted with callgrind by `count.ts` on this checkout:
 * what metrics, job timings and a span per job add to W1's per-job path,
 * whatever the machine's load. Slow (minutes: every instruction is
 * simulated). Writes bench/results-observe-callgrind.md.
 *
 *   node bench/callgrind/observe.ts [--out DIR]
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { describeRun } from "../kit/context.ts"
import { integer } from "../kit/numbers.ts"
import { countPerJob } from "./count.ts"

const variants = [
  ["off", "`metrics: false, tracing: false`"],
  ["defaults", "metrics on, tracing on, no span current at submit"],
  ["timings", "defaults + `jobTimings: true`"],
  ["span", "defaults, every submit under a span, a tracer installed: a span per job"]
] as const
const sizes = [20_000, 120_000] as const
const root = fileURLToPath(new URL("../..", import.meta.url))

const { values } = parseArgs({ options: { out: { type: "string" } } })
const outDir = values.out ?? join(root, "bench")
const rows: Array<string> = []
let base: number | undefined
for (const [variant, how] of variants) {
  process.stderr.write(`${variant}...\n`)
  const { large, perJob, small } = await countPerJob({ root, variant }, sizes)
  base ??= perJob
  const extra = variant === "off" ? "" : `${integer(perJob - base)} (${((perJob / base - 1) * 100).toFixed(1)}%)`
  rows.push(`| ${variant} | ${how} | ${integer(small)} | ${integer(large)} | ${integer(perJob)} | ${extra} |`)
}
const run = describeRun()
const markdown = [
  "# Instructions per job of observing the pool (W1, callgrind)",
  "",
  `Written by \`node bench/callgrind/observe.ts\` on ${run.date}, Node ${run.node}, commit ${run.revision}.`,
  "",
  "Each variant of bench/observe.ts as one W1 run (bench/callgrind/loop.ts: no-op jobs `submit`ted one after " +
  "another, 8 workers, capacity 1024) under `valgrind --tool=callgrind node --predictable --single-threaded`, at " +
  `${integer(sizes[0])} and ${integer(sizes[1])} jobs; per job = the difference over ` +
  `${integer(sizes[1] - sizes[0])}, so that start-up and shutdown cancel out. Counted instructions do not ` +
  "depend on the machine's load, unlike the throughput in results-observe.md.",
  "",
  `| variant | how | instructions at ${integer(sizes[0])} | at ${integer(sizes[1])} | per job | more than off |`,
  "| --- | --- | ---: | ---: | ---: | ---: |",
  ...rows,
  ""
].join("\n")
const path = join(outDir, "results-observe-callgrind.md")
await writeFile(path, markdown)
process.stdout.write(markdown)
process.stderr.write(`wrote ${path}\n`)
