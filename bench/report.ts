/**
 * results.md: the kit's header (where and how the numbers were measured), one
 * table per workload, the targets met or not, and the notes block that people
 * write (kept across runs, see `kit/notes.ts`).
 */
import { POOL, POOL_BATCHES } from "./contenders/index.ts"
import { contenderCell, header, report, table, targetsSection } from "./kit/markdown.ts"
import { integer, mib, ms, ratio, spread } from "./kit/numbers.ts"
import type { MemoryRow } from "./memory.ts"
import { checkTargets, efficiency, poolRatio, type Results, type ThroughputResult } from "./results.ts"
import type { ShutdownResult } from "./shutdown.ts"
import type { Row } from "./throughput.ts"

const isPool = (contender: string) => contender === POOL || contender === POOL_BATCHES

const headerSection = (results: Results): string => {
  const { sizes } = results
  return header({
    title: "Benchmark results",
    command: "npm run bench",
    script: "bench/main.ts",
    context: results,
    lines: [
      `Sizes (${sizes.label}): W1 ${integer(sizes.noopJobs)} no-op jobs, W2 ${integer(sizes.tickJobs)} promise jobs ` +
      `(${sizes.workers} workers, capacity ${sizes.capacity}); W3 ${integer(sizes.sleepJobs)} jobs of ${sizes.sleepMs} ms ` +
      `on ${sizes.sleepWorkers} workers; W4 ${integer(sizes.memorySmall)} vs ${integer(sizes.memoryLarge)} no-op jobs; ` +
      `W5 ${sizes.idleCloses} idle closes, ${sizes.drains} drains with a hanging job`,
      `Repetitions: ${sizes.reps} timed per contender after ${sizes.warmups} warm-up, contenders alternating ` +
      "round-robin in one process; the median is reported. Each run is timed inside the process around the run only, " +
      "after a GC, and its job count is verified.",
      "Ratio: this pool's median jobs/s ÷ the contender's (above 1 means the pool is faster).",
      "Durable queues (this pool on Redis and PostgreSQL against BullMQ and pg-boss): see " +
      "[results-durable.md](results-durable.md), written by `npm run bench:durable`."
    ]
  })
}

const throughputCells = (result: ThroughputResult, row: Row): Array<string> => {
  const cells = [
    contenderCell(row.contender, isPool(row.contender)),
    integer(row.jobsPerSecond.median),
    spread(row.jobsPerSecond, integer)
  ]
  const rowEfficiency = efficiency(result, row)
  if (rowEfficiency !== undefined) cells.push(rowEfficiency.toFixed(3))
  cells.push(ratio(poolRatio(result, POOL, row.contender)), row.note)
  return cells
}

const throughputSection = (result: ThroughputResult): string => {
  const head = ["contender", "jobs/s (median)", "min – max"]
  if (result.sleepMs !== undefined) head.push("efficiency")
  head.push("pool ÷ contender", "bound")
  const settings = `${integer(result.jobs)} jobs, ${result.workers} workers, capacity ${result.capacity}`
  return [
    `## ${result.title}`,
    "",
    settings + (result.sleepMs === undefined ? "" : `; efficiency = (jobs × ${result.sleepMs} ms ÷ workers) ÷ median time`),
    "",
    table(head, result.rows.map((row) => throughputCells(result, row)))
  ].join("\n")
}

const memorySection = (rows: ReadonlyArray<MemoryRow>, results: Results): string => {
  const { memoryLarge, memorySmall } = results.sizes
  const small = integer(memorySmall)
  const large = integer(memoryLarge)
  return [
    "## W4: memory",
    "",
    `No-op jobs as in W1, each measurement in a fresh child process; items come from a lazy range (no input array). ` +
    "Peak RSS is `process.resourceUsage().maxRSS` (the whole process, Node and modules included); heap is " +
    "`heapUsed` after the run and a full GC.",
    "",
    table(
      ["contender", `peak RSS ${small}`, `peak RSS ${large}`, "RSS ratio", `heap after ${small}`, `heap after ${large}`],
      rows.map((row) => [
        contenderCell(row.contender, isPool(row.contender)),
        mib(row.small.maxRssBytes),
        mib(row.large.maxRssBytes),
        row.rssRatio.toFixed(2),
        mib(row.small.heapUsedBytes),
        mib(row.large.heapUsedBytes)
      ])
    )
  ].join("\n")
}

const shutdownSection = (result: ShutdownResult): string =>
  [
    "## W5: shutdown (this pool)",
    "",
    "Idle close times `shutdown()` alone, after `make`. Overshoot is the drain's time minus its deadline; Node's " +
    "timers count from the event loop's cached time, so a drain can return a fraction of a millisecond early " +
    "(a negative overshoot).",
    "",
    table(["measure", "median", "min – max", "runs"], [
      [
        `idle close: \`shutdown()\` of an idle pool, ${result.workers} workers`,
        ms(result.idleCloseMs.median),
        spread(result.idleCloseMs, ms),
        String(result.idleCloses)
      ],
      [
        `drain overshoot: one hanging job, \`{ timeout: "${result.drainTimeoutMs} millis" }\`, real clock`,
        ms(result.overshootMs.median),
        spread(result.overshootMs, ms),
        String(result.drains)
      ]
    ])
  ].join("\n")

const targets = (results: Results): string =>
  targetsSection(
    results.sizes.label !== "full",
    ["workload", "target", "measured"],
    checkTargets(results).map((target) => ({ cells: [target.workload, target.target, target.measured], met: target.met }))
  )

/** The whole report; `notes` is the kept notes block's content. */
export const renderReport = (results: Results, notes: string): string =>
  report([
    headerSection(results),
    ...results.throughput.map(throughputSection),
    memorySection(results.memory, results),
    shutdownSection(results.shutdown),
    targets(results)
  ], notes)
