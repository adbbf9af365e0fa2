/**
 * `Effect.forEach` with `concurrency: workers`: what an Effect user writes when
 * all the items are known up front. There is no queue, so no bound is needed.
 */
import * as Effect from "effect/Effect"
import type { Contender } from "./contender.ts"

export const effectForEach: Contender = {
  name: "Effect.forEach",
  note: "no queue: at most `workers` fibers",
  run: (workload) =>
    Effect.runPromise(
      Effect.forEach(workload.items, () => workload.job.effect, { concurrency: workload.workers, discard: true })
    )
}
