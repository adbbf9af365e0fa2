/**
 * Time in the queue on real engines: a delayed job survives a restart of
 * the store (Redis with its append-only file, PostgreSQL) and of the
 * process that offered it, and runs once, not before its time by the
 * store's clock; several pools on one queue run each delayed job once; a
 * pool takes a queue's jobs by priority.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Ref, Schema, type Scope } from "effect"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import type { PoolConfigError } from "../src/Pool.ts"
import { type ManagedServer, type ServerError, startPostgres, startRedis } from "./support/servers.ts"
import { waitUntil } from "./support/waitUntil.ts"

type Connect = (url: string) => Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>

const engines: ReadonlyArray<readonly [string, Effect.Effect<ManagedServer, ServerError, Scope.Scope>, Connect]> = [
  ["Redis", startRedis({ appendonly: true }), (url) => RedisStore.make({ url })],
  ["PostgreSQL", startPostgres(), (url) => PostgresStore.make({ url })]
]

/** A pool on `queue` that records each payload it ran with the time it started. */
const recorder = (store: Store, queue: string, workers = 1) =>
  Effect.gen(function*() {
    const ran = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
    const pool = yield* Durable.make({
      store,
      queue,
      schema: Schema.String,
      workers,
      prefetch: 1,
      handler: (job) => Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(ran, (all) => [...all, [job.payload, now] as const]))
    })
    return { pool, ran: Ref.get(ran) }
  })

describe.each(engines)("time in the queue on %s", (_, startServer, connect) => {
  it.live("a delayed job survives a restart of the store and of its producer, and runs once, at its time", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* startServer
      const runAt = yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* connect(server.url)
        const producer = Durable.producer({ store, queue: "restart", schema: Schema.String })
        const id = yield* producer.submit("reminder", { id: "reminder-1", delay: "2 seconds", priority: -5 })
        return (yield* Durable.admin({ store, queue: "restart" }).lookup(id))!.runAt!.getTime()
      }))
      // A graceful stop: Redis writes its append-only file, PostgreSQL its WAL.
      yield* server.restart("SIGTERM")
      const store = yield* connect(server.url)
      const info = yield* Durable.admin({ store, queue: "restart" }).lookup("reminder-1")
      assert.deepStrictEqual([info?.state, info?.runAt?.getTime(), info?.priority], ["ready", runAt, -5], "kept with its time and priority")
      const { ran } = yield* recorder(store, "restart")
      yield* waitUntil("the reminder ran", Effect.map(ran, (all) => all.length > 0), 10_000)
      yield* Effect.sleep("300 millis")
      const runs = yield* ran
      assert.lengthOf(runs, 1, "run once")
      // The store and this process share a host, hence a clock.
      assert.isAtLeast(runs[0]![1], runAt, "not before its time")
    })), 60_000)

  it.live("three pools on one queue run each delayed job once", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* startServer
      const stores = yield* Effect.forEach([1, 2, 3], () => connect(server.url))
      const pools = yield* Effect.forEach(stores, (store) => recorder(store, "shared", 2))
      const ids = yield* pools[0]!.pool.submitAll(Array.from({ length: 30 }, (_, i) => `job-${i}`), { delay: "500 millis" })
      const total = Effect.map(Effect.forEach(pools, ({ ran }) => ran), (all) => all.flat())
      yield* waitUntil("every job ran", Effect.map(total, (all) => all.length >= ids.length), 20_000)
      yield* Effect.sleep("300 millis")
      const runs = yield* total
      assert.strictEqual(runs.length, 30)
      assert.strictEqual(new Set(runs.map(([payload]) => payload)).size, 30, "each once")
      assert.deepStrictEqual(yield* stores[0]!.counts("shared"), { ready: 0, leased: 0, completed: 30, buried: 0 })
    })), 60_000)

  it.live("a pool takes the queue's jobs by priority, equal ones in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* startServer
      const store = yield* connect(server.url)
      const producer = Durable.producer({ store, queue: "ranked", schema: Schema.String })
      for (const [payload, priority] of [["c", 5], ["a1", -1], ["b1", 0], ["a2", -1], ["b2", 0], ["z", 1000]] as const) {
        yield* producer.submit(payload, { priority })
      }
      const { ran } = yield* recorder(store, "ranked")
      yield* waitUntil("the six jobs ran", Effect.map(ran, (all) => all.length === 6), 10_000)
      assert.deepStrictEqual((yield* ran).map(([payload]) => payload), ["a1", "a2", "b1", "b2", "c", "z"])
    })), 60_000)
})
