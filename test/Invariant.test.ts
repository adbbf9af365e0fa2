/**
 * The pool's invariant (see `support/invariant.ts`) for the in-memory pool,
 * over random workloads. Time is the TestClock's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Pool } from "../src/index.ts"
import { holds, run, type Subject, type Workload } from "./support/invariant.ts"
import { handler, hang, settle } from "./support/workload.ts"

const inMemory: Subject = {
  make: (options, trace) => Pool.make({ ...options, handler: handler(trace) }),
  settle,
  closingRounds: 100
}

describe("invariant", () => {
  it("every accepted job ends exactly once; refusals are typed; nothing outlives the scope", () =>
    holds(inMemory, { numRuns: 300, timeout: 5_000, budget: 90_000 }), 120_000)
})

describe("a run of the invariant that goes wrong", () => {
  // Two jobs that never end, on two workers: they hold the pool open until it is closed.
  const hanging: Workload = {
    workers: 2,
    capacity: 2,
    jobTimeout: undefined,
    backlog: "return",
    deadline: 100,
    steps: [1, 2].map(() => ({ _tag: "job", task: hang, mode: "submit", interruptAfter: 0, delay: undefined })),
    opsBeforeYield: 100
  }

  /** `inMemory`, keeping the pools it makes and doing `broken` at its third settle. */
  const brokenAtThirdSettle = (broken: Effect.Effect<void>) => {
    const pools: Array<Pool.WorkerPool<any, any, any>> = []
    let settles = 0
    const subject: Subject = {
      ...inMemory,
      make: (options, trace) => Effect.tap(inMemory.make(options, trace), (pool) => Effect.sync(() => pools.push(pool))),
      settle: Effect.andThen(settle, Effect.suspend(() => ++settles === 3 ? broken : Effect.void))
    }
    return { subject, pools }
  }

  const workersLeft = (pools: ReadonlyArray<Pool.WorkerPool<any, any, any>>) =>
    Effect.runPromise(Effect.map(Effect.forEach(pools, (pool) => pool.stats), (all) => all.map((s) => s.workers)))

  it("a run that fails half-way still closes its pool", async () => {
    const { pools, subject } = brokenAtThirdSettle(Effect.die(new Error("broken on purpose")))
    const error = await run(subject, hanging, 5_000).then(() => undefined, (error: unknown) => error)
    assert.include(String(error), "broken on purpose")
    assert.deepStrictEqual(await workersLeft(pools), [0])
  })

  it("a run that hangs is cut at its real-time limit and still closes its pool", async () => {
    const { pools, subject } = brokenAtThirdSettle(Effect.never)
    const error = await run(subject, hanging, 1_000).then(() => undefined, (error: unknown) => error)
    assert.include(String(error), "the run took more than 1000 ms of real time")
    assert.deepStrictEqual(await workersLeft(pools), [0])
  })

  it("a run whose scope never closes fails saying so, and does not wait for it", async () => {
    const stuck: Subject = {
      ...inMemory,
      make: (options, trace) => Effect.tap(inMemory.make(options, trace), () => Effect.addFinalizer(() => Effect.never))
    }
    const error = await run(stuck, { ...hanging, steps: [] }, 5_000).then(() => undefined, (error: unknown) => error)
    assert.include(String(error), "the scope did not close within the deadline")
  })
})
