/**
 * `Effect.forEach` whose handler returns the prebuilt `Effect.void`. `forEach`
 * recognises an effect that is already a result and runs it inline, without
 * forking a fiber, so this row shows the floor of `forEach` itself rather than
 * the cost of running a job. It is informational: not comparable with rows
 * that run an effect per job, and not used for targets.
 *
 * The count happens in the handler function, so the run is still verified.
 */
import * as Effect from "effect/Effect"
import { counter } from "../counter.ts"
import type { Contender } from "./contender.ts"

const handler = (): Effect.Effect<void> => {
  counter.count++
  return Effect.void
}

export const effectForEachVoid: Contender = {
  name: "Effect.forEach, Effect.void (info)",
  note: "informational: inline, no fiber per job",
  informational: true,
  run: (workload) =>
    Effect.runPromise(Effect.forEach(workload.items, handler, { concurrency: workload.workers, discard: true }))
}
