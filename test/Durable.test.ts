/**
 * The durable pool's rules, on the in-memory store under the TestClock:
 * acknowledged only after the handler ended, retries on the schedule up to
 * `maxAttempts` then a dead letter, undecodable payloads dead-lettered while
 * the pool goes on, shutdown that releases what it cut off, a dead worker's
 * jobs coming back after its lease, and store outages waited out.
 * (The same against real Redis and PostgreSQL, across processes, is in
 * `DurableProcesses.test.ts`.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule, Scheduler, Schema, SchemaGetter, Stream } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { unhandledRejections } from "./support/rejections.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"

const Task = Schema.Struct({ name: Schema.String, failUntil: Schema.optionalKey(Schema.Number) })
type Task = typeof Task.Type

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { attempt: Schema.Number }) {}

const seen: Array<string> = []
const handler = (job: { readonly payload: Task; readonly attempt: number; readonly id: string }) =>
  Effect.gen(function*() {
    seen.push(`${job.payload.name}#${job.attempt}`)
    if (job.payload.failUntil !== undefined && job.attempt < job.payload.failUntil) {
      return yield* new Flaky({ attempt: job.attempt })
    }
    return job.payload.name
  })

const makePool = (store: Store, options: Partial<Durable.Options<Task, unknown, string, Flaky, never>> = {}) =>
  Durable.make({
    store,
    queue: "tasks",
    schema: Task,
    workers: 2,
    handler,
    retry: Schedule.spaced("1 second"),
    maxAttempts: 3,
    pollInterval: "100 millis",
    lease: "10 seconds",
    ...options
  })

/** `healthy`, except that `operation` always fails, with `reason`. */
const refusing = (healthy: Store, operation: "extend" | "bury", reason: string): Store => ({
  ...healthy,
  [operation]: () => Effect.fail(new StoreError({ operation, reason }))
})

describe("Durable", () => {
  it.effect("a handler that kills its worker's fiber outright (a non-Effect inside its effect) is settled in the store, not leased for ever", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, {
        maxAttempts: 1,
        handler: (job) => job.payload === "bad" ? Effect.suspend((): Effect.Effect<void> => undefined as never) : Effect.void
      })
      yield* pool.submit("bad", { id: "bad" })
      yield* pool.submit("good", { id: "good" })
      yield* elapse(1_000)
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 0, completed: 1, buried: 1 })
      const [letter] = yield* pool.deadLetters()
      assert.strictEqual(letter?.id, "bad")
      assert.include(letter?.error, "Not a valid effect")
    })))

  it.effect("runs each job once, tells the handler its attempt, and acknowledges it after", () =>
    Effect.scoped(Effect.gen(function*() {
      seen.length = 0
      const store = yield* MemoryStore.make
      const pool = yield* makePool(store)
      const outcomes = yield* Effect.forkChild(Stream.runCollect(pool.outcomes), { startImmediately: true })
      yield* pool.submitAll([{ name: "a" }, { name: "b" }, { name: "c" }])
      yield* elapse(300)
      assert.deepStrictEqual([...seen].sort(), ["a#1", "b#1", "c#1"])
      const report = yield* pool.shutdown()
      assert.strictEqual(report.succeeded, 3)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 3, buried: 0 })
      const values = (yield* Fiber.join(outcomes)).map((o) => o._tag === "Succeeded" ? o.value : o._tag)
      assert.deepStrictEqual(values.sort(), ["a", "b", "c"])
    })))

  it.effect("retries a typed failure on the schedule, then dead-letters it after maxAttempts", () =>
    Effect.scoped(Effect.gen(function*() {
      seen.length = 0
      const store = yield* MemoryStore.make
      const pool = yield* makePool(store)
      yield* pool.submit({ name: "twice", failUntil: 3 }) // fails on attempts 1 and 2
      yield* pool.submit({ name: "never", failUntil: 99 })
      yield* elapse(500)
      assert.sameMembers(seen, ["twice#1", "never#1"], "retried before the schedule's delay")
      yield* elapse(3_000)
      assert.sameMembers(seen, ["twice#1", "never#1", "twice#2", "never#2", "twice#3", "never#3"])
      const counts = yield* pool.counts
      assert.deepStrictEqual(counts, { ready: 0, leased: 0, completed: 1, buried: 1 })
      const [letter] = yield* pool.deadLetters()
      assert.strictEqual(letter?.attempts, 3)
      assert.deepStrictEqual(letter?.payload, { name: "never", failUntil: 99 })
      assert.match(letter!.error, /Flaky/)
      yield* pool.shutdown()
    })))

  it.effect("a payload that does not decode is dead-lettered with the decode error; the pool goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      seen.length = 0
      const store = yield* MemoryStore.make
      yield* store.offer("tasks", [{ id: "bad", payload: { name: 42 } }, { id: "good", payload: { name: "ok" } }])
      const pool = yield* makePool(store)
      yield* elapse(300)
      assert.deepStrictEqual(seen, ["ok#1"])
      const [letter] = yield* pool.deadLetters()
      assert.strictEqual(letter?.id, "bad")
      assert.match(letter!.error, /name/)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 1 })
      yield* pool.shutdown()
    })))

  it.effect("a schema whose decoding is asynchronous has its jobs dead-lettered saying so", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const suspending = Schema.String.pipe(Schema.decode({
        decode: SchemaGetter.transformEffect((text: string) => Effect.as(Effect.sleep("1 millis"), text)),
        encode: SchemaGetter.transform((text: string) => text)
      }))
      const pool = yield* Durable.make({ store, queue: "q", schema: suspending, workers: 1, maxAttempts: 1, handler: () => Effect.void })
      yield* pool.submit("x", { id: "async" })
      yield* elapse(300)
      const [letter] = yield* pool.deadLetters()
      assert.strictEqual(letter?.id, "async")
      assert.strictEqual(
        letter?.error.split("\n")[0],
        "died: TypeError: the schema decodes asynchronously (an effectful transformation), and a claimed payload is decoded " +
          "synchronously: give the durable pool a schema whose decoding has no effects"
      )
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 0, buried: 1 })
    })))

  it.effect("shutdown lets jobs in hand finish within the deadline; one cut off goes back to the store, its attempt not counted", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* Durable.make({
        store,
        queue: "slow",
        schema: Schema.Number,
        workers: 2,
        pollInterval: "100 millis",
        shutdown: { timeout: "1 second" },
        handler: (job) => Effect.sleep(Duration.millis(job.payload)) // TestClock
      })
      yield* pool.submitAll([500, 60_000])
      yield* elapse(200)
      const shutdown = yield* Effect.forkChild(pool.shutdown())
      yield* elapse(1_200)
      const report = yield* Fiber.join(shutdown)
      assert.strictEqual(report.succeeded, 1)
      assert.strictEqual(report.interrupted.length, 1)
      assert.deepStrictEqual(yield* store.counts("slow"), { ready: 1, leased: 0, completed: 1, buried: 0 })
      const [again] = yield* store.claim("slow", 1, Duration.minutes(1))
      assert.strictEqual(again?.attempt, 1)
      assert.strictEqual(again?.payload, 60_000)
    })))

  it.effect("submit after shutdown is refused with PoolClosedError, and nothing is stored", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* makePool(store)
      yield* pool.shutdown()
      const refused = yield* Effect.flip(pool.submit({ name: "late" }))
      assert.strictEqual(refused._tag, "PoolClosedError")
      assert.strictEqual((yield* store.counts("tasks")).ready, 0)
    })))

  it.effect("the jobs of a worker that died come back to another once its lease runs out", () =>
    Effect.scoped(Effect.gen(function*() {
      seen.length = 0
      const store = yield* MemoryStore.make
      yield* store.offer("tasks", [{ id: "orphan", payload: { name: "orphan" } }])
      // A worker claims it and dies: it never ends its lease.
      yield* store.claim("tasks", 1, Duration.seconds(2))
      const pool = yield* makePool(store)
      yield* elapse(1_500)
      assert.deepStrictEqual(seen, [], "taken while another worker's lease ran")
      yield* elapse(1_000)
      assert.deepStrictEqual(seen, ["orphan#2"])
      yield* pool.shutdown()
      assert.strictEqual((yield* store.counts("tasks")).completed, 1)
    })))

  it.effect("a store outage: submit fails with StoreError, workers wait it out, nothing is lost", () =>
    Effect.scoped(Effect.gen(function*() {
      seen.length = 0
      const healthy = yield* MemoryStore.make
      let down = false
      const guard = <A>(operation: string, effect: Effect.Effect<A, StoreError>) =>
        Effect.suspend(() => down ? Effect.fail(new StoreError({ operation, reason: "connection refused" })) : effect)
      const store: Store = {
        offer: (q, jobs) => guard("offer", healthy.offer(q, jobs)),
        claim: (q, max, lease) => guard("claim", healthy.claim(q, max, lease)),
        complete: (q, leases) => guard("complete", healthy.complete(q, leases)),
        retry: (q, lease, delay) => guard("retry", healthy.retry(q, lease, delay)),
        bury: (q, lease, error) => guard("bury", healthy.bury(q, lease, error)),
        release: (q, leases) => guard("release", healthy.release(q, leases)),
        extend: (q, leases, lease) => guard("extend", healthy.extend(q, leases, lease)),
        counts: (q) => guard("counts", healthy.counts(q)),
        buried: (q, limit) => guard("buried", healthy.buried(q, limit)),
        lookup: (q, id) => guard("lookup", healthy.lookup(q, id)),
        redrive: (q, ids) => guard("redrive", healthy.redrive(q, ids)),
        remove: (q, ids) => guard("remove", healthy.remove(q, ids)),
        cancel: (q, id) => guard("cancel", healthy.cancel(q, id)),
        purge: (q, retention, limit) => guard("purge", healthy.purge(q, retention, limit))
      }
      const pool = yield* makePool(store, {
        handler: (job) => Effect.as(Effect.sleep("1 second"), job.payload.name) // TestClock
      })
      yield* pool.submitAll([{ name: "a" }, { name: "b" }])
      yield* elapse(200)
      down = true // while both jobs run: their acknowledgements must wait, not vanish
      const refused = yield* Effect.flip(pool.submit({ name: "c" }))
      assert.strictEqual(refused._tag, "StoreError")
      yield* elapse(5_000)
      assert.strictEqual((yield* healthy.counts("tasks")).completed, 0)
      down = false
      yield* elapse(6_000)
      assert.deepStrictEqual(yield* healthy.counts("tasks"), { ready: 0, leased: 0, completed: 2, buried: 0 })
      yield* pool.shutdown()
    })))

  it.effect("a handler that interrupts itself is a failure: retried, then dead-lettered, not released for ever", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let runs = 0
      const pool = yield* oneWorker(store, {
        maxAttempts: 3,
        retry: Schedule.spaced("100 millis"),
        handler: () => Effect.andThen(Effect.sync(() => runs++), Effect.interrupt)
      })
      yield* pool.submit("poison")
      yield* elapse(2_000)
      assert.strictEqual(runs, 3)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 0, buried: 1 })
    })))

  it.effect("a job this process claims again while its delivery still runs is not run twice, and shutdown keeps its deadline", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      // Heartbeats cannot reach the store: the running job's lease runs out, and we claim it again.
      const store = refusing(healthy, "extend", "connection refused")
      yield* healthy.offer("q", [{ id: "x", payload: "x" }])
      const started: Array<string> = []
      const pool = yield* oneWorker(store, {
        prefetch: 1,
        lease: "3 seconds",
        shutdown: { timeout: "1 second" },
        handler: (job) => Effect.andThen(Effect.sync(() => started.push(`${job.payload}#${job.attempt}`)), Effect.never)
      })
      yield* elapse(4_000)
      yield* healthy.offer("q", [{ id: "y", payload: "y" }])
      yield* elapse(1_000)
      assert.deepStrictEqual(started, ["x#1"], "the job ran twice at once")
      const shutdown = yield* Effect.forkChild(pool.shutdown(), { startImmediately: true })
      yield* elapse(2_000)
      const report = yield* Fiber.join(shutdown)
      assert.isTrue(report.timedOut)
      // Both back in the store: x cut off, y never started.
      assert.deepStrictEqual(yield* healthy.counts("q"), { ready: 2, leased: 0, completed: 0, buried: 0 })
    })))

  it.effect("a job claimed again while it runs counts the store's attempt: its failure on the last attempt is dead-lettered", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      // Heartbeats cannot reach the store: the running job's lease runs out at 3 s and it is claimed again, as attempt 2.
      const store = refusing(healthy, "extend", "connection refused")
      yield* healthy.offer("q", [{ id: "x", payload: "x" }])
      yield* oneWorker(store, {
        prefetch: 1,
        lease: "3 seconds",
        maxAttempts: 2,
        retry: Schedule.spaced("1 second"),
        handler: () => Effect.andThen(Effect.sleep("4 seconds"), Effect.fail("broken"))
      })
      yield* elapse(4_500)
      // The store has seen two deliveries: a failure now is the last one.
      assert.deepStrictEqual(yield* healthy.counts("q"), { ready: 0, leased: 0, completed: 0, buried: 1 })
    })))

  it.effect("a delivery claimed here again while its renewal waited out an outage runs on under the new lease, not stopped", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      // For 8 s no heartbeat reaches the store: the 3 s lease runs out and the job is claimed here again.
      let down = true
      const store: Store = {
        ...healthy,
        extend: (queue, leases, lease) =>
          down ? Effect.fail(new StoreError({ operation: "extend", reason: "connection refused" })) : healthy.extend(queue, leases, lease)
      }
      const events: Array<string> = []
      yield* oneWorker(store, {
        lease: "3 seconds",
        handler: (job) =>
          Effect.sync(() => events.push(`start#${job.attempt}`)).pipe(
            Effect.andThen(Effect.sleep("15 seconds")),
            Effect.andThen(Effect.sync(() => events.push(`done#${job.attempt}`))),
            Effect.onInterrupt(() => Effect.sync(() => events.push(`stopped#${job.attempt}`)))
          )
      })
      yield* healthy.offer("q", [{ id: "long", payload: "long" }])
      yield* elapse(8_000)
      // The renewal retried now asks about the first lease, which the store no longer holds.
      down = false
      yield* elapse(30_000)
      assert.deepStrictEqual(events, ["start#1", "done#1"])
      assert.deepStrictEqual(yield* healthy.counts("q"), { ready: 0, leased: 0, completed: 1, buried: 0 })
    })))

  it.effect("shutdown keeps its bound while a claim hangs: the deadline, then at most the 5 s flush", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      // The first claim is answered; the next one never is (a store that
      // hangs, no command timeout). Releases take a round trip, as on a server.
      let claims = 0
      const store: Store = {
        ...healthy,
        claim: (queue, max, lease) => ++claims === 1 ? healthy.claim(queue, max, lease) : Effect.never,
        release: (queue, leases) => Effect.andThen(Effect.sleep(1), healthy.release(queue, leases))
      }
      yield* healthy.offer("q", [{ id: "x", payload: "x" }, { id: "y", payload: "y" }])
      const pool = yield* oneWorker(store, {
        prefetch: 2,
        shutdown: { timeout: "1 second" },
        handler: () => Effect.never
      })
      yield* elapse(500)
      assert.strictEqual(claims, 2, "the second claim is in flight")
      const shutdown = yield* Effect.forkChild(pool.shutdown(), { startImmediately: true })
      yield* elapse(6_100)
      const report = shutdown.pollUnsafe()
      assert.isDefined(report, "shutdown still waits for the hanging claim")
      const { abandoned, interrupted, timedOut } = yield* Fiber.join(shutdown)
      assert.isTrue(timedOut)
      assert.deepStrictEqual([interrupted.map((job) => job.id), abandoned.map((job) => job.id)], [["x"], ["y"]])
      // Both are back in the store: the one cut off and the one never started.
      assert.deepStrictEqual(yield* healthy.counts("q"), { ready: 2, leased: 0, completed: 0, buried: 0 })
    })))

  it.effect("shutdown gives back every lease it holds, wherever the deadline lands", () =>
    Effect.gen(function*() {
      for (let yields = 0; yields <= 30; yields++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const store = yield* MemoryStore.make
          yield* store.offer("q", Array.from({ length: 20 }, (_, i) => ({ id: `j${i}`, payload: i })))
          const pool = yield* Durable.make({
            store,
            queue: "q",
            schema: Schema.Number,
            workers: 1,
            prefetch: 20,
            shutdown: { timeout: 0 },
            handler: () => Effect.andThen(Effect.andThen(Effect.void, Effect.void), Effect.yieldNow)
          })
          for (let k = 0; k < yields; k++) yield* Effect.yieldNow
          yield* pool.shutdown()
          const counts = yield* store.counts("q")
          assert.strictEqual(counts.leased, 0, `yields=${yields}: a lease was left held`)
          assert.strictEqual(counts.ready + counts.completed, 20, `yields=${yields}`)
        }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, 6)))
      }
    }))

  it.effect("make interrupted half-way leaves nothing behind that claims jobs", () =>
    Effect.gen(function*() {
      // Each round interrupts make a few steps later, until make has returned.
      for (let yields = 0; yields <= 40; yields++) {
        const healthy = yield* MemoryStore.make
        let claims = 0
        const store: Store = {
          ...healthy,
          claim: (q, max, lease) => Effect.andThen(Effect.sync(() => claims++), healthy.claim(q, max, lease))
        }
        const making = yield* Effect.forkChild(
          Effect.scoped(Effect.andThen(makePool(store), Effect.never)),
          { startImmediately: true }
        )
        for (let k = 0; k < yields; k++) yield* Effect.yieldNow
        yield* Fiber.interrupt(making)
        const before = claims
        yield* elapse(1_000)
        assert.strictEqual(claims, before, `yields=${yields}: still claiming after its scope closed`)
      }
    }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, 6)))

  it.effect("an ending the store keeps refusing does not hold up the acknowledgements behind it", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      const store = refusing(healthy, "bury", "value too long")
      const pool = yield* oneWorker(store, {
        maxAttempts: 1,
        handler: (job) => job.payload === "bad" ? Effect.fail("bad") : Effect.void
      })
      yield* pool.submit("bad")
      yield* elapse(500)
      yield* pool.submitAll(["a", "b", "c"])
      yield* elapse(60_000, 500)
      assert.strictEqual((yield* healthy.counts("q")).completed, 3)
      // The refused ending may still be retrying: shutdown waits for it a bounded while.
      const closing = yield* Effect.forkChild(pool.shutdown(), { startImmediately: true })
      yield* elapse(10_000, 500)
      yield* Fiber.join(closing)
    })))

  it.effect("a lease stays renewed until its ending reaches the store: acknowledgements held up are not run again", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      const store = refusing(healthy, "bury", "value too long")
      const runs: Array<string> = []
      const pool = yield* oneWorker(store, {
        maxAttempts: 1,
        lease: "3 seconds",
        handler: (job) =>
          Effect.andThen(Effect.sync(() => runs.push(job.payload)), job.payload === "bad" ? Effect.fail("bad") : Effect.void)
      })
      yield* pool.submit("bad")
      yield* elapse(500)
      // Their acknowledgements wait behind the refused burial, for longer than a lease.
      yield* pool.submitAll(["a", "b", "c"])
      yield* elapse(30_000, 500)
      // The refused ending may still be retrying: shutdown waits for it a bounded while.
      const closing = yield* Effect.forkChild(pool.shutdown(), { startImmediately: true })
      yield* elapse(10_000, 500)
      yield* Fiber.join(closing)
      assert.deepStrictEqual(runs.filter((payload) => payload !== "bad"), ["a", "b", "c"], "run again while acknowledged")
      assert.strictEqual((yield* healthy.counts("q")).completed, 3)
    })))

  it.effect("bad options are a PoolConfigError naming the option", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const error = yield* Effect.flip(makePool(store, { maxAttempts: 0 }))
      assert.strictEqual(error.option, "maxAttempts")
      const lease = yield* Effect.flip(makePool(store, { lease: "Infinity" }))
      assert.strictEqual(lease.option, "lease")
      const shortLease = yield* Effect.flip(makePool(store, { lease: "1 millis" }))
      assert.strictEqual(shortLease.option, "lease")
      assert.include(shortLease.reason, "at least 100 millis")
      const queue = yield* Effect.flip(makePool(store, { queue: "" }))
      assert.strictEqual(queue.option, "queue")
      // Not "prefetch", which defaults to it: the option to fix is the one given.
      const workers = yield* Effect.flip(makePool(store, { workers: 0 }))
      assert.strictEqual(workers.option, "workers")
    })))

  it.effect("a handler that returns something other than an Effect is dead-lettered saying what it returned", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const returned: Record<string, () => unknown> = {
        promise: () => Promise.resolve(1),
        // An async handler that throws: its rejection must not end the process.
        rejected: () => Promise.reject(new Error("thrown in an async handler")),
        number: () => 42
      }
      const pool = yield* oneWorker(store, {
        maxAttempts: 1,
        handler: ((job: { readonly payload: string }) => returned[job.payload]!()) as unknown as () => Effect.Effect<void>
      })
      const { rejections } = yield* unhandledRejections(Effect.gen(function*() {
        for (const id of Object.keys(returned)) yield* pool.submit(id, { id })
        yield* elapse(500)
      }))
      assert.deepStrictEqual(rejections, [])
      const letters = yield* pool.deadLetters()
      assert.deepStrictEqual(letters.map((letter) => letter.id).sort(), ["number", "promise", "rejected"])
      const errorOf = (id: string) => letters.find((letter) => letter.id === id)!.error
      assert.include(errorOf("promise"), "the handler returned a Promise (wrap it with Effect.promise or Effect.tryPromise), not an Effect")
      assert.include(errorOf("rejected"), "the handler returned a Promise (wrap it with Effect.promise or Effect.tryPromise), not an Effect")
      assert.include(errorOf("number"), "the handler returned 42, not an Effect")
    })))

  it.effect("deadLetters with a limit that is not an integer >= 1 is a PoolConfigError naming limit", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, { handler: () => Effect.void })
      for (const limit of [0, -1, 1.5, Number.NaN, "10" as unknown as number]) {
        const error = yield* Effect.flip(pool.deadLetters(limit))
        assert.strictEqual(error._tag === "PoolConfigError" && error.option, "limit")
      }
      assert.deepStrictEqual(yield* pool.deadLetters(), [])
    })))
})
