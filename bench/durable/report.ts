/**
 * results-durable.md: the kit's header (where and how the numbers were
 * measured), one throughput table per engine, the scaling of ours, the
 * end-to-end latency under load, the pickup latency, the targets met or
 * not, and the notes block that people write (kept across runs, see
 * `../kit/notes.ts`).
 */
import { contenderCell, header, report, table, targetsSection } from "../kit/markdown.ts"
import { integer, ratio, spread } from "../kit/numbers.ts"
import type { Engine } from "./contenders/index.ts"
import { idleMs } from "./pickup.ts"
import type { DurableResults, DurableRow, LoadRow, PickupRow } from "./run.ts"

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

const cores = (n: number): string => n.toFixed(2)

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
      `Workload (${sizes.label}): ${integer(sizes.jobs)} no-op jobs (payload \`{ n }\`; fewer for a contender ` +
      "far slower than the others, its `settings` say how many), " +
      "all offered first by the driver in batches of up to 1,000, then consumed by " +
      `${sizes.consumers.join(" and then ")} consumer processes ` +
      "(`bench/durable/consumer.ts`, forked with this Node) on one local server per engine " +
      "(`test/support/servers.ts`: redis-server without persistence; PostgreSQL with fsync off), a fresh queue per run. " +
      (sizes.consumerWarmUpJobs === 0
        ? "Each consumer process is fresh: its timed run includes compiling its code."
        : `Each consumer process first consumes up to ${integer(sizes.consumerWarmUpJobs)} jobs (a quarter of the ` +
          "run's at most) on a queue of its own with a consumer it then closes, untimed, so that the timed run is " +
          "a worker's that has been running, not a fresh process's first compilation, for every contender alike."),
      "Timing: from `go` (every consumer connected and ready, told over IPC) until the store says all jobs are " +
      "completed, polled every 5 ms by the driver, one query at a time (ours and effect-mq: the store's `counts`; " +
      "BullMQ: `getJobCounts`; pg-boss: whether any of the queue's rows is still created, retry or active, through " +
      "its index of live jobs; graphile-worker, which deletes a job once completed: whether any of the task's jobs " +
      "is left), then checked with an exact count. jobs/s = jobs ÷ that time. Offer jobs/s times the " +
      "driver's offering, for information. Server CPU: the CPU seconds of the server's processes (redis-server, or " +
      "PostgreSQL's postmaster and all its backends) per second of the timed window, read from /proc (`cpu.ts`): " +
      "1.00 is one of the machine's cores busy all the time. Consumers' CPU: the same of the consumer processes. " +
      "CPU a job: both together, in µs a job (from the medians): once every core is busy, a contender goes as far " +
      "as that lets it.",
      `Repetitions: ${warmups}, then ${sizes.reps} timed per contender and consumer count, ` +
      "contenders alternating (the first swapping each round); the median is reported, and each run's " +
      "completed count is verified to equal the jobs offered.",
      sizes.analyze
        ? "PostgreSQL: `ANALYZE` once each run's jobs are offered, before `go` (untimed, for every contender): " +
          "the planner knows the queue, as autovacuum's statistics know a queue in service."
        : "PostgreSQL: **not analyzed** (`--no-analyze`): the planner had no statistics on the tables.",
      sizes.vacuum
        ? "PostgreSQL: `VACUUM` before each measurement (throughput, load and pickup runs; untimed, for every " +
          "contender): no run walks the dead rows an earlier one left, or meets autovacuum (which looks once a " +
          "minute) cleaning them up."
        : "PostgreSQL: **not vacuumed** between measurements (`--no-vacuum`): a run may walk the dead rows earlier " +
          "runs left, or meet autovacuum cleaning them up.",
      "Ratio: our pool's median jobs/s ÷ the contender's, same engine and consumer count (above 1: ours is faster).",
      `End-to-end latency under load: one consumer process${sizes.consumerWarmUpJobs > 0 ? " (warmed up as above)" : ""} ` +
      `on a fresh queue; the driver offers for ${sizes.loadSeconds} s ` +
      "a steady load of half the contender's median jobs/s with one consumer (above), as one batch call every 5 ms, " +
      "and polls the store's completed count back to back (the same count as above); when a poll returns c, " +
      "the first c jobs offered count as acknowledged at that poll's midpoint (`bench/durable/load.ts`). The offer and " +
      "the count are read in one process, on one clock; the first 10 % of the jobs are not counted; nearest-rank p50 and p99. " +
      "Each contender's half is a different rate (a faster queue is loaded harder), so ours is measured again " +
      "under the load of the fastest other contender on its engine, and of the one with the lowest p50 under its own " +
      "load if another, for comparisons at one rate.",
      `Pickup latency: on an idle queue, ${integer(sizes.pickupJobs)} jobs one at a time (each offered ${idleMs} ms after the previous ` +
      "one started, so that the consumer has acknowledged it and waits for work; fewer for a contender that polls every 2 s), " +
      `in ${sizes.pickupRounds} rounds with the contenders alternating (the first swapping each round), each round on a fresh ` +
      `queue after ${sizes.pickupWarmups} untimed, from just before the offer call until the handler ` +
      "starts, in one process (the offer and the start read on one clock; the producer on a connection of its own), " +
      "each contender with its default consumer settings and one worker (`bench/durable/pickup.ts`); nearest-rank " +
      "p50 and p99 of all its rounds' pickups together, and each round's p50."
    ]
  })
}

/**
 * The CPU a job took, server and consumers together, in µs (from the
 * medians): on a machine the server and the consumers share, what decides
 * how far a contender goes once every core is busy.
 */
export const cpuPerJob = (row: DurableRow): number =>
  (row.serverCores + row.consumerCores) / row.jobsPerSecond.median * 1e6

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
        "server CPU (cores)",
        "consumers' CPU (cores)",
        "CPU a job (µs)",
        "settings"
      ],
      rows.map((row) => [
        contenderCell(row.contender, row.ours),
        String(row.consumers),
        integer(row.jobsPerSecond.median),
        spread(row.jobsPerSecond, integer),
        ratio(durableRatio(results, row)),
        integer(row.offerPerSecond.median),
        cores(row.serverCores),
        cores(row.consumerCores),
        integer(cpuPerJob(row)),
        `${row.settings}${row.runs[0] !== undefined && row.runs[0].jobs !== results.sizes.jobs ? `; ${integer(row.runs[0].jobs)} jobs a run` : ""}`
      ])
    )
  ].join("\n")
}

const scalingSection = (results: DurableResults): string => {
  const cores = results.machine.cores
  return [
    "## Scaling (ours)",
    "",
    `Each engine's server and every consumer share the machine's ${cores} cores: beyond one consumer, more consumer ` +
    "processes mostly compete with the server and with each other for them, so this table shows how the pool " +
    "behaves as consumers are added on this machine, not how it would grow on more cores. \"4 queues\": 4 consumer " +
    "processes, each on a queue of its own, the jobs split evenly between the 4 queues.",
    "",
    table(
      ["engine", "consumers", "queues", "jobs/s (median)", "min – max", "÷ 1 consumer", "server CPU (cores)", "server share of the machine", "consumers' CPU (cores)"],
      results.scaling.map((row) => {
        const one = results.scaling.find((other) =>
          other.engine === row.engine && other.consumers === 1 && other.queues === 1
        )
        return [
          ENGINE_TITLE[row.engine],
          String(row.consumers),
          String(row.queues),
          integer(row.jobsPerSecond.median),
          spread(row.jobsPerSecond, integer),
          one === undefined ? "–" : ratio(row.jobsPerSecond.median / one.jobsPerSecond.median),
          row.serverCores.toFixed(2),
          `${Math.round(row.serverCores / cores * 100)} %`,
          row.consumerCores.toFixed(2)
        ]
      })
    )
  ].join("\n")
}

const milliseconds = (n: number): string => `${n.toFixed(1)} ms`

const loadSection = (results: DurableResults): string =>
  [
    "## End-to-end latency under load",
    "",
    table(
      ["contender", "engine", "offered jobs/s", "jobs", "p50", "p99", "max", "settings"],
      results.load.map((row) => [
        contenderCell(row.contender, row.ours),
        ENGINE_TITLE[row.engine],
        `${row.atRateOf === undefined ? "" : `${row.atRateOf}'s load: `}${integer(row.run.rate)}${row.run.achievedRate < row.run.rate * 0.95 ? ` (kept ${integer(row.run.achievedRate)})` : ""}`,
        ...latencyCells(row.run),
        row.settings
      ])
    )
  ].join("\n")

/** A latency run's cells: how many jobs counted, p50, p99, max. */
const latencyCells = (run: { readonly jobs: number; readonly p50: number; readonly p99: number; readonly max: number }) => [
  String(run.jobs),
  milliseconds(run.p50),
  milliseconds(run.p99),
  milliseconds(run.max)
]

const pickupSection = (results: DurableResults): string =>
  [
    "## Pickup latency",
    "",
    table(
      ["contender", "engine", "jobs", "p50", "p99", "max", "p50 by round", "settings"],
      results.pickup.map((row) => [
        contenderCell(row.contender, row.ours),
        ENGINE_TITLE[row.engine],
        ...latencyCells(row.run),
        row.roundP50s.map((p50) => p50.toFixed(1)).join(", "),
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

/**
 * The throughput goals: ours at least `factor` times the contender on its
 * engine, for every consumer count. `contender` names every row whose name
 * starts with it, and the fastest of them counts (graphile-worker: its best
 * settings, batched or not, whichever was faster in this run).
 */
export const throughputGoals: ReadonlyArray<{ readonly engine: Engine; readonly contender: string; readonly factor: number }> = [
  { engine: "redis", contender: "BullMQ", factor: 3 },
  { engine: "redis", contender: "effect-mq (Redis)", factor: 1 },
  { engine: "postgres", contender: "graphile-worker", factor: 1 },
  { engine: "postgres", contender: "effect-mq (PostgreSQL)", factor: 1 }
]

export interface DurableTarget {
  readonly engine: Engine
  /** The goal's contender, and the row of it that counted (its fastest settings). */
  readonly contender: string
  readonly row: string
  readonly consumers: number
  readonly factor: number
  readonly ratio: number
  readonly met: boolean
}

/** Each goal, for each consumer count measured; none for a contender left out (`--only`). */
export const durableTargets = (results: DurableResults): ReadonlyArray<DurableTarget> =>
  throughputGoals.flatMap((goal) =>
    results.sizes.consumers.flatMap((consumers) => {
      const rows = results.rows.filter((row) =>
        !row.ours && row.engine === goal.engine && row.consumers === consumers && row.contender.startsWith(goal.contender)
      )
      if (rows.length === 0) return []
      const best = rows.reduce((a, b) => b.jobsPerSecond.median > a.jobsPerSecond.median ? b : a)
      const r = durableRatio(results, best)
      return [{
        engine: goal.engine,
        contender: goal.contender,
        row: best.contender,
        consumers,
        factor: goal.factor,
        ratio: r,
        met: r >= goal.factor
      }]
    })
  )

export interface LatencyTarget {
  readonly engine: Engine
  readonly kind: "pickup" | "under load" | "under the same load"
  readonly quantile: "p50" | "p99"
  readonly ours: number
  /** The best (lowest) of the other contenders on the engine, and whose it is. */
  readonly best: number
  readonly bestContender: string
  readonly met: boolean
}

const latencyTargetsOf = (
  kind: LatencyTarget["kind"],
  rows: ReadonlyArray<PickupRow | LoadRow>
): ReadonlyArray<LatencyTarget> =>
  rows.filter((row) => row.ours).flatMap((ours) =>
    (["p50", "p99"] as const).flatMap((quantile) => {
      const others = rows.filter((row) => !row.ours && row.engine === ours.engine)
      if (others.length === 0) return []
      const best = others.reduce((a, b) => b.run[quantile] < a.run[quantile] ? b : a)
      return [{
        engine: ours.engine,
        kind,
        quantile,
        ours: ours.run[quantile],
        best: best.run[quantile],
        bestContender: best.contender,
        met: ours.run[quantile] <= best.run[quantile]
      }]
    })
  )

/**
 * Ours under another contender's load (the fastest's, and the one with the
 * lowest p50 under its own) against that contender: the like-for-like
 * reading of "under load" (each contender's own half-load is a different
 * rate).
 */
const sameLoadTargets = (rows: ReadonlyArray<LoadRow>): ReadonlyArray<LatencyTarget> =>
  rows.flatMap((ours) => {
    const peer = rows.find((row) => !row.ours && row.engine === ours.engine && row.contender === ours.atRateOf)
    if (ours.atRateOf === undefined || peer === undefined) return []
    return (["p50", "p99"] as const).map((quantile) => ({
      engine: ours.engine,
      kind: "under the same load" as const,
      quantile,
      ours: ours.run[quantile],
      best: peer.run[quantile],
      bestContender: peer.contender,
      met: ours.run[quantile] <= peer.run[quantile]
    }))
  })

/**
 * Ours at most the best other contender's p50 and p99, on each engine, at
 * pickup and under load (each at half its own throughput); and ours at most
 * the fastest other contender's, and the lowest-latency other's, each under
 * that contender's load.
 */
export const latencyTargets = (results: DurableResults): ReadonlyArray<LatencyTarget> => [
  ...latencyTargetsOf("pickup", results.pickup),
  ...latencyTargetsOf("under load", results.load.filter((row) => row.atRateOf === undefined)),
  ...sameLoadTargets(results.load)
]

const targets = (results: DurableResults): string =>
  targetsSection(
    results.sizes.label !== "full",
    ["engine", "target", "consumers", "measured (ours ÷ contender; latency ours vs best other)"],
    [
      ...durableTargets(results).map((target) => ({
        cells: [
          ENGINE_TITLE[target.engine],
          `≥ ${target.factor.toFixed(2)}× ${target.contender}${target.row === target.contender ? "" : ` (best: ${target.row})`}`,
          String(target.consumers),
          target.met
            ? ratio(target.ratio)
            : `${ratio(target.ratio)} (short by ${Math.round((1 - target.ratio / target.factor) * 100)} %)`
        ],
        met: target.met
      })),
      ...latencyTargets(results).map((target) => ({
        cells: [
          ENGINE_TITLE[target.engine],
          target.kind === "under the same load"
            ? `under ${target.bestContender}'s load ${target.quantile} ≤ its own`
            : `${target.kind} ${target.quantile} ≤ best other's`,
          "1",
          `${milliseconds(target.ours)} vs ${milliseconds(target.best)} (${target.bestContender})`
        ],
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
    ...(results.scaling.length === 0 ? [] : [scalingSection(results)]),
    ...(results.load.length === 0 ? [] : [loadSection(results)]),
    ...(results.pickup.length === 0 ? [] : [pickupSection(results)]),
    targets(results)
  ], notes)
