/**
 * The shape of one whole benchmark run (what the report and the chart are
 * generated from, and what the structural test inspects) and what is derived
 * from it: efficiency, this pool's ratios over the contenders, and the
 * targets, each checked against the run. Ratios are this pool's median jobs/s
 * over the contender's median jobs/s, from the same run.
 */
import { POOL, POOL_BATCHES } from "./contenders/index.ts"
import { effectForEach } from "./contenders/effectForEach.ts"
import { fastqCallback } from "./contenders/fastqCallback.ts"
import { pQueue } from "./contenders/pQueue.ts"
import type { RunContext } from "./kit/context.ts"
import { ms, ratio } from "./kit/numbers.ts"
import type { MemoryRow } from "./memory.ts"
import type { ShutdownResult } from "./shutdown.ts"
import type { Sizes } from "./sizes.ts"
import type { Row } from "./throughput.ts"

/** One throughput workload (1, 2 or 3) and every contender's row. */
export interface ThroughputResult {
  readonly id: "w1" | "w2" | "w3"
  readonly title: string
  readonly jobs: number
  readonly workers: number
  readonly capacity: number
  /** Workload 3 only: how long each job sleeps, for its efficiency. */
  readonly sleepMs?: number
  readonly rows: ReadonlyArray<Row>
}

export interface Results extends RunContext {
  readonly sizes: Sizes
  readonly throughput: ReadonlyArray<ThroughputResult>
  readonly memory: ReadonlyArray<MemoryRow>
  readonly shutdown: ShutdownResult
}

/**
 * Workload 3's efficiency: the time perfect scheduling needs
 * (jobs × sleep / workers) over the measured median time. 1 is perfect.
 */
export const efficiency = (result: ThroughputResult, row: Row): number | undefined =>
  result.sleepMs === undefined ? undefined : (result.jobs * result.sleepMs / result.workers) / row.medianMs

/** The row of `contender` in `result`; throws if it is missing. */
export const rowOf = (result: ThroughputResult, contender: string): Row => {
  const row = result.rows.find((candidate) => candidate.contender === contender)
  if (row === undefined) throw new Error(`${result.id}: no row for ${contender}`)
  return row
}

/** This pool's median jobs/s over `contender`'s. */
export const poolRatio = (result: ThroughputResult, pool: string, contender: string): number =>
  rowOf(result, pool).jobsPerSecond.median / rowOf(result, contender).jobsPerSecond.median

export interface Target {
  readonly workload: string
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

const workload = (results: Results, id: ThroughputResult["id"]): ThroughputResult => {
  const found = results.throughput.find((result) => result.id === id)
  if (found === undefined) throw new Error(`no results for ${id}`)
  return found
}

/** A ratio target, checked for the pool fed by `submit` and by `submitAll`. */
const ratioTarget = (
  result: ThroughputResult,
  label: string,
  contender: string,
  atLeast: number
): ReadonlyArray<Target> =>
  [[POOL, "submit"], [POOL_BATCHES, "submitAll"]].map(([pool, via]) => {
    const measured = poolRatio(result, pool!, contender)
    return {
      workload: `${label} (${via})`,
      target: `≥ ${ratio(atLeast)} ${contender}`,
      measured: ratio(measured),
      met: measured >= atLeast
    }
  })

export const checkTargets = (results: Results): ReadonlyArray<Target> => {
  const w1 = workload(results, "w1")
  const w2 = workload(results, "w2")
  const w3 = workload(results, "w3")
  const w3Efficiency = efficiency(w3, rowOf(w3, POOL)) ?? 0
  const pool = results.memory.find((row) => row.contender === POOL)
  const rssRatio = pool?.rssRatio ?? Number.POSITIVE_INFINITY
  const { idleCloseMs, overshootMs } = results.shutdown
  return [
    ...ratioTarget(w1, "W1", effectForEach.name, 1.0),
    ...ratioTarget(w1, "W1", pQueue.name, 10),
    ...ratioTarget(w1, "W1", fastqCallback.name, 0.5),
    ...ratioTarget(w2, "W2", effectForEach.name, 1.0),
    { workload: "W3", target: "efficiency ≥ 0.95", measured: w3Efficiency.toFixed(3), met: w3Efficiency >= 0.95 },
    { workload: "W4", target: "peak RSS ratio ≤ 1.2", measured: rssRatio.toFixed(2), met: rssRatio <= 1.2 },
    {
      workload: "W5",
      target: "idle close < 1 ms (median)",
      measured: ms(idleCloseMs.median),
      met: idleCloseMs.median < 1
    },
    {
      workload: "W5",
      target: "drain overshoot < 10 ms (worst run)",
      measured: ms(overshootMs.max),
      met: overshootMs.max < 10
    }
  ]
}
