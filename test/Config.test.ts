/**
 * Bad input from a careless or hostile caller: a typed `PoolConfigError`
 * that names the option and says why, and nothing started or accepted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Scope } from "effect"
import { Job, Pool, type Shutdown } from "../src/index.ts"
import { handler, makeTrace, ok, type Task } from "./support/workload.ts"

type AnyOptions = Pool.Options<Task, string, unknown, never>

const good = (): AnyOptions => ({ workers: 2, handler: handler(makeTrace()) })

/** Builds a pool from `options` in a scope of its own and returns the error, checking that nothing was left behind. */
const refused = (options: unknown) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const error = yield* Effect.flip(Scope.provide(Pool.make(options as AnyOptions), scope))
    // Nothing started: the scope got no finalizer (no worker, no shutdown hook).
    assert.strictEqual(scope.state._tag, "Empty")
    return error
  })

describe("Pool.make", () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ["workers 0", { ...good(), workers: 0 }, "workers", /integer >= 1, got 0/],
    ["workers -1", { ...good(), workers: -1 }, "workers", /got -1/],
    ["workers 1.5", { ...good(), workers: 1.5 }, "workers", /got 1.5/],
    ["workers NaN", { ...good(), workers: NaN }, "workers", /got NaN/],
    // Each a fiber started at once: far more would run the process out of memory, not be refused.
    ["workers 1,000,001", { ...good(), workers: 1_000_001 }, "workers", /must be at most 1000000, got 1000001/],
    ["workers 2^53 - 1", { ...good(), workers: Number.MAX_SAFE_INTEGER }, "workers", /must be at most 1000000/],
    ["workers missing", { handler: good().handler }, "workers", /got undefined/],
    ["workers as a string", { ...good(), workers: "4" }, "workers", /got "4"/],
    ["capacity 0", { ...good(), capacity: 0 }, "capacity", /integer >= 1, got 0/],
    ["capacity Infinity", { ...good(), capacity: Infinity }, "capacity", /got Infinity/],
    ["no handler", { workers: 1 }, "handler", /must be a function/],
    ["negative jobTimeout", { ...good(), jobTimeout: -5 }, "jobTimeout", /must not be negative/],
    ["zero jobTimeout", { ...good(), jobTimeout: 0 }, "jobTimeout", /greater than zero/],
    ["malformed jobTimeout", { ...good(), jobTimeout: "soon" }, "jobTimeout", /not a duration: "soon"/],
    ["NaN jobTimeout", { ...good(), jobTimeout: NaN }, "jobTimeout", /not a duration: NaN/],
    ["negative shutdown timeout", { ...good(), shutdown: { timeout: -1 } }, "shutdown.timeout", /negative/],
    ["malformed shutdown timeout", { ...good(), shutdown: { timeout: "1 fortnight" } }, "shutdown.timeout", /not a/],
    ["a timeout object with a typo", { ...good(), shutdown: { timeout: { second: 30 } } }, "shutdown.timeout", /not a/],
    ["an empty timeout object", { ...good(), jobTimeout: {} }, "jobTimeout", /not a duration/],
    ["unknown backlog", { ...good(), shutdown: { backlog: "discard" } }, "shutdown.backlog", /"drain" or "return"/],
    // A slip ignored would leave the default in force without a word.
    ["a misspelt option", { ...good(), capacty: 5 }, "capacty", /is not an option of the pool$/],
    ["another pool's option", { ...good(), concurrency: 4 }, "concurrency", /use `workers`/],
    ["a durable pool's option", { ...good(), prefetch: 4 }, "prefetch", /`capacity`/],
    ["a misspelt shutdown field", { ...good(), shutdown: { timout: "1 second" } }, "shutdown.timout", /not an option of shutdown/],
    ["a misspelt outcomes field", { ...good(), outcomes: { capcity: 8 } }, "outcomes.capcity", /not an option of outcomes/],
    ["options not an object", null, "options", /must be an object/]
  ]
  for (const [name, options, option, reason] of cases) {
    it.effect(`${name}: PoolConfigError on ${option}, nothing started`, () =>
      Effect.gen(function*() {
        const error = yield* refused(options)
        assert.strictEqual(error._tag, "PoolConfigError")
        assert.strictEqual(error.option, option)
        assert.match(error.reason, reason)
        assert.include(error.message, option)
      }))
  }

  it.effect("an unknown key given as undefined says nothing, as if absent (a spread of optional fields)", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ ...good(), concurrency: undefined, shutdown: { timout: undefined } } as AnyOptions)
      assert.strictEqual(yield* pool.run(ok(), { id: "x", dealy: undefined } as Job.Options), "x")
    }))

  it.effect("good options with every field set are accepted", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({
        ...good(),
        capacity: 1,
        jobTimeout: "Infinity",
        shutdown: { timeout: 0, backlog: "return" }
      })
      assert.strictEqual(yield* pool.run(ok(), { id: "x" }), "x")
    }))
})

describe("per-job options", () => {
  it.effect("a bad per-job timeout fails submit, trySubmit and run with PoolConfigError; nothing is accepted", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      const bad = { timeout: -1 } as Job.Options
      const attempts: Array<Effect.Effect<unknown, { readonly _tag: string }>> = [
        pool.submit(ok(), bad),
        pool.trySubmit(ok(), bad),
        pool.run(ok(), bad)
      ]
      for (const attempt of attempts) {
        const error = yield* Effect.flip(attempt)
        assert.isTrue(error instanceof Pool.PoolConfigError && error.option === "timeout")
      }
      const badId = yield* Effect.flip(pool.submit(ok(), { id: 42 } as unknown as Job.Options))
      assert.isTrue(badId._tag === "PoolConfigError" && badId.option === "id")
      yield* pool.shutdown()
      assert.strictEqual((yield* pool.stats).submitted, 0)
      assert.deepStrictEqual(trace.started, [])
    }))

  it.effect("a misspelt or durable job option fails submit, trySubmit and run with PoolConfigError naming it; nothing is accepted", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      const cases: Array<[unknown, string, RegExp]> = [
        [{ dealy: "1 hour" }, "dealy", /is not an option of an in-memory job$/],
        [{ runAt: new Date() }, "runAt", /use `delay`/],
        [{ priority: 1 }, "priority", /in the order they come/]
      ]
      for (const [options, option, reason] of cases) {
        const attempts: Array<Effect.Effect<unknown, unknown>> = [
          pool.submit(ok(), options as Job.Options),
          pool.trySubmit(ok(), options as Job.Options),
          pool.run(ok(), options as Job.Options)
        ]
        for (const attempt of attempts) {
          const error = yield* Effect.flip(attempt)
          assert.instanceOf(error, Pool.PoolConfigError)
          assert.strictEqual((error as Pool.PoolConfigError).option, option)
          assert.match((error as Pool.PoolConfigError).reason, reason)
        }
      }
      const subscribing = yield* Effect.flip(Effect.scoped(pool.subscribe({ capacity: 4, stratgy: "dropping" } as Pool.OutcomeBuffer)))
      assert.strictEqual((subscribing as Pool.PoolConfigError).option, "outcomes.stratgy")
      const stopping = yield* Effect.flip(pool.shutdown({ backlg: "return" } as Partial<Shutdown.Policy>))
      assert.strictEqual(stopping.option, "shutdown.backlg")
      yield* pool.shutdown()
      assert.strictEqual((yield* pool.stats).submitted, 0)
      assert.deepStrictEqual(trace.started, [])
    }))

  it.effect("a bad shutdown policy fails shutdown with PoolConfigError and leaves the pool running", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const error = yield* Effect.flip(pool.shutdown({ timeout: "-3 seconds" }))
      assert.strictEqual(error.option, "shutdown.timeout")
      assert.strictEqual(yield* pool.run(ok(), { id: "still-running" }), "still-running")
    }))
})

describe("Job.make", () => {
  it("generates ids unique within the process: job- and the next number, in decimal", () => {
    // Across several thousands, whose digits are made in two parts (see Job.ts).
    const ids = Array.from({ length: 3_500 }, () => Job.make(null).id)
    const first = Number(ids[0]!.slice("job-".length))
    ids.forEach((id, n) => assert.strictEqual(id, `job-${first + n}`))
  })

  it("throws IllegalArgumentError on a bad option, naming it", () => {
    assert.throws(() => Job.make(null, { timeout: 0 }), /invalid job option timeout: must be greater than zero/)
    assert.throws(() => Job.make(null, { timeout: -5 }), /must not be negative/)
    assert.throws(() => Job.make(null, { timout: 5 } as Job.Options), /invalid job option timout: is not an option of an in-memory job/)
  })

  it("keeps a caller's id and decodes the timeout", () => {
    const job = Job.make("payload", { id: "mine", timeout: "2 seconds" })
    assert.strictEqual(job.id, "mine")
    assert.strictEqual(job.payload, "payload")
    assert.strictEqual(job.timeout?.toString(), Job.make(null, { timeout: 2_000 }).timeout?.toString())
  })
})
