/**
 * The shape of one whole benchmark run: what the report and the chart are
 * generated from, and what the structural test inspects.
 */
import type { Machine } from "./machine.ts"
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

export interface Results {
  /** ISO date of the run. */
  readonly date: string
  readonly node: string
  /** The commit measured (see `revision.ts`). */
  readonly revision: string
  readonly machine: Machine
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
