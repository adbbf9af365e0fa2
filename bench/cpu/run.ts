/**
 * The CPU benchmark (`npm run bench -- --cpu`): jobs that compute, on this
 * pool's threads (`Threads`), on piscina and tinypool with the same number
 * of threads, and on this pool without threads (its workers are fibers of
 * the main thread, so they take turns). Two workloads: `cpuJobs` jobs of
 * about `cpuMs` ms of hashing each, and `trivialJobs` jobs that do nothing,
 * whose time is each pool's own cost per job.
 *
 * Every pool is started (its threads loaded) and warmed up before it is
 * timed; each feeds jobs with `inFlight` of them outstanding at most (this
 * pool through its bounded queue, piscina and tinypool through a window of
 * promises), and is timed from the first job to the last result, over
 * `reps` rounds with the order rotated. Writes bench/results-cpu.md.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { availableParallelism } from "node:os"
import { Piscina } from "piscina"
import { Tinypool } from "tinypool"
import { Pool, Threads } from "../../src/index.ts"
import { describeRun } from "../kit/context.ts"
import { integer, rate, ratio, spread, summarize, type Summary } from "../kit/numbers.ts"
import { notesBlock, writeReport } from "../kit/notes.ts"
import { calibrate, handler } from "./work.ts"

export interface CpuSizes {
  readonly cpuJobs: number
  readonly cpuMs: number
  readonly trivialJobs: number
  readonly inFlight: number
  readonly reps: number
  /** Thread counts to measure: 1 and the machine's parallelism. */
  readonly threads: ReadonlyArray<number>
}

export const fullCpu: CpuSizes = {
  cpuJobs: 10_000,
  cpuMs: 2,
  trivialJobs: 20_000,
  inFlight: 64,
  reps: 3,
  threads: [...new Set([1, Math.max(2, availableParallelism())])]
}

export const tinyCpu: CpuSizes = { cpuJobs: 40, cpuMs: 1, trivialJobs: 100, inFlight: 8, reps: 1, threads: [1, 2] }

const module = new URL("./work.ts", import.meta.url)

/** A started pool: runs `jobs` jobs of `rounds` each and resolves when all have returned. */
interface Started {
  readonly name: string
  readonly threads: number
  readonly run: (jobs: number, rounds: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** Keeps `inFlight` calls of `call` outstanding until `jobs` have returned. */
const windowed = async (jobs: number, inFlight: number, call: () => Promise<unknown>): Promise<void> => {
  let next = 0
  const lane = async () => {
    while (next < jobs) {
      next++
      await call()
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, jobs) }, lane))
}

/** This pool, with threads (`Threads.make`) or without (`Pool.make`, its workers on the main thread). */
const startThisPool = async (threads: number, sizes: CpuSizes, onThreads: boolean): Promise<Started> => {
  const scope = Effect.runSync(Scope.make())
  const pool = await Effect.runPromise(
    (onThreads
      ? Threads.make<number, number, never>({ handler: module, threads, capacity: sizes.inFlight })
      : Pool.make({ workers: threads, capacity: sizes.inFlight, handler })).pipe(Scope.provide(scope))
  )
  return {
    name: onThreads ? "effect-worker-pool, threads" : "effect-worker-pool, no threads",
    threads: onThreads ? threads : 1,
    run: (jobs, rounds) =>
      Effect.runPromise(Effect.forEach(Array.from({ length: jobs }), () => pool.run(rounds), {
        concurrency: sizes.inFlight,
        discard: true
      })),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const startPiscina = async (threads: number, sizes: CpuSizes): Promise<Started> => {
  const pool = new Piscina({ filename: module.href, minThreads: threads, maxThreads: threads })
  await Promise.all(Array.from({ length: threads }, () => pool.run(0)))
  return {
    name: "piscina",
    threads,
    run: (jobs, rounds) => windowed(jobs, sizes.inFlight, () => pool.run(rounds)),
    close: () => pool.destroy()
  }
}

const startTinypool = async (threads: number, sizes: CpuSizes): Promise<Started> => {
  const pool = new Tinypool({ filename: module.href, minThreads: threads, maxThreads: threads })
  await Promise.all(Array.from({ length: threads }, () => pool.run(0)))
  return {
    name: "tinypool",
    threads,
    run: (jobs, rounds) => windowed(jobs, sizes.inFlight, () => pool.run(rounds)),
    close: () => pool.destroy()
  }
}

export interface CpuRow {
  readonly name: string
  readonly threads: number
  readonly jobsPerSecond: Summary
  /** Microseconds per job, from the median. */
  readonly microsPerJob: number
  readonly runsMs: ReadonlyArray<number>
}

export interface CpuResults {
  readonly sizes: CpuSizes
  readonly rounds: number
  readonly cpu: ReadonlyArray<CpuRow>
  readonly trivial: ReadonlyArray<CpuRow>
}

const rotated = <A>(items: ReadonlyArray<A>, offset: number): ReadonlyArray<A> => {
  const start = offset % items.length
  return [...items.slice(start), ...items.slice(0, start)]
}

/** Times every started pool on `jobs` jobs of `rounds`, round-robin, after a warm-up. */
const measure = async (
  pools: ReadonlyArray<Started>,
  jobs: number,
  rounds: number,
  reps: number,
  log: (line: string) => void
): Promise<ReadonlyArray<CpuRow>> => {
  for (const pool of pools) await pool.run(Math.min(jobs, 200), rounds)
  const runs = new Map<Started, Array<number>>(pools.map((pool) => [pool, []]))
  for (let rep = 0; rep < reps; rep++) {
    for (const pool of rotated(pools, rep)) {
      const startedAt = performance.now()
      await pool.run(jobs, rounds)
      const ms = performance.now() - startedAt
      runs.get(pool)!.push(ms)
      log(`  ${pool.name} (${pool.threads} thread${pool.threads === 1 ? "" : "s"}): ${(jobs / ms * 1000).toFixed(0)} jobs/s`)
    }
  }
  return pools.map((pool) => {
    const runsMs = runs.get(pool)!
    return {
      name: pool.name,
      threads: pool.threads,
      jobsPerSecond: summarize(runsMs.map((ms) => jobs / ms * 1000)),
      microsPerJob: summarize(runsMs).median / jobs * 1000,
      runsMs
    }
  })
}

export const runCpuBench = async (sizes: CpuSizes, log: (line: string) => void): Promise<CpuResults> => {
  const rounds = calibrate(sizes.cpuMs)
  log(`CPU: ${sizes.cpuJobs} jobs of ${rounds} SHA-256 rounds (about ${sizes.cpuMs} ms each here)`)
  const pools: Array<Started> = [await startThisPool(1, sizes, false)]
  for (const threads of sizes.threads) {
    pools.push(await startThisPool(threads, sizes, true), await startPiscina(threads, sizes), await startTinypool(threads, sizes))
  }
  try {
    const cpu = await measure(pools, sizes.cpuJobs, rounds, sizes.reps, log)
    log(`trivial: ${sizes.trivialJobs} jobs that do nothing`)
    const trivial = await measure(pools.filter((pool) => pool.threads === Math.max(...sizes.threads)), sizes.trivialJobs, 0, sizes.reps, log)
    return { sizes, rounds, cpu, trivial }
  } finally {
    for (const pool of pools) await pool.close()
  }
}

const rowOf = (rows: ReadonlyArray<CpuRow>, name: string, threads: number) =>
  rows.find((row) => row.name === name && row.threads === threads)

/** The report: the tables, then the target ratios, then the notes block. */
export const renderCpuReport = (results: CpuResults, notes: string): string => {
  const run = describeRun()
  const { sizes } = results
  const table = (rows: ReadonlyArray<CpuRow>) => [
    "| pool | threads | jobs/s (median) | spread | µs per job |",
    "| --- | ---: | ---: | --- | ---: |",
    ...rows.map((row) =>
      `| ${row.name} | ${row.threads} | ${rate(row.jobsPerSecond.median)} | ${spread(row.jobsPerSecond, rate)} | ${row.microsPerJob.toFixed(1)} |`
    )
  ].join("\n")
  const most = Math.max(...sizes.threads)
  const ours = (threads: number) => rowOf(results.cpu, "effect-worker-pool, threads", threads)
  const versus = (a: CpuRow | undefined, b: CpuRow | undefined) =>
    a === undefined || b === undefined ? "n/a" : ratio(a.jobsPerSecond.median / b.jobsPerSecond.median)
  const single = rowOf(results.cpu, "effect-worker-pool, no threads", 1)
  const ratios = [
    ...sizes.threads.map((threads) =>
      `- ${threads} thread${threads === 1 ? "" : "s"}: ${versus(ours(threads), rowOf(results.cpu, "piscina", threads))} piscina, ` +
      `${versus(ours(threads), rowOf(results.cpu, "tinypool", threads))} tinypool, ${versus(ours(threads), single)} this pool without threads`
    ),
    `- trivial jobs, ${most} threads: this pool ${rowOf(results.trivial, "effect-worker-pool, threads", most)?.microsPerJob.toFixed(1)} µs per job, ` +
    `piscina ${rowOf(results.trivial, "piscina", most)?.microsPerJob.toFixed(1)} µs, tinypool ${rowOf(results.trivial, "tinypool", most)?.microsPerJob.toFixed(1)} µs`
  ]
  return [
    "# CPU benchmark: jobs that compute, on threads",
    "",
    `Run ${run.date} on Node ${run.node}, commit ${run.revision}; ${run.machine.cores} cores (${run.machine.model}).`,
    `Written by \`npm run bench -- --cpu\` (bench/cpu/). Each pool is started and warmed up before it is timed; ${sizes.reps} rounds, order rotated; at most ${sizes.inFlight} jobs outstanding.`,
    "",
    `## ${integer(sizes.cpuJobs)} jobs of about ${sizes.cpuMs} ms of hashing (${integer(results.rounds)} SHA-256 rounds of 1 KiB)`,
    "",
    table(results.cpu),
    "",
    `## ${integer(sizes.trivialJobs)} trivial jobs: each pool's own cost per job`,
    "",
    table(results.trivial),
    "",
    "## Ratios (medians of this run)",
    "",
    ...ratios,
    "",
    "## Notes",
    "",
    notes,
    ""
  ].join("\n")
}

/** Runs the CPU benchmark and writes `path` (keeping its notes block). */
export const writeCpuReport = async (sizes: CpuSizes, path: string, log: (line: string) => void): Promise<string> => {
  const results = await runCpuBench(sizes, log)
  return writeReport(path, (notes) => renderCpuReport(results, notesBlock(notes)))
}
