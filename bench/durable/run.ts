/**
 * Runs the whole durable benchmark at the given sizes and writes
 * results-durable.md into `outDir`. One server per engine, started from the
 * machine's binaries (`test/support/servers.ts`) and closed after; every run
 * on it uses a fresh queue (on PostgreSQL, analyzed once offered: see
 * `analyze`). On each server: untimed warm-ups, then `reps` rounds of
 * every consumer count, the engine's contenders alternating (the first one
 * swapping each round); then the pickup latency of the engine's pickup
 * contenders, one after another (`pickup.ts`).
 */
import * as PgPool from "@effect/sql-pg/PgPool"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { join } from "node:path"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import { describeRun, type RunContext } from "../kit/context.ts"
import { writeReport } from "../kit/notes.ts"
import { type Summary, summarize } from "../kit/numbers.ts"
import { type DurableContender, durableContenders, type Engine, selected } from "./contenders/index.ts"
import { type PickupContender, pickupContenders } from "./contenders/pickup.ts"
import { measureRun, type Run } from "./measure.ts"
import { measurePickup, type PickupRun } from "./pickup.ts"
import { renderDurableReport } from "./report.ts"
import type { DurableSizes } from "./sizes.ts"

/** One contender with one consumer count. */
export interface DurableRow {
  readonly contender: string
  readonly engine: Engine
  readonly ours: boolean
  readonly settings: string
  readonly consumers: number
  readonly runs: ReadonlyArray<Run>
  readonly jobsPerSecond: Summary
  readonly offerPerSecond: Summary
  /** Runs whose store counted exactly `jobs` completed (a run that did not throws). */
  readonly verifiedRuns: number
}

/** One contender's pickup latency on one engine. */
export interface PickupRow {
  readonly contender: string
  readonly engine: Engine
  readonly ours: boolean
  readonly settings: string
  readonly run: PickupRun
}

export interface DurableResults extends RunContext {
  readonly sizes: DurableSizes
  readonly rows: ReadonlyArray<DurableRow>
  readonly pickup: ReadonlyArray<PickupRow>
}

export interface DurableOutput {
  readonly results: DurableResults
  readonly markdown: string
  readonly markdownPath: string
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
const analyze = (url: string): Promise<void> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* PgPool.make({ url: Redacted.make(url) })
    yield* pool.use((connection) => connection.queryValues("ANALYZE", []))
  })))

const startServer = (engine: Engine) => engine === "redis" ? startRedisServer() : startPostgresServer()

const verified = async (contender: DurableContender, url: string, sizes: DurableSizes, consumers: number) => {
  const afterOffer = contender.engine === "postgres" && sizes.analyze ? () => analyze(url) : undefined
  const { jobs } = sizes
  const run = await measureRun(contender, url, jobs, consumers, afterOffer)
  if (!run.verified) throw new Error(`${contender.name}: the store counted ${run.completed} of ${jobs} jobs completed`)
  return run
}

let lastPickupQueue = 0

/** `contender`'s pickup latency on a fresh queue of the server at `url`. */
const pickupRow = async (contender: PickupContender, url: string, sizes: DurableSizes): Promise<PickupRow> => ({
  contender: contender.name,
  engine: contender.engine,
  ours: contender.ours,
  settings: contender.settings,
  run: await measurePickup(contender, url, `pickup_${process.pid}_${++lastPickupQueue}`, sizes.pickupJobs, sizes.pickupWarmups)
})

/** Every timed run of `engine`'s contenders, by contender name and consumer count; then their pickup latency. */
const runEngine = async (engine: Engine, sizes: DurableSizes, log: (line: string) => void) => {
  const contenders = sizes.throughput
    ? durableContenders.filter((contender) =>
      contender.engine === engine && selected(sizes.only, contender.name, contender.ours)
    )
    : []
  const runs = new Map<string, Array<Run>>()
  const pickup: Array<PickupRow> = []
  const server = await startServer(engine)
  try {
    for (let i = 0; i < sizes.warmups; i++) {
      for (const contender of contenders) await verified(contender, server.url, sizes, 1)
    }
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const consumers of sizes.consumers) {
        const order = rep % 2 === 0 ? contenders : [...contenders].reverse()
        for (const contender of order) {
          const run = await verified(contender, server.url, sizes, consumers)
          log(`  ${contender.name}, ${consumers} consumer(s): ${Math.round(run.jobsPerSecond)} jobs/s`)
          const key = `${contender.name}/${consumers}`
          runs.set(key, [...(runs.get(key) ?? []), run])
        }
      }
    }
    const pickups = pickupContenders.filter((contender) =>
      contender.engine === engine && selected(sizes.only, contender.name, contender.ours)
    )
    for (const contender of pickups) {
      const row = await pickupRow(contender, server.url, sizes)
      log(`  ${contender.name}, pickup: p50 ${row.run.p50.toFixed(2)} ms, p99 ${row.run.p99.toFixed(2)} ms (${row.run.jobs} jobs)`)
      pickup.push(row)
    }
  } finally {
    await server.close()
  }
  const rows = contenders.flatMap((contender) =>
    sizes.consumers.map((consumers): DurableRow => {
      const samples = runs.get(`${contender.name}/${consumers}`) ?? []
      return {
        contender: contender.name,
        engine,
        ours: contender.ours,
        settings: contender.settings,
        consumers,
        runs: samples,
        jobsPerSecond: summarize(samples.map((run) => run.jobsPerSecond)),
        offerPerSecond: summarize(samples.map((run) => run.offerPerSecond)),
        verifiedRuns: samples.filter((run) => run.verified).length
      }
    })
  )
  return { rows, pickup }
}

export const runDurableBench = async (
  sizes: DurableSizes,
  outDir: string,
  log: (line: string) => void = () => {}
): Promise<DurableOutput> => {
  const rows: Array<DurableRow> = []
  const pickup: Array<PickupRow> = []
  for (const engine of ENGINES) {
    log(engine === "redis" ? "Redis" : "PostgreSQL")
    const measured = await runEngine(engine, sizes, log)
    rows.push(...measured.rows)
    pickup.push(...measured.pickup)
  }
  const results: DurableResults = { ...describeRun(), sizes, rows, pickup }
  const markdownPath = join(outDir, "results-durable.md")
  const markdown = await writeReport(markdownPath, (notes) => renderDurableReport(results, notes))
  return { results, markdown, markdownPath }
}
