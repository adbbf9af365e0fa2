/**
 * This pool fed in batches: the producer hands `submitAll` one batch of
 * `capacity` items at a time (waiting for room as `submit` does), then
 * `shutdown()`. One effect per batch instead of one per job: what a producer
 * that reads its work in pages (a file, a cursor, a message batch) writes.
 */
import * as Effect from "effect/Effect"
import type { Workload } from "../workload.ts"
import type { Contender } from "./contender.ts"
import { withPool } from "./pool.ts"

/** The items in arrays of at most `size`, made as they are needed. */
function* batches<A>(items: Iterable<A>, size: number): Generator<Array<A>> {
  let batch: Array<A> = []
  for (const item of items) {
    batch.push(item)
    if (batch.length === size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}

const program = (workload: Workload) =>
  withPool(workload, (pool) =>
    Effect.gen(function*() {
      for (const batch of batches(workload.items, workload.capacity)) yield* pool.submitAll(batch)
    }))

export const poolBatches: Contender = {
  name: "effect-worker-pool, submitAll",
  note: "bounded: `submitAll` of `capacity` items at a time, waiting while full",
  run: (workload) => Effect.runPromise(program(workload))
}
