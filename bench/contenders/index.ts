/**
 * Every contender, in the order of the tables. This pool comes first; the
 * informational rows are listed apart, since each runs on one workload only.
 */
import type { Contender } from "./contender.ts"
import { effectForEach } from "./effectForEach.ts"
import { effectForEachVoid } from "./effectForEachVoid.ts"
import { fastqCallback } from "./fastqCallback.ts"
import { fastqPromise } from "./fastqPromise.ts"
import { pLimitContender } from "./pLimit.ts"
import { pool } from "./pool.ts"
import { poolBatches } from "./poolBatches.ts"
import { pQueue } from "./pQueue.ts"
import { queueFibers } from "./queueFibers.ts"
import { timerChains } from "./timerChains.ts"

export type { Contender } from "./contender.ts"

export const POOL = pool.name

/** The same pool fed with `submitAll`: the targets are checked for both. */
export const POOL_BATCHES = poolBatches.name

/** The contenders of every workload. */
export const contenders: ReadonlyArray<Contender> = [
  pool,
  poolBatches,
  effectForEach,
  queueFibers,
  pQueue,
  pLimitContender,
  fastqPromise,
  fastqCallback
]

/** Workload 1 adds the floor of `Effect.forEach` itself. */
export const noopContenders: ReadonlyArray<Contender> = [...contenders, effectForEachVoid]

/** Workload 3 adds the ceiling of Node's timers. */
export const sleepContenders: ReadonlyArray<Contender> = [...contenders, timerChains]

export const byName = (name: string): Contender => {
  const found = [...noopContenders, timerChains].find((contender) => contender.name === name)
  if (found === undefined) throw new Error(`no contender named ${JSON.stringify(name)}`)
  return found
}
