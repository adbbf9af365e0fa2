/**
 * The pool's invariant (see `support/invariant.ts`) for the in-memory pool,
 * over random workloads. Time is the TestClock's.
 */
import { describe, it } from "@effect/vitest"
import { Effect, Scheduler } from "effect"
import { Pool } from "../src/index.ts"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { check, type Subject, workload } from "./support/invariant.ts"
import { handler, settle } from "./support/workload.ts"

const inMemory: Subject = {
  make: (options, trace) => Pool.make({ ...options, handler: handler(trace) }),
  settle,
  closingRounds: 100
}

describe("invariant", () => {
  it("every accepted job ends exactly once; refusals are typed; nothing outlives the scope", async () => {
    await fc.assert(
      fc.asyncProperty(workload, (w) =>
        Effect.runPromise(check(inMemory)(w).pipe(
          Effect.provideService(Scheduler.MaxOpsBeforeYield, w.opsBeforeYield),
          Effect.provide(TestClock.layer())
        ))),
      // A run that hangs fails the property (and is shrunk) instead of hanging the suite.
      { numRuns: 300, timeout: 5_000 }
    )
  }, 120_000)
})
