/**
 * No pool at all: `workers` chains, each running the job's callback form and
 * starting the next item when it calls back. On workload 3 that is nothing
 * but Node's timers, so this row is the ceiling of W3's efficiency on the
 * machine, measured in the same run. It is informational: not used for
 * targets, and run only on workload 3 (a callback that calls back at once
 * would grow the stack with every item).
 */
import type { Contender } from "./contender.ts"

export const timerChains: Contender = {
  name: "timer chains, no pool (info)",
  note: "informational: `workers` callback chains, no queue",
  informational: true,
  run: (workload) =>
    new Promise((resolve) => {
      const items = workload.items[Symbol.iterator]()
      let running = 0
      const next = (): void => {
        if (items.next().done) {
          if (--running === 0) resolve()
          return
        }
        workload.job.callback(next)
      }
      for (let i = 0; i < workload.workers; i++) {
        running++
        next()
      }
    })
}
