/**
 * Instructions per job of each variant of bench/observe.ts, counted with
 * callgrind: bench/observeLoop.ts under `valgrind --tool=callgrind node
 * --predictable --single-threaded`, at 20,000 and at 120,000 jobs; per job
 * = (count at 120k - count at 20k) / 100k, so that start-up and shutdown
 * cancel out. Slow (minutes: every instruction is simulated). Writes
 * bench/results-observe-callgrind.md.
 *
 * Usage: node bench/observeCallgrind.ts [--out DIR]
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { describeRun } from "./kit/context.ts"

const variants = [
  ["off", "`metrics: false, tracing: false`"],
  ["defaults", "metrics on, tracing on, no span current at submit"],
  ["timings", "defaults + `jobTimings: true`"],
  ["span", "defaults, every submit under a span, a tracer installed: a span per job"]
] as const
const small = 20_000
const large = 120_000
const loop = fileURLToPath(new URL("./observeLoop.ts", import.meta.url))

/** Instructions callgrind counted for one run of `jobs` jobs of `variant`. */
const instructions = (jobs: number, variant: string): number => {
  const dir = mkdtempSync(join(tmpdir(), "ewp-callgrind-"))
  try {
    const run = spawnSync("valgrind", [
      "--tool=callgrind",
      `--callgrind-out-file=${join(dir, "out")}`,
      process.execPath,
      "--predictable",
      "--single-threaded",
      loop,
      String(jobs),
      variant
    ], { encoding: "utf8" })
    const collected = /Collected : (\d+)/.exec(run.stderr)
    if (run.status !== 0 || collected === null) throw new Error(`callgrind failed:\n${run.stderr}`)
    return Number(collected[1])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const { values } = parseArgs({ options: { out: { type: "string" } } })
const outDir = values.out ?? fileURLToPath(new URL(".", import.meta.url))
const rows: Array<string> = []
let base: number | undefined
for (const [variant, how] of variants) {
  const counts = [small, large].map((jobs) => {
    process.stderr.write(`${variant} ${jobs}...\n`)
    return instructions(jobs, variant)
  })
  const perJob = (counts[1] - counts[0]) / (large - small)
  base ??= perJob
  const extra = variant === "off" ? "" : `${Math.round(perJob - base).toLocaleString("en")} (${((perJob / base - 1) * 100).toFixed(1)}%)`
  rows.push(`| ${variant} | ${how} | ${counts[0].toLocaleString("en")} | ${counts[1].toLocaleString("en")} | ${Math.round(perJob).toLocaleString("en")} | ${extra} |`)
}
const run = describeRun()
const markdown = [
  "# Instructions per job of observing the pool (W1, callgrind)",
  "",
  `Written by \`node bench/observeCallgrind.ts\` on ${run.date}, Node ${run.node}, commit ${run.revision}.`,
  "",
  "Each variant of bench/observe.ts as one W1 run (bench/observeLoop.ts: no-op jobs `submit`ted in a loop, 8 " +
  "workers, capacity 1024) under `valgrind --tool=callgrind node --predictable --single-threaded`, at " +
  `${small.toLocaleString("en")} and ${large.toLocaleString("en")} jobs; per job = the difference over ` +
  `${(large - small).toLocaleString("en")}, so that start-up and shutdown cancel out. Counted instructions do not ` +
  "depend on the machine's load, unlike the throughput in results-observe.md.",
  "",
  `| variant | how | instructions at ${small.toLocaleString("en")} | at ${large.toLocaleString("en")} | per job | more than off |`,
  "| --- | --- | ---: | ---: | ---: | ---: |",
  ...rows,
  ""
].join("\n")
const path = join(outDir, "results-observe-callgrind.md")
await writeFile(path, markdown)
process.stdout.write(markdown)
process.stderr.write(`wrote ${path}\n`)
