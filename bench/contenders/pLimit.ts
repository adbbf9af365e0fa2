/**
 * p-limit with `workers` as its limit, through `limit.map` (its idiomatic
 * batch call). p-limit has no bound on waiting calls and no event to wait on,
 * so the producer is unbounded: every item is queued at once, each with its
 * own promise, and `map` collects a result array.
 */
import pLimit from "p-limit"
import type { Contender } from "./contender.ts"

export const pLimitContender: Contender = {
  name: "p-limit",
  note: "unbounded: no queue bound in p-limit",
  run: async (workload) => {
    const limit = pLimit(workload.workers)
    await limit.map(workload.items, workload.job.fn)
  }
}
