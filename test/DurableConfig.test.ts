/**
 * Options a durable pool cannot use are a `PoolConfigError` naming the
 * option, before anything starts: nothing claimed, nothing stored. Hostile
 * options objects (null, arrays, Proxies whose traps throw, getters that
 * throw) included: a typed error, never a defect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { Durable, Threads } from "../src/index.ts"
import { oneWorker, oneWorkerOptions } from "./support/durablePool.ts"
import { boom, revokedProxy, throwingProxy } from "./support/hostileValues.ts"

/** A memory store that counts every call made to it. */
const countingStore = Effect.map(MemoryStore.make, (healthy) => {
  const calls = { count: 0 }
  const counted = {} as Record<string, unknown>
  for (const [name, operation] of Object.entries(healthy)) {
    counted[name] = (...args: ReadonlyArray<unknown>) => {
      calls.count++
      return (operation as (...args: ReadonlyArray<unknown>) => unknown)(...args)
    }
  }
  return { store: counted as unknown as Store, calls }
})

const throwing = (what: string) => () => {
  throw new Error(`${what} exploded`)
}

const hostileProxy = throwingProxy()

/** Options the pool can use; each case breaks one thing. */
const good = (store: Store): Record<string, unknown> => oneWorkerOptions(store)

interface Case {
  readonly name: string
  /** The option the error must name. */
  readonly option: string
  readonly options: (store: Store) => unknown
}

const withOption = (key: string, value: unknown) => (store: Store) => ({ ...good(store), [key]: value })
const without = (key: string) => (store: Store) => {
  const { [key]: _, ...rest } = good(store)
  return rest
}
const withGetter = (key: string) => (store: Store) => {
  const options = good(store)
  Object.defineProperty(options, key, { get: throwing(`${key} getter`), enumerable: true })
  return options
}

const cases: ReadonlyArray<Case> = [
  { name: "options null", option: "options", options: () => null },
  { name: "options a number", option: "options", options: () => 42 },
  { name: "options an array", option: "options", options: () => [] },
  // The first field read is the one named: the store.
  { name: "options a Proxy whose traps throw", option: "store", options: () => hostileProxy },
  { name: "options a revoked Proxy", option: "options", options: revokedProxy },
  { name: "store missing", option: "store", options: without("store") },
  { name: "store {}", option: "store", options: withOption("store", {}) },
  { name: "store null", option: "store", options: withOption("store", null) },
  { name: "store missing an operation", option: "store", options: (store) => ({ ...good(store), store: { ...store, claim: 1 } }) },
  // `listen` is optional (a store without it is polled), but one that is there must be a function.
  { name: "store whose listen is not a function", option: "store", options: (store) => ({ ...good(store), store: { ...store, listen: 1 } }) },
  { name: "store a Proxy whose traps throw", option: "store", options: withOption("store", hostileProxy) },
  { name: "store read through a getter that throws", option: "store", options: withGetter("store") },
  { name: "queue empty", option: "queue", options: withOption("queue", "") },
  { name: "queue a number", option: "queue", options: withOption("queue", 7) },
  { name: "queue with NUL", option: "queue", options: withOption("queue", "jobs\u0000") },
  { name: "queue with half a surrogate pair (high)", option: "queue", options: withOption("queue", "X\ud800") },
  { name: "queue with half a surrogate pair (low)", option: "queue", options: withOption("queue", "X\udbff") },
  { name: "queue of 513 bytes", option: "queue", options: withOption("queue", "q".repeat(513)) },
  { name: "queue of 257 characters of 2 bytes (514 bytes)", option: "queue", options: withOption("queue", "é".repeat(257)) },
  { name: "schema {}", option: "schema", options: withOption("schema", {}) },
  { name: "schema missing", option: "schema", options: without("schema") },
  { name: "handler 42", option: "handler", options: withOption("handler", 42) },
  { name: "handler missing", option: "handler", options: without("handler") },
  { name: "handler read through a getter that throws", option: "handler", options: withGetter("handler") },
  { name: "workers 0", option: "workers", options: withOption("workers", 0) },
  { name: "workers 1.5", option: "workers", options: withOption("workers", 1.5) },
  { name: "workers \"2\"", option: "workers", options: withOption("workers", "2") },
  { name: "workers missing", option: "workers", options: without("workers") },
  { name: "workers read through a getter that throws", option: "workers", options: withGetter("workers") },
  { name: "prefetch 0", option: "prefetch", options: withOption("prefetch", 0) },
  { name: "maxAttempts 0", option: "maxAttempts", options: withOption("maxAttempts", 0) },
  { name: "maxAttempts NaN", option: "maxAttempts", options: withOption("maxAttempts", Number.NaN) },
  { name: "retry {} (not a Schedule)", option: "retry", options: withOption("retry", {}) },
  { name: "retry a duration (not a Schedule)", option: "retry", options: withOption("retry", "1 second") },
  { name: "retry null", option: "retry", options: withOption("retry", null) },
  { name: "retry a Proxy whose traps throw", option: "retry", options: withOption("retry", hostileProxy) },
  { name: "lease negative", option: "lease", options: withOption("lease", -1) },
  { name: "lease a typo ({ second: 30 })", option: "lease", options: withOption("lease", { second: 30 }) },
  { name: "lease infinite", option: "lease", options: withOption("lease", "Infinity") },
  { name: "lease null", option: "lease", options: withOption("lease", null) },
  { name: "pollInterval null", option: "pollInterval", options: withOption("pollInterval", null) },
  { name: "pollInterval zero", option: "pollInterval", options: withOption("pollInterval", 0) },
  { name: "jobTimeout negative", option: "jobTimeout", options: withOption("jobTimeout", "-5 seconds") },
  { name: "completedRetention negative", option: "completedRetention", options: withOption("completedRetention", -1) },
  { name: "completedRetention not a duration", option: "completedRetention", options: withOption("completedRetention", "a day") },
  { name: "deadLetterRetention null", option: "deadLetterRetention", options: withOption("deadLetterRetention", null) },
  { name: "maintenanceInterval zero", option: "maintenanceInterval", options: withOption("maintenanceInterval", 0) },
  { name: "maintenanceInterval infinite", option: "maintenanceInterval", options: withOption("maintenanceInterval", "Infinity") },
  { name: "maintenanceBatch 0", option: "maintenanceBatch", options: withOption("maintenanceBatch", 0) },
  { name: "maintenanceBatch 2.5", option: "maintenanceBatch", options: withOption("maintenanceBatch", 2.5) },
  { name: "retention (not an option)", option: "retention", options: withOption("retention", "1 day") },
  { name: "shutdown an array", option: "shutdown", options: withOption("shutdown", []) },
  { name: "shutdown null", option: "shutdown", options: withOption("shutdown", null) },
  { name: "shutdown a string", option: "shutdown", options: withOption("shutdown", "fast") },
  { name: "shutdown.timeout negative", option: "shutdown.timeout", options: withOption("shutdown", { timeout: -1 }) },
  { name: "shutdown.backlog unknown", option: "shutdown.backlog", options: withOption("shutdown", { backlog: "keep" }) },
  {
    name: "shutdown.timeout read through a getter that throws",
    option: "shutdown.timeout",
    options: withOption("shutdown", Object.defineProperty({}, "timeout", { get: throwing("timeout getter") }))
  },
  { name: "onShutdown 42", option: "onShutdown", options: withOption("onShutdown", 42) },
  { name: "capacity (the in-memory pool's option)", option: "capacity", options: withOption("capacity", 10) },
  { name: "a typo (maxAttempt)", option: "maxAttempt", options: withOption("maxAttempt", 3) }
]

describe("Durable.make with a Threads.handler given the pool's options", () => {
  it.effect("each is refused, naming it under handler and saying where it goes", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const module = new URL("./support/threadJobs.ts", import.meta.url)
      for (
        const [given, option, reason] of [
          [{ jobTimeout: "1 milli" }, "handler.jobTimeout", /an option of Durable.make: give it there/],
          [{ workers: 4 }, "handler.workers", /an option of Durable.make/],
          [{ threads: 2 }, "handler.threads", /`workers` are its threads/],
          [{ tranfser: () => [] }, "handler.tranfser", /is not an option of Threads.handler$/]
        ] as ReadonlyArray<readonly [object, string, RegExp]>
      ) {
        const handler = Threads.handler<string, unknown, never>(module, given as Parameters<typeof Threads.handler<string, unknown, never>>[1])
        const error = yield* Effect.flip(Durable.make({ ...oneWorkerOptions(store), handler }))
        assert.strictEqual(error._tag, "PoolConfigError")
        assert.strictEqual((error as { option: string }).option, option)
        assert.match((error as { reason: string }).reason, reason)
      }
    })))
})

describe("Durable.make with options it cannot use", () => {
  for (const { name, option, options } of cases) {
    it.effect(`${name}: PoolConfigError naming ${option}, nothing started`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { calls, store } = yield* countingStore
        const exit = yield* Effect.exit(Durable.make(options(store) as Durable.Options<string, string, void, never, never>))
        // A failure, not a defect: the error is typed.
        assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error._tag, "PoolConfigError")
        assert.strictEqual(error.option, option, error.message)
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual(calls.count, 0, "the store was used")
      })))
  }

  it.effect("a failing job with a good retry Schedule is retried (the check lets Schedules through)", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let runs = 0
      yield* Durable.make({
        ...good(store),
        maxAttempts: 2,
        retry: Schedule.spaced("1 second"),
        handler: () => Effect.andThen(Effect.sync(() => runs++), Effect.fail("no"))
      } as unknown as Durable.Options<string, string, void, string, never>).pipe(
        Effect.tap((pool) => pool.submit("x"))
      )
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("100 millis")
      assert.strictEqual(runs, 2)
      assert.strictEqual((yield* store.counts("q")).buried, 1)
    })))

  it.effect("a producer with options it cannot use refuses each submit with PoolConfigError, storing nothing", () =>
    Effect.gen(function*() {
      const { calls, store } = yield* countingStore
      for (
        const [options, option] of [
          [{ store: {}, queue: "q", schema: Schema.String }, "store"],
          [{ store, queue: "", schema: Schema.String }, "queue"],
          [{ store, queue: "X\ud800", schema: Schema.String }, "queue"],
          [{ store, queue: "q".repeat(513), schema: Schema.String }, "queue"],
          [{ store, queue: "q", schema: null }, "schema"],
          [null, "options"],
          [hostileProxy, "store"]
        ] as const
      ) {
        const producer = Durable.producer(options as never as Durable.ProducerOptions<string, string>)
        for (const error of [yield* Effect.flip(producer.submit("x")), yield* Effect.flip(producer.submitAll(["x"]))]) {
          assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", option])
        }
      }
      assert.strictEqual(calls.count, 0)
    }))

  it.effect("an admin handle on a queue name no store can keep refuses each operation with PoolConfigError naming queue", () =>
    Effect.gen(function*() {
      const { calls, store } = yield* countingStore
      for (const queue of ["", "a\u0000b", "X\udbff", "q".repeat(513), "😀".repeat(129)]) {
        const admin = Durable.admin({ store, queue })
        for (const operation of [Effect.asVoid(admin.counts), Effect.asVoid(admin.lookup("a"))]) {
          const error = yield* Effect.flip(operation)
          assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", "queue"])
        }
      }
      assert.strictEqual(calls.count, 0)
    }))

  it.effect("a queue name of 512 bytes of UTF-8 is taken by make, producer and admin alike", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const queue = "😀".repeat(127) + "€a" // 508 + 3 + 1 bytes
      assert.strictEqual(Buffer.byteLength(queue, "utf8"), 512)
      const pool = yield* Durable.make({ ...good(store), queue } as Durable.Options<string, string, void, never, never>)
      yield* Durable.producer({ store, queue, schema: Schema.String }).submit("x", { id: "at-the-limit" })
      assert.isDefined(yield* Durable.admin({ store, queue }).lookup("at-the-limit"))
      yield* pool.shutdown({ timeout: 0 })
    })))

  it.effect("a payload that throws when the schema reads it (a Proxy) is a PoolConfigError naming it, not a defect; nothing stored", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      for (const schema of [Schema.Unknown, Schema.Json] as const) {
        const producer = Durable.producer({ store, queue: "q", schema: schema as Schema.Codec<unknown, unknown> })
        for (const payload of [throwingProxy(), revokedProxy()]) {
          for (
            const [exit, option] of [
              [yield* Effect.exit(Effect.asVoid(producer.submit(payload))), "payload"],
              [yield* Effect.exit(Effect.asVoid(producer.submitAll(["fine", payload]))), "payloads"],
              [yield* Effect.exit(Effect.asVoid(producer.submitAll([payload]))), "payloads"]
            ] as const
          ) {
            assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
            const error = yield* Effect.flip(exit)
            assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", option])
          }
        }
      }
      assert.strictEqual((yield* store.counts("q")).ready, 0)
    }))

  it.effect("a list of payloads that throws when read (a Proxy's trap, a getter, its length) is a PoolConfigError naming payloads; nothing stored", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      const lists: ReadonlyArray<unknown> = [
        new Proxy([], { get: boom }),
        Object.defineProperty(["a", "b"], 1, { get: boom }),
        new Proxy(["a"], { get: (target, key) => key === "length" ? boom() : Reflect.get(target, key) })
      ]
      for (const list of lists) {
        const exit = yield* Effect.exit(producer.submitAll(list as ReadonlyArray<string>))
        assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
        const error = yield* Effect.flip(exit)
        assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", "payloads"])
        assert.match(error.message, /could not be read \(it threw Error: hostile\)/)
      }
      assert.strictEqual((yield* store.counts("q")).ready, 0)
    }))

  it.effect("a batch's payload the schema refuses is a SchemaError that says which one (at [i]); nothing stored", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      const error = yield* Effect.flip(producer.submitAll(["a", "b", 3 as never, "d"]))
      assert.strictEqual(error._tag, "SchemaError")
      assert.strictEqual(error.message, "Expected string\n  at [2]")
      const one = yield* Effect.flip(producer.submit(3 as never))
      assert.strictEqual(one.message, "Expected string")
      assert.strictEqual((yield* store.counts("q")).ready, 0)
    }))

  it.effect("a store written as a class keeps its `this`", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      class Wrapped {
        readonly inner = healthy
        offer(queue: string, jobs: Parameters<Store["offer"]>[1]) {
          return this.inner.offer(queue, jobs)
        }
        claim(...args: Parameters<Store["claim"]>) {
          return this.inner.claim(...args)
        }
        complete(...args: Parameters<Store["complete"]>) {
          return this.inner.complete(...args)
        }
        retry(...args: Parameters<Store["retry"]>) {
          return this.inner.retry(...args)
        }
        bury(...args: Parameters<Store["bury"]>) {
          return this.inner.bury(...args)
        }
        release(...args: Parameters<Store["release"]>) {
          return this.inner.release(...args)
        }
        extend(...args: Parameters<Store["extend"]>) {
          return this.inner.extend(...args)
        }
        counts(queue: string) {
          return this.inner.counts(queue)
        }
        buried(queue: string, limit: number) {
          return this.inner.buried(queue, limit)
        }
        lookup(...args: Parameters<Store["lookup"]>) {
          return this.inner.lookup(...args)
        }
        redrive(...args: Parameters<Store["redrive"]>) {
          return this.inner.redrive(...args)
        }
        remove(...args: Parameters<Store["remove"]>) {
          return this.inner.remove(...args)
        }
        cancel(...args: Parameters<Store["cancel"]>) {
          return this.inner.cancel(...args)
        }
        purge(...args: Parameters<Store["purge"]>) {
          return this.inner.purge(...args)
        }
      }
      const pool = yield* oneWorker(new Wrapped(), { handler: () => Effect.void })
      yield* pool.submit("x")
      for (let i = 0; i < 5; i++) yield* TestClock.adjust("100 millis")
      assert.strictEqual((yield* pool.counts).completed, 1)
    })))
})
