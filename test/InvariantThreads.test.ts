/**
 * The pool's invariant (see `support/invariant.ts`) for the threaded pool:
 * the same workloads, with each job run in a thread
 * (`support/threadWorkload.ts`), where a job that hangs computes for ever
 * and only terminating its thread stops it. The pool's time is the
 * TestClock's; the threads' replies, starts and exits take real time, so
 * each settle also lets the event loop turn. Fewer runs than in memory:
 * each starts real threads.
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Threads } from "../src/index.ts"
import { holds, type Subject } from "./support/invariant.ts"
import type { BadPayload, Task } from "./support/workload.ts"
import { settle } from "./support/workload.ts"

const eventLoopTurn = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))

const threaded: Subject = {
  make: ({ workers, ...options }) =>
    Threads.make<Task, string, BadPayload>({
      ...options,
      threads: workers,
      handler: new URL("./support/threadWorkload.ts", import.meta.url)
    }),
  settle: Effect.andThen(eventLoopTurn, settle),
  // Terminating and closing threads takes real time: wait for it, round by round.
  closingRounds: 3_000
}

describe("invariant, threaded", () => {
  it("every accepted job ends exactly once; refusals are typed; nothing outlives the scope", () =>
    holds(threaded, { numRuns: 20, timeout: 60_000, budget: 420_000 }), 600_000)
})
