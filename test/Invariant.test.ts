/**
 * The pool's invariant (see `support/invariant.ts`) for the in-memory pool,
 * over random workloads. Time is the TestClock's.
 */
import { describe, it } from "@effect/vitest"
import { Pool } from "../src/index.ts"
import { holds, type Subject } from "./support/invariant.ts"
import { handler, settle } from "./support/workload.ts"

const inMemory: Subject = {
  make: (options, trace) => Pool.make({ ...options, handler: handler(trace) }),
  settle,
  closingRounds: 100
}

describe("invariant", () => {
  it("every accepted job ends exactly once; refusals are typed; nothing outlives the scope", () =>
    holds(inMemory, { numRuns: 300, timeout: 5_000, budget: 90_000 }), 120_000)
})
