/**
 * The targets, each checked against a run: what was measured and
 * whether it is met. Ratios are this pool's median jobs/s over the
 * contender's median jobs/s.
 */
import { POOL, POOL_BATCHES } from "./contenders/index.ts"
import { effectForEach } from "./contenders/effectForEach.ts"
import { fastqCallback } from "./contenders/fastqCallback.ts"
import { pQueue } from "./contenders/pQueue.ts"
import { ms, ratio } from "./format.ts"
import { efficiency, poolRatio, type Results, rowOf, type ThroughputResult } from "./results.ts"

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
