/**
 * Runs the whole durable benchmark at the given sizes and writes
 * results-durable.md and results-durable.svg into `outDir`. One server per
 * engine, started from the machine's binaries (`test/support/servers.ts`)
 * and closed after; every run on it uses a fresh queue (on PostgreSQL,
 * analyzed once offered: see `analyze`). On each server: untimed warm-ups,
 * then `reps` rounds of every consumer count, the engine's contenders
 * alternating (the first one swapping each round), with ours also run with
 * more consumers and queues for the scaling table; then each contender's
 * end-to-end latency under half its measured throughput (`load.ts`), and
 * ours again under the load of the fastest other contender and of the one
 * with the lowest p50 under its own load; then
 * the pickup latency of the engine's pickup contenders, in rounds,
 * alternating the same way (`pickup.ts`).
 */
import * as Effect from "effect/Effect"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { pgRows } from "../../test/support/admin.ts"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import { orderOfRound } from "../kit/alternation.ts"
import { describeRun, type RunContext } from "../kit/context.ts"
import { writeReport } from "../kit/notes.ts"
import { type Summary, summarize } from "../kit/numbers.ts"
import { type DurableContender, durableContenders, type Engine, selected } from "./contenders/index.ts"
import { type PickupContender, pickupContenders } from "./contenders/pickup.ts"
import { serverProcesses } from "./cpu.ts"
import { type LoadRun, measureLoad } from "./load.ts"
import { measureRun, type Run } from "./measure.ts"
import { measurePickup, type PickupRun, pickupRunOf } from "./pickup.ts"
import { renderDurableChart } from "./chart.ts"
import { renderDurableReport } from "./report.ts"
import type { DurableSizes } from "./sizes.ts"

/** One contender with one consumer count. */
export interface DurableRow {
  readonly contender: string
  readonly engine: Engine
  readonly ours: boolean
  readonly settings: string
  readonly consumers: number
  /** Queues the jobs were split between: 1 but in the scaling runs (consumer i on queue i modulo them). */
  readonly queues: number
  readonly runs: ReadonlyArray<Run>
  readonly jobsPerSecond: Summary
  readonly offerPerSecond: Summary
  /** Runs whose store counted exactly `jobs` completed (a run that did not throws). */
  readonly verifiedRuns: number
  /** CPU seconds per second of the timed window (median): the server's processes, and the consumers'. */
  readonly serverCores: number
  readonly consumerCores: number
}

/** One contender's end-to-end latency under load on one engine. */
export interface LoadRow {
  readonly contender: string
  readonly engine: Engine
  readonly ours: boolean
  readonly settings: string
  readonly run: LoadRun
  /**
   * Set on ours' other rows: the contender whose load it ran under (half of
   * that contender's throughput, not of ours), so that ours is compared at
   * one rate too with the fastest other contender and with the one whose
   * p50 was lowest under its own load.
   */
  readonly atRateOf?: string | undefined
}

/** One contender's pickup latency on one engine. */
export interface PickupRow {
  readonly contender: string
  readonly engine: Engine
  readonly ours: boolean
  readonly settings: string
  /** All its rounds' pickups together. */
  readonly run: PickupRun
  /** Each round's p50, in order: how far the machine's spells moved it. */
  readonly roundP50s: ReadonlyArray<number>
}

export interface DurableResults extends RunContext {
  readonly sizes: DurableSizes
  readonly rows: ReadonlyArray<DurableRow>
  /** Ours only: more consumers, and more queues, than the comparison rows (see `sizes.scaling`). */
  readonly scaling: ReadonlyArray<DurableRow>
  readonly load: ReadonlyArray<LoadRow>
  readonly pickup: ReadonlyArray<PickupRow>
}

export interface DurableOutput {
  readonly results: DurableResults
  readonly markdown: string
  readonly markdownPath: string
  readonly svgPath: string
}

export const ENGINES: ReadonlyArray<Engine> = ["redis", "postgres"]

/**
 * `ANALYZE` on a PostgreSQL server's database, run after each run's jobs are
 * offered and before its consumers start (untimed, for every contender): the
 * planner then knows the queue, as autovacuum's statistics know a queue in
 * service. On a table analyzed before a new queue was filled, plans can be
 * orders of magnitude slower (pg-boss, and this pool's store before it used
 * `= ANY` arrays: see the notes in results-durable.md). `--no-analyze` skips it.
 */
const analyze = (url: string): Promise<void> => runStatement(url, "ANALYZE")

/**
 * `VACUUM` of a PostgreSQL server's database before each measurement
 * (throughput run, load run, pickup run; untimed, for every contender). A
 * run leaves up to hundreds of thousands of dead rows (every contender
 * deletes or updates its jobs), and autovacuum looks for them once a minute:
 * without it, whether a measurement walks the previous runs' dead rows, or
 * meets autovacuum cleaning them, is a matter of when that minute comes
 * round. With it, none pays for another's clean-up. `--no-vacuum` skips it.
 */
const vacuum = (url: string): Promise<void> => runStatement(url, "VACUUM")

const runStatement = (url: string, sql: string): Promise<void> => Effect.runPromise(Effect.asVoid(pgRows(url, sql)))

/** Before each measurement on `engine`'s server at `url`: see `vacuum`. */
export const cleanUp = async (engine: Engine, url: string, sizes: Pick<DurableSizes, "vacuum">) => {
  if (engine === "postgres" && sizes.vacuum) await vacuum(url)
}

const startServer = (engine: Engine) => engine === "redis" ? startRedisServer() : startPostgresServer()

type Server = Awaited<ReturnType<typeof startServer>>

/** A run's shape: how many consumer processes, on how many queues. */
interface Shape {
  readonly consumers: number
  readonly queues: number
}

/** The jobs of one run of `contender`. */
const jobsOf = (contender: DurableContender, sizes: DurableSizes) => Math.min(sizes.jobs, contender.maxJobs ?? sizes.jobs)

/** The jobs each of `contender`'s consumer processes consumes before it is timed: at most a quarter of a run's. */
const warmUpJobsOf = (contender: DurableContender, sizes: DurableSizes) =>
  Math.min(sizes.consumerWarmUpJobs, Math.floor(jobsOf(contender, sizes) / 4))

const verified = async (contender: DurableContender, server: Server, sizes: DurableSizes, shape: Shape) => {
  const afterOffer = contender.engine === "postgres" && sizes.analyze ? () => analyze(server.url) : undefined
  const jobs = jobsOf(contender, sizes)
  await cleanUp(contender.engine, server.url, sizes)
  const run = await measureRun(contender, server.url, jobs, shape.consumers, {
    queues: shape.queues,
    warmUpJobs: warmUpJobsOf(contender, sizes),
    ...(afterOffer === undefined ? {} : { afterOffer }),
    serverProcesses: () => serverProcesses(server)
  })
  if (!run.verified) throw new Error(`${contender.name}: the store counted ${run.completed} of ${jobs} jobs completed`)
  return run
}

const keyOf = (name: string, shape: Shape) => `${name}/${shape.consumers}/${shape.queues}`

const rowOf = (contender: DurableContender, shape: Shape, samples: ReadonlyArray<Run>): DurableRow => ({
  contender: contender.name,
  engine: contender.engine,
  ours: contender.ours,
  settings: contender.settings,
  consumers: shape.consumers,
  queues: shape.queues,
  runs: samples,
  jobsPerSecond: summarize(samples.map((run) => run.jobsPerSecond)),
  offerPerSecond: summarize(samples.map((run) => run.offerPerSecond)),
  verifiedRuns: samples.filter((run) => run.verified).length,
  serverCores: summarize(samples.map((run) => run.serverCores ?? 0)).median,
  consumerCores: summarize(samples.map((run) => run.consumerCores ?? 0)).median
})

let lastPickupQueue = 0

/**
 * The pickup latency of `contenders` on the server at `url`: `pickupRounds`
 * rounds, the contenders alternating (the first swapping each round), each
 * round a share of a contender's jobs on a fresh queue; a row's quantiles
 * are those of all its rounds' pickups, so that no contender meets only a
 * slow or a quick spell of the machine.
 */
const pickupRows = async (
  engine: Engine,
  contenders: ReadonlyArray<PickupContender>,
  url: string,
  sizes: DurableSizes,
  log: (line: string) => void
): Promise<ReadonlyArray<PickupRow>> => {
  const rounds = new Map<string, Array<PickupRun>>(contenders.map((contender) => [contender.name, []]))
  for (let round = 0; round < sizes.pickupRounds; round++) {
    for (const contender of orderOfRound(round, contenders)) {
      const jobs = Math.ceil(Math.min(sizes.pickupJobs, contender.maxJobs ?? sizes.pickupJobs) / sizes.pickupRounds)
      await cleanUp(engine, url, sizes)
      const queue = `pickup_${process.pid}_${++lastPickupQueue}`
      const run = await measurePickup(contender, url, queue, jobs, sizes.pickupWarmups)
      log(`  ${contender.name}, pickup round ${round + 1}: p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms (${run.jobs} jobs)`)
      rounds.get(contender.name)!.push(run)
    }
  }
  return contenders.map((contender) => {
    const runs = rounds.get(contender.name)!
    return {
      contender: contender.name,
      engine: contender.engine,
      ours: contender.ours,
      settings: contender.settings,
      run: pickupRunOf(runs.flatMap((run) => run.latencies)),
      roundP50s: runs.map((run) => run.p50)
    }
  })
}

/**
 * The other contender with the highest median jobs/s with one consumer, and
 * half of it: the load under which ours is measured a second time, since
 * each contender's own half-load is a different rate (a faster queue is
 * loaded harder).
 */
const fastestOther = (contenders: ReadonlyArray<DurableContender>, runs: ReadonlyMap<string, ReadonlyArray<Run>>) => {
  let best: { readonly name: string; readonly rate: number } | undefined
  for (const contender of contenders.filter((contender) => !contender.ours)) {
    const measured = runs.get(keyOf(contender.name, { consumers: 1, queues: 1 })) ?? []
    if (measured.length === 0) continue
    const rate = summarize(measured.map((run) => run.jobsPerSecond)).median / 2
    if (best === undefined || rate > best.rate) best = { name: contender.name, rate }
  }
  return best
}

/**
 * The other contender whose p50 under its own half-load was lowest, if not
 * `fastest`: ours is measured under its load too, the like-for-like reading
 * of the latency target (a slower queue's half-load is a lighter one).
 */
export const quickestOther = (load: ReadonlyArray<LoadRow>, fastest: string | undefined) => {
  const others = load.filter((row) => !row.ours && row.atRateOf === undefined)
  const quickest = others.reduce<LoadRow | undefined>((best, row) => best === undefined || row.run.p50 < best.run.p50 ? row : best, undefined)
  return quickest === undefined || quickest.contender === fastest ? undefined : { name: quickest.contender, rate: quickest.run.rate }
}

/** Every timed run of `engine`'s contenders, by contender name and shape; then their latency under load and at pickup. */
const runEngine = async (engine: Engine, sizes: DurableSizes, log: (line: string) => void) => {
  const contenders = sizes.throughput
    ? durableContenders.filter((contender) =>
      contender.engine === engine && selected(sizes.only, contender.name, contender.ours)
    )
    : []
  const shapes: ReadonlyArray<Shape> = sizes.consumers.map((consumers) => ({ consumers, queues: 1 }))
  const runs = new Map<string, Array<Run>>()
  const record = (contender: DurableContender, shape: Shape, run: Run) => {
    const key = keyOf(contender.name, shape)
    runs.set(key, [...(runs.get(key) ?? []), run])
    const cpu = run.serverCores === undefined ? "" : `, server ${run.serverCores.toFixed(2)} cores`
    log(`  ${contender.name}, ${shape.consumers} consumer(s) on ${shape.queues} queue(s): ${Math.round(run.jobsPerSecond)} jobs/s${cpu}`)
  }
  const load: Array<LoadRow> = []
  const pickup: Array<PickupRow> = []
  const server = await startServer(engine)
  try {
    for (let i = 0; i < sizes.warmups; i++) {
      for (const contender of contenders) await verified(contender, server, sizes, { consumers: 1, queues: 1 })
    }
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const shape of shapes) {
        for (const contender of orderOfRound(rep, contenders)) record(contender, shape, await verified(contender, server, sizes, shape))
      }
      for (const contender of contenders.filter((contender) => contender.ours)) {
        for (const shape of sizes.scaling) record(contender, shape, await verified(contender, server, sizes, shape))
      }
    }
    for (const contender of contenders) {
      const measured = runs.get(keyOf(contender.name, { consumers: 1, queues: 1 })) ?? []
      if (measured.length === 0 || sizes.loadSeconds <= 0) continue
      const rate = summarize(measured.map((run) => run.jobsPerSecond)).median / 2
      await cleanUp(engine, server.url, sizes)
      const run = await measureLoad(contender, server.url, rate, sizes.loadSeconds, warmUpJobsOf(contender, sizes))
      log(`  ${contender.name}, under ${Math.round(rate)} jobs/s: p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms (${run.jobs} jobs)`)
      load.push({ contender: contender.name, engine, ours: contender.ours, settings: contender.settings, run })
    }
    const fastest = fastestOther(contenders, runs)
    const ours = contenders.find((contender) => contender.ours)
    for (const peer of [fastest, quickestOther(load, fastest?.name)]) {
      if (peer === undefined || ours === undefined || sizes.loadSeconds <= 0) continue
      await cleanUp(engine, server.url, sizes)
      const run = await measureLoad(ours, server.url, peer.rate, sizes.loadSeconds, warmUpJobsOf(ours, sizes))
      log(`  ${ours.name}, under ${peer.name}'s ${Math.round(peer.rate)} jobs/s: p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms`)
      load.push({ contender: ours.name, engine, ours: true, settings: ours.settings, run, atRateOf: peer.name })
    }
    const pickups = pickupContenders.filter((contender) =>
      contender.engine === engine && selected(sizes.only, contender.name, contender.ours)
    )
    pickup.push(...await pickupRows(engine, pickups, server.url, sizes, log))
  } finally {
    await server.close()
  }
  const rows = contenders.flatMap((contender) =>
    shapes.map((shape) => rowOf(contender, shape, runs.get(keyOf(contender.name, shape)) ?? []))
  )
  const scaling = contenders.filter((contender) => contender.ours).flatMap((contender) =>
    [...shapes, ...sizes.scaling].map((shape) => rowOf(contender, shape, runs.get(keyOf(contender.name, shape)) ?? []))
  )
  return { rows, scaling, load, pickup }
}

export const runDurableBench = async (
  sizes: DurableSizes,
  outDir: string,
  log: (line: string) => void = () => {}
): Promise<DurableOutput> => {
  const rows: Array<DurableRow> = []
  const scaling: Array<DurableRow> = []
  const load: Array<LoadRow> = []
  const pickup: Array<PickupRow> = []
  for (const engine of ENGINES) {
    log(engine === "redis" ? "Redis" : "PostgreSQL")
    const measured = await runEngine(engine, sizes, log)
    rows.push(...measured.rows)
    scaling.push(...measured.scaling)
    load.push(...measured.load)
    pickup.push(...measured.pickup)
  }
  const results: DurableResults = { ...describeRun(), sizes, rows, scaling, load, pickup }
  const markdownPath = join(outDir, "results-durable.md")
  const markdown = await writeReport(markdownPath, (notes) => renderDurableReport(results, notes))
  const svgPath = join(outDir, "results-durable.svg")
  await writeFile(svgPath, renderDurableChart(results))
  return { results, markdown, markdownPath, svgPath }
}
