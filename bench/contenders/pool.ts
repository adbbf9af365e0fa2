/**
 * This pool, used as the README says: `Pool.make` in a scope, a producer that
 * `submit`s every item (waiting while the queue is full), then `shutdown()`,
 * which returns once the queue is drained.
 */
import * as Effect from "effect/Effect"
import { Pool } from "../../src/index.ts"
import type { Workload } from "../workload.ts"
import type { Contender } from "./contender.ts"

const program = (workload: Workload) =>
  Effect.scoped(Effect.gen(function*() {
    const pool = yield* Pool.make({
      workers: workload.workers,
      capacity: workload.capacity,
      handler: () => workload.job.effect
    })
    yield* Effect.forEach(workload.items, (item) => pool.submit(item), { discard: true })
    yield* pool.shutdown()
  }))

export const pool: Contender = {
  name: "effect-worker-pool",
  note: "bounded: `submit` waits while full",
  run: (workload) => Effect.runPromise(program(workload))
}
