/**
 * Payloads a server's store cannot take or give back, against real servers:
 * one too large is refused at `offer` (PostgreSQL: its driver's message
 * size; Redis: the server's `proto-max-bulk-len`, read at connect), and a
 * job poisoned behind the store's back (made too large, or not JSON, or not
 * of the pool's schema, by hand) is dead-lettered by itself while the rest
 * of its queue is delivered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import * as Durable from "../src/Durable.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { pgRows, redisAdmin, sharedServers } from "./support/admin.ts"
import { refusal } from "./support/payloadRefusal.ts"
import { waitUntil } from "./support/waitUntil.ts"

const servers = sharedServers()

let lastQueue = 0
const queueName = () => `payloads-${process.pid}-${Date.now()}-${++lastQueue}`
const minute = Duration.minutes(1)
const seventeenMiB = 17 * 1024 * 1024

/**
 * A durable pool on `store` whose queue holds five jobs, two of them
 * poisoned by `poison` (given the queue): the other three run, the two are
 * dead-lettered, each by itself.
 */
const poisonedQueue = (store: Store, poison: (queue: string) => Effect.Effect<void, unknown>) =>
  Effect.gen(function*() {
    const queue = queueName()
    const ran: Array<number> = []
    const jobs = Durable.producer({ store, queue, schema: Schema.Number })
    for (let n = 0; n < 5; n++) yield* jobs.submit(n, { id: `j${n}` })
    yield* Effect.orDie(poison(queue))
    const pool = yield* Durable.make({
      store,
      queue,
      schema: Schema.Number,
      workers: 2,
      pollInterval: "20 millis",
      handler: (job) => Effect.sync(() => ran.push(job.payload))
    })
    yield* waitUntil("the queue is worked off", Effect.map(pool.counts, (c) => c.completed + c.buried === 5), 15_000)
    assert.deepStrictEqual(ran.sort(), [0, 2, 4])
    assert.deepStrictEqual((yield* pool.deadLetters()).map((job) => job.id).sort(), ["j1", "j3"])
    yield* pool.shutdown({ timeout: 1_000 })
  })

describe("PostgreSQL", () => {
  it.live("a 17 MB payload is refused at offer, naming the job and the limit; the queue's claims go on", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* PostgresStore.make({ url: servers.postgres().url })
      const queue = queueName()
      const offered = yield* Effect.exit(store.offer(queue, [
        { id: "small", payload: 1 },
        { id: "big", payload: "x".repeat(seventeenMiB) }
      ]))
      yield* store.offer(queue, [{ id: "next", payload: 2 }])
      // Stored, the big one would fail this claim, and every claim after it.
      const claimed = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(claimed.map((job) => job.id), ["next"])
      const error = yield* Effect.flip(offered)
      assert.isFalse(error.retryable)
      assert.deepStrictEqual(refusal.exec(error.reason)?.slice(1), [String(seventeenMiB + 2), "postgres", String(8 * 1024 * 1024)])
    })), 60_000)

  it.live("a row made too large by hand is dead-lettered by the claim that meets it, and only it", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = servers.postgres().url
      const store = yield* PostgresStore.make({ url })
      const queue = queueName()
      yield* store.offer(queue, ["a", "b", "c"].map((id) => ({ id, payload: id })))
      yield* pgRows(
        url,
        `UPDATE ${PostgresStore.table} SET payload = to_jsonb(repeat('x', ${seventeenMiB}))
         WHERE queue = '${queue}' AND id = 'b'`
      )
      const claimed = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(claimed.map((job) => [job.id, job.payload]), [["a", "a"], ["c", "c"]])
      const [buried, ...more] = yield* store.buried(queue, 10)
      assert.deepStrictEqual(more, [])
      assert.deepStrictEqual([buried?.id, buried?.payload, buried?.attempts], ["b", undefined, 1])
      assert.match(buried!.error, new RegExp(`^the payload of b is ${seventeenMiB + 2} bytes of JSON, over the \\d+ bytes`))
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 2, completed: 0, buried: 1 })
    })), 60_000)

  it.live("a durable pool: rows made too large or not of its schema by hand are dead-lettered, the rest run", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = servers.postgres().url
      const store = yield* PostgresStore.make({ url })
      yield* poisonedQueue(store, (queue) =>
        Effect.all([
          pgRows(url, `UPDATE ${PostgresStore.table} SET payload = to_jsonb(repeat('1', ${seventeenMiB})) WHERE queue = '${queue}' AND id = 'j1'`),
          pgRows(url, `UPDATE ${PostgresStore.table} SET payload = '"three"' WHERE queue = '${queue}' AND id = 'j3'`)
        ]))
    })), 60_000)
})

describe("Redis", () => {
  it.live("the limit is the server's proto-max-bulk-len, read at connect", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = servers.redis().url
      const admin = yield* redisAdmin(url)
      const limit = 1024 * 1024
      yield* Effect.acquireRelease(
        Effect.promise(() => admin.configSet("proto-max-bulk-len", String(limit))),
        () => Effect.promise(() => admin.configSet("proto-max-bulk-len", String(512 * 1024 * 1024)))
      )
      const store = yield* RedisStore.make({ url })
      const queue = queueName()
      const error = yield* Effect.flip(store.offer(queue, [
        { id: "small", payload: 1 },
        { id: "big", payload: "x".repeat(limit - 1) }
      ]))
      assert.isFalse(error.retryable)
      assert.deepStrictEqual(refusal.exec(error.reason)?.slice(1), [String(limit + 1), "redis", String(limit)])
      yield* store.offer(queue, [{ id: "fits", payload: "x".repeat(limit - 2) }])
      assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["fits"])
    })))

  it.live("a payload that is not JSON (changed by hand) is dead-lettered by the claim that meets it, and only it", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = servers.redis().url
      const admin = yield* redisAdmin(url)
      const store = yield* RedisStore.make({ url })
      const queue = queueName()
      yield* store.offer(queue, ["a", "b", "c"].map((id) => ({ id, payload: id })))
      yield* Effect.promise(() => admin.hSet(`ewp:{${queue}}:payload`, "b", "{not json"))
      const claimed = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(claimed.map((job) => [job.id, job.payload]), [["a", "a"], ["c", "c"]])
      const [buried, ...more] = yield* store.buried(queue, 10)
      assert.deepStrictEqual(more, [])
      assert.deepStrictEqual([buried?.id, buried?.payload, buried?.attempts], ["b", undefined, 1])
      assert.match(buried!.error, /^the payload of b is not JSON/)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 2, completed: 0, buried: 1 })
    })))

  it.live("a durable pool: payloads made not JSON or not of its schema by hand are dead-lettered, the rest run", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = servers.redis().url
      const admin = yield* redisAdmin(url)
      const store = yield* RedisStore.make({ url })
      yield* poisonedQueue(store, (queue) =>
        Effect.promise(() => admin.hSet(`ewp:{${queue}}:payload`, { j1: "{not json", j3: "\"three\"" })))
    })))
})
