/**
 * results-durable.md: the kit's header (where and how the numbers were
 * measured), one table per engine, the pickup latency, the targets met or
 * not, and the notes block that people write (kept across runs, see
 * `../kit/notes.ts`).
 */
import { contenderCell, header, report, table, targetsSection } from "../kit/markdown.ts"
import { integer, ratio, spread } from "../kit/numbers.ts"
import type { Engine } from "./contenders/index.ts"
import type { DurableResults, DurableRow, PickupRow } from "./run.ts"

const ENGINE_TITLE: Record<Engine, string> = { redis: "Redis", postgres: "PostgreSQL" }

/** Our pool's row on the same engine with the same consumer count. */
const oursFor = (results: DurableResults, row: DurableRow): DurableRow => {
  const found = results.rows.find((other) =>
    other.ours && other.engine === row.engine && other.consumers === row.consumers
  )
  if (found === undefined) throw new Error(`no row of ours on ${row.engine} with ${row.consumers} consumer(s)`)
  return found
}

/** Our median jobs/s over `row`'s. */
export const durableRatio = (results: DurableResults, row: DurableRow): number =>
  oursFor(results, row).jobsPerSecond.median / row.jobsPerSecond.median

const headerSection = (results: DurableResults): string => {
  const { sizes } = results
  const warmups = sizes.warmups === 0
    ? "no warm-up"
    : `${sizes.warmups} untimed warm-up per contender on each fresh server`
  return header({
    title: "Durable queue benchmark results",
    command: "npm run bench:durable",
    script: "bench/durable/main.ts",
    context: results,
    machineNote: "; the servers, the driver and the consumers all share it",
    lines: [
      `Workload (${sizes.label}): ${integer(sizes.jobs)} no-op jobs (payload \`{ n }\`), ` +
      "all offered first by the driver in batches of up to 1,000, then consumed by " +
      `${sizes.consumers.join(" and then ")} consumer processes ` +
      "(`bench/durable/consumer.ts`, forked with this Node) on one local server per engine " +
      "(`test/support/servers.ts`: redis-server without persistence; PostgreSQL with fsync off), a fresh queue per run.",
      "Timing: from `go` (every consumer connected and ready, told over IPC) until the store says all jobs are " +
      "completed, polled every 5 ms by the driver, one query at a time (ours: the store's `counts`; BullMQ: " +
      "`getJobCounts`; pg-boss: whether any of the queue's rows is still created, retry or active, through its " +
      "index of live jobs), then checked with an exact count. jobs/s = jobs ÷ that time. Offer jobs/s times the " +
      "driver's offering, for information.",
      `Repetitions: ${warmups}, then ${sizes.reps} timed per contender and consumer count, ` +
      "contenders alternating (the first swapping each round); the median is reported, and each run's " +
      "completed count is verified to equal the jobs offered.",
      sizes.analyze
        ? "PostgreSQL: `ANALYZE` once each run's jobs are offered, before `go` (untimed, for every contender): " +
          "the planner knows the queue, as autovacuum's statistics know a queue in service."
        : "PostgreSQL: **not analyzed** (`--no-analyze`): the planner had no statistics on the tables.",
      "Ratio: our pool's median jobs/s ÷ the contender's, same engine and consumer count (above 1: ours is faster).",
      `Pickup latency: on an idle queue, ${integer(sizes.pickupJobs)} jobs one at a time (each offered once the previous ` +
      `one started; fewer for a contender that polls every 2 s), after ${sizes.pickupWarmups} untimed, ` +
      "from just before the offer call until the handler " +
      "starts, in one process (the offer and the start read on one clock; the producer on a connection of its own), " +
      "each contender with its default consumer settings and one worker (`bench/durable/pickup.ts`); nearest-rank " +
      "p50 and p99."
    ]
  })
}

const engineSection = (results: DurableResults, engine: Engine): string => {
  const rows = results.rows.filter((row) => row.engine === engine)
  return [
    `## ${ENGINE_TITLE[engine]}`,
    "",
    table(
      [
        "contender",
        "consumers",
        "jobs/s (median)",
        "min – max",
        "ours ÷ contender",
        "offer jobs/s (median)",
        "settings"
      ],
      rows.map((row) => [
        contenderCell(row.contender, row.ours),
        String(row.consumers),
        integer(row.jobsPerSecond.median),
        spread(row.jobsPerSecond, integer),
        ratio(durableRatio(results, row)),
        integer(row.offerPerSecond.median),
        row.settings
      ])
    )
  ].join("\n")
}

const milliseconds = (n: number): string => `${n.toFixed(1)} ms`

const pickupSection = (results: DurableResults): string =>
  [
    "## Pickup latency",
    "",
    table(
      ["contender", "engine", "jobs", "p50", "p99", "max", "settings"],
      results.pickup.map((row) => [
        contenderCell(row.contender, row.ours),
        ENGINE_TITLE[row.engine],
        String(row.run.jobs),
        milliseconds(row.run.p50),
        milliseconds(row.run.p99),
        milliseconds(row.run.max),
        row.settings
      ])
    )
  ].join("\n")

/** The pickup targets: ours, on each engine, with default options. */
export const pickupLimits = { p50: 5, p99: 25 } as const

export interface PickupTarget {
  readonly engine: Engine
  readonly quantile: "p50" | "p99"
  readonly limit: number
  readonly measured: number
  readonly met: boolean
}

export const pickupTargets = (results: DurableResults): ReadonlyArray<PickupTarget> =>
  results.pickup.filter((row: PickupRow) => row.ours).flatMap((row) =>
    (["p50", "p99"] as const).map((quantile) => ({
      engine: row.engine,
      quantile,
      limit: pickupLimits[quantile],
      measured: row.run[quantile],
      met: row.run[quantile] <= pickupLimits[quantile]
    }))
  )

export interface DurableTarget {
  readonly engine: Engine
  readonly contender: string
  readonly consumers: number
  readonly ratio: number
  readonly met: boolean
}

/** The targets: at least as fast as each other contender on its engine, for every consumer count. */
export const durableTargets = (results: DurableResults): ReadonlyArray<DurableTarget> =>
  results.rows.filter((row) => !row.ours).map((row) => {
    const r = durableRatio(results, row)
    return { engine: row.engine, contender: row.contender, consumers: row.consumers, ratio: r, met: r >= 1 }
  })

const targets = (results: DurableResults): string =>
  targetsSection(
    results.sizes.label !== "full",
    ["engine", "target", "consumers", "measured (ours ÷ contender; latency)"],
    [
      ...durableTargets(results).map((target) => ({
        cells: [ENGINE_TITLE[target.engine], `≥ 1.00× ${target.contender}`, String(target.consumers), ratio(target.ratio)],
        met: target.met
      })),
      ...pickupTargets(results).map((target) => ({
        cells: [
          ENGINE_TITLE[target.engine],
          `pickup ${target.quantile} ≤ ${target.limit} ms`,
          "1 (idle)",
          milliseconds(target.measured)
        ],
        met: target.met
      }))
    ]
  )

/** The whole report; `notes` is the kept notes block's content. */
export const renderDurableReport = (results: DurableResults, notes: string): string =>
  report([
    headerSection(results),
    ...[...new Set(results.rows.map((row) => row.engine))].map((engine) => engineSection(results, engine)),
    ...(results.pickup.length === 0 ? [] : [pickupSection(results)]),
    targets(results)
  ], notes)
