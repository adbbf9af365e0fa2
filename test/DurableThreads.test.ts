/**
 * The durable pool on threads: its `handler` a `Threads.handler`, so that
 * its `workers` threads run the claimed jobs. The durable pool's rules hold
 * as they do in memory (a job that times out is retried, then
 * dead-lettered); the threads add that a job over its deadline has its
 * thread terminated. Real threads and real time, on a memory store.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Durable, Threads } from "../src/index.ts"
import type { ThreadTask } from "./support/threadJobs.ts"
import { waitUntil } from "./support/waitUntil.ts"

const Task = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("echo"), value: Schema.String }),
  Schema.Struct({ _tag: Schema.Literal("spin") }),
  Schema.Struct({ _tag: Schema.Literal("threadId") }),
  Schema.Struct({ _tag: Schema.Literal("snooze"), millis: Schema.Number })
]) as unknown as Schema.Codec<ThreadTask, ThreadTask>

/** A durable pool on a memory store whose `workers` threads run each job once, with a 300 ms deadline. */
const threadedPool = (workers: number) =>
  Effect.flatMap(MemoryStore.make, (store) =>
    Durable.make({
      store,
      queue: "q",
      schema: Task,
      workers,
      pollInterval: "20 millis",
      maxAttempts: 1,
      jobTimeout: "300 millis",
      handler: Threads.handler<ThreadTask, unknown, never>(new URL("./support/threadJobs.ts", import.meta.url))
    }))

/** The test module's handler, whose `transfer` throws for the echo of "refused": the store takes it, its threads do not. */
const refusingHandler = Threads.handler<ThreadTask, unknown, never>(new URL("./support/threadJobs.ts", import.meta.url), {
  transfer: (task) => {
    if (task._tag === "echo" && task.value === "refused") throw new Error("no transfer for this one")
    return []
  }
})

describe("durable pool on threads", () => {
  it.live("runs the claimed jobs on its threads; one over its deadline has its thread stopped and is dead-lettered", () =>
    Effect.gen(function*() {
      const pool = yield* threadedPool(2)
      yield* pool.submit({ _tag: "spin" }, { id: "spin" })
      yield* pool.submit({ _tag: "echo", value: "a" }, { id: "a" })
      yield* pool.submit({ _tag: "echo", value: "b" }, { id: "b" })
      yield* waitUntil(
        "two jobs completed and the spinning one buried",
        Effect.map(pool.counts, (counts) => counts.completed === 2 && counts.buried === 1),
        30_000
      )
      const [buried] = yield* pool.deadLetters()
      assert.strictEqual(buried?.id, "spin")
      assert.match(buried?.error ?? "", /JobTimeoutError|timed out/)
      // The spinning thread was replaced: both workers still run jobs.
      yield* pool.submit({ _tag: "echo", value: "c" }, { id: "c" })
      yield* pool.submit({ _tag: "echo", value: "d" }, { id: "d" })
      yield* waitUntil("the next jobs completed", Effect.map(pool.counts, (counts) => counts.completed === 4), 30_000)
      const report = yield* pool.shutdown()
      assert.strictEqual(report.succeeded, 4)
    }).pipe(Effect.scoped))

  it.live("a job queued behind one over its deadline gets its own deadline, from when its thread starts it", () =>
    Effect.gen(function*() {
      const pool = yield* threadedPool(1)
      // One thread: the echo is queued behind the spin, and waits out the spin's 300 ms there.
      yield* pool.submit({ _tag: "spin" }, { id: "spin" })
      yield* pool.submit({ _tag: "echo", value: "b" }, { id: "b" })
      yield* waitUntil(
        "both jobs ended",
        Effect.map(pool.counts, (counts) => counts.completed + counts.buried === 2),
        30_000
      )
      const buried = yield* pool.deadLetters()
      assert.deepStrictEqual(buried.map((job) => job.id), ["spin"])
      assert.strictEqual((yield* pool.counts).completed, 1)
    }).pipe(Effect.scoped))

  it.live("a claimed job its threads cannot take is dead-lettered with the reason, not given back to be claimed for ever", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let claims = 0
      const counting = { ...store, claim: (...args: Parameters<typeof store.claim>) => (claims++, store.claim(...args)) }
      const pool = yield* Durable.make({
        store: counting,
        queue: "q",
        schema: Task,
        workers: 1,
        // The memory store wakes the pool as jobs come: no claim but those.
        pollInterval: "1 hour",
        handler: refusingHandler
      })
      // Offered by a producer that does not know the threads (another process, another release).
      const elsewhere = Durable.producer({ store, queue: "q", schema: Task })
      yield* elsewhere.submit({ _tag: "echo", value: "refused" }, { id: "refused" })
      yield* elsewhere.submit({ _tag: "echo", value: "fine" }, { id: "fine" })
      yield* waitUntil(
        "one job completed and the refused one buried",
        Effect.map(pool.counts, (counts) => counts.completed === 1 && counts.buried === 1),
        20_000
      )
      const [buried] = yield* pool.deadLetters()
      assert.strictEqual(buried?.id, "refused")
      assert.match(buried?.error ?? "", /PoolConfigError.*transfer.*no transfer for this one/)
      // Each job claimed once, in one or two claims: none went round again.
      assert.isAtMost(claims, 4)
    }).pipe(Effect.scoped))

  it.live("the pool's own submit and submitAll refuse a payload its threads cannot take, and store nothing", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* Durable.make({ store, queue: "q", schema: Task, workers: 1, handler: refusingHandler })
      const one = yield* Effect.flip(pool.submit({ _tag: "echo", value: "refused" }, { id: "refused" }))
      assert.strictEqual(one._tag, "PoolConfigError")
      assert.isTrue(one._tag === "PoolConfigError" && one.option === "transfer")
      assert.match(one.message, /no transfer for this one/)
      const all = yield* Effect.flip(pool.submitAll([{ _tag: "echo", value: "fine" }, { _tag: "echo", value: "refused" }]))
      assert.isTrue(all._tag === "PoolConfigError" && all.option === "transfer")
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 0, buried: 0 })
      assert.isUndefined(yield* pool.lookup("refused"))
      // The schema's refusal comes first, as on a pool without threads.
      const bad = yield* Effect.flip(pool.submit({ _tag: "nope" } as unknown as ThreadTask))
      assert.strictEqual(bad._tag, "SchemaError")
      // A payload the threads take still goes; so does one with a field the schema drops (a function,
      // which could not be copied to a thread): the check is on what a claim gives the threads.
      yield* pool.submit({ _tag: "echo", value: "fine" }, { id: "fine" })
      const withCallback = { _tag: "echo", value: "called back", onDone: () => {} } as ThreadTask
      yield* pool.submit(withCallback, { id: "callback" })
      yield* waitUntil("both jobs completed", Effect.map(pool.counts, (counts) => counts.completed === 2), 20_000)
    }).pipe(Effect.scoped))

  it.live("a Threads.handler module that does not load fails Durable.make with a PoolConfigError", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const error = yield* Effect.flip(Durable.make({
        store,
        queue: "q",
        schema: Schema.String,
        workers: 1,
        handler: Threads.handler<string, unknown, never>(new URL("./support/noSuchModule.ts", import.meta.url))
      }))
      assert.strictEqual(error._tag, "PoolConfigError")
      assert.isTrue(error._tag === "PoolConfigError" && error.option === "handler")
    }).pipe(Effect.scoped))

  it.live("a Threads.handler's startTimeout holds: a module that never loads fails Durable.make within it; a wrong one is named", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const make = (module: string, options: Parameters<typeof Threads.handler<string, unknown, never>>[1]) =>
        Effect.flip(Durable.make({
          store,
          queue: "q",
          schema: Schema.String,
          workers: 1,
          handler: Threads.handler<string, unknown, never>(new URL(module, import.meta.url), options)
        }))
      const late = yield* make("./support/neverLoadingThreadJobs.ts", { startTimeout: "300 millis" })
      assert.deepStrictEqual([late.option, late.reason], ["handler", "its module did not load within 300ms"])
      const wrong = yield* make("./support/threadJobs.ts", { startTimeout: "soon" as never })
      assert.deepStrictEqual([wrong.option, wrong.reason], ["startTimeout", `is not a duration: "soon"`])
    }).pipe(Effect.scoped))

  it.live("a snooze from a thread crosses as one: the job waits its delay, its attempt given back", () =>
    Effect.gen(function*() {
      const pool = yield* threadedPool(1)
      yield* pool.submit({ _tag: "snooze", millis: 3_600_000 }, { id: "snoozed" })
      yield* waitUntil(
        "the snoozed job waits",
        Effect.map(pool.lookup("snoozed"), (info) => info?.state !== "ready" || (info.runAt?.getTime() ?? 0) > Date.now() + 60_000),
        30_000
      )
      const info = yield* pool.lookup("snoozed")
      // maxAttempts 1: a failure would have dead-lettered it.
      assert.strictEqual(info?.attempts, 0)
      assert.isAbove(info!.runAt!.getTime() - Date.now(), 3_000_000)
    }).pipe(Effect.scoped))
})
