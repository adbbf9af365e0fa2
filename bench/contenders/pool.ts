/**
 * This pool, used as the README says: `Pool.make` in a scope, a producer that
 * `submit`s every item (waiting while the queue is full), then `shutdown()`,
 * which returns once the queue is drained.
 */
import * as Effect from "effect/Effect"
import { type Job, Pool } from "../../src/index.ts"
import type { Workload } from "../workload.ts"
import type { Contender } from "./contender.ts"

/** Starts a pool for `workload`, feeds it with `produce`, then waits for the drain. */
export const withPool = <E>(
  workload: Workload,
  produce: (pool: Pool.WorkerPool<number, void, never>) => Effect.Effect<void, E>
) =>
  Effect.scoped(Effect.gen(function*() {
    const pool = yield* Pool.make({
      workers: workload.workers,
      capacity: workload.capacity,
      handler: (_: Job.Job<number>) => workload.job.effect
    })
    yield* produce(pool)
    yield* pool.shutdown()
  }))

const program = (workload: Workload) =>
  withPool(workload, (pool) => Effect.forEach(workload.items, (item) => pool.submit(item), { discard: true }))

export const pool: Contender = {
  name: "effect-worker-pool",
  note: "bounded: `submit` waits while full",
  run: (workload) => Effect.runPromise(program(workload))
}
