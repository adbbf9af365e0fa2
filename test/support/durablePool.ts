/**
 * The set-up the durable pool's in-memory tests share: a one-worker pool of
 * strings on a memory store, and TestClock time let pass in steps, so that
 * each test says only what it changes.
 */
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import type { Store } from "../../src/durable/Store.ts"
import { Durable } from "../../src/index.ts"
import { settle } from "./workload.ts"

/** Lets TestClock time pass in steps, so that polls, retries and leases come due. */
export const elapse = (ms: number, step = 50) =>
  Effect.gen(function*() {
    for (let t = 0; t < ms; t += step) {
      yield* TestClock.adjust(step)
      yield* settle
    }
  })

/** Options of a one-worker pool of strings on the queue "q", polling every 100 ms, whose jobs do nothing. */
export const oneWorkerOptions = (store: Store) => ({
  store,
  queue: "q",
  schema: Schema.String,
  workers: 1,
  pollInterval: "100 millis" as const,
  handler: () => Effect.void
})

/** A one-worker pool of strings on the queue "q", polling every 100 ms; `options` add to that or override it. */
export const oneWorker = <B, E, R = never>(
  store: Store,
  options: Partial<Durable.Options<string, string, B, E, R>> & Pick<Durable.Options<string, string, B, E, R>, "handler">
) => Durable.make({ ...oneWorkerOptions(store), ...options })
