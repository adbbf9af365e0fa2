/**
 * The PostgreSQL store against a real server, in real time: the store
 * contract, then what only a server can do to it (refuse to answer at start,
 * die mid-run and come back, serve several pools of connections at once).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import * as Net from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { freePort, type PlainServer, startPostgres, startPostgresServer } from "./support/servers.ts"
import { storeContract } from "./support/storeContract.ts"

// One server for the contract and the tests that do not hurt it; the tests
// that kill a server, or need one without the table, start their own.
let shared: PlainServer | undefined
beforeAll(async () => {
  shared = await startPostgresServer()
}, 60_000)
afterAll(() => shared?.close())

const makeShared = Effect.suspend(() => PostgresStore.make({ url: shared!.url }))

let lastQueue = 0
const queueName = () => `pg-${process.pid}-${Date.now()}-${++lastQueue}`
const jobs = (n: number, prefix = "j") => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, payload: { n: i } }))
const minute = Duration.minutes(1)

/** Runs `effect`, failing the test if it takes longer than `ms`: "promptly", not "eventually". */
const within = <A, E, R>(ms: number, what: string, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.die(new Error(`${what} took over ${ms} ms`)) }))

storeContract("postgres", { make: makeShared, elapse: (ms) => Effect.sleep(ms), test: it.live })

describe("PostgresStore", () => {
  it.live("an unreachable server fails make with StoreError \"connect\" at once (closed port)", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const exit = yield* within(
        2_000,
        "make",
        Effect.exit(PostgresStore.make({ url: `postgres://postgres@127.0.0.1:${port}/postgres` }))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
        assert.strictEqual(error?._tag, "StoreError")
        assert.strictEqual(error?.operation, "connect")
      }
    }))

  it.live("a server that accepts but never answers fails make within connectTimeout", () =>
    Effect.gen(function*() {
      // A socket that takes connections and says nothing: a hung server, a
      // full backlog, a proxy with nothing behind it.
      const sockets = new Set<Net.Socket>()
      const silent = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<Net.Server>((resolve) => {
            const server = Net.createServer((socket) => {
              sockets.add(socket)
            })
            server.listen(0, "127.0.0.1", () => resolve(server))
          })
        ),
        (server) =>
          Effect.promise(() =>
            new Promise<void>((resolve) => {
              for (const socket of sockets) socket.destroy()
              server.close(() => resolve())
            })
          )
      )
      const port = (silent.address() as Net.AddressInfo).port
      const started = Date.now()
      const exit = yield* within(
        3_000,
        "make",
        Effect.exit(PostgresStore.make({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, connectTimeout: 300 }))
      )
      const elapsed = Date.now() - started
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
        assert.strictEqual(error?.operation, "connect")
      }
      assert.isAtLeast(elapsed, 250, "failed before the timeout: not the timeout that failed it")
    }))

  it.live("two processes starting at once both create the table, neither fails", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      const stores = yield* Effect.all(
        Array.from({ length: 6 }, () => PostgresStore.make({ url: server.url })),
        { concurrency: "unbounded" }
      )
      const queue = queueName()
      yield* stores[0]!.offer(queue, jobs(3))
      assert.strictEqual((yield* stores[5]!.counts(queue)).ready, 3)
    }), 60_000)

  it.live("the server killed mid-run: operations fail promptly, then succeed again after restart, data kept", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      const store = yield* PostgresStore.make({ url: server.url, connectTimeout: 1_000 })
      const queue = queueName()
      yield* store.offer(queue, jobs(5))
      const claimed = yield* store.claim(queue, 2, minute)
      yield* store.complete(queue, [claimed[0]!])

      yield* server.kill()
      const failures = yield* within(
        5_000,
        "operations on a dead server",
        Effect.all([
          Effect.flip(store.offer(queue, jobs(1, "x"))),
          Effect.flip(store.claim(queue, 1, minute)),
          Effect.flip(store.complete(queue, [claimed[1]!])),
          Effect.flip(store.counts(queue)),
          Effect.flip(store.buried(queue, 10))
        ])
      )
      assert.deepStrictEqual(failures.map((error) => [error._tag, error.operation]), [
        ["StoreError", "offer"],
        ["StoreError", "claim"],
        ["StoreError", "complete"],
        ["StoreError", "counts"],
        ["StoreError", "buried"]
      ])

      yield* server.start
      // The same store, without being made again: the pool reconnects.
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 3, leased: 1, completed: 1, buried: 0 })
      // The lease taken before the crash is still good (its token survived with the row).
      yield* store.complete(queue, [claimed[1]!])
      const rest = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(rest.map((job) => job.id), ["j2", "j3", "j4"])
      yield* store.complete(queue, rest)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 5, buried: 0 })
    }), 60_000)

  it.live("a lease that runs out (200 ms, real time) is reclaimed by another store, as the next attempt", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* makeShared, yield* makeShared]
      const queue = queueName()
      yield* a.offer(queue, jobs(1))
      const [first] = yield* a.claim(queue, 1, Duration.millis(200))
      assert.strictEqual(first?.attempt, 1)
      assert.deepStrictEqual(yield* b.claim(queue, 1, minute), [], "claimed while leased")
      yield* Effect.sleep(300)
      const [second] = yield* b.claim(queue, 1, minute)
      assert.strictEqual(second?.id, "j0")
      assert.strictEqual(second?.attempt, 2)
      assert.notStrictEqual(second?.token, first!.token)
      // The first holder's acknowledgement comes too late: it must not count.
      yield* a.complete(queue, [first!])
      yield* a.extend(queue, [first!], minute)
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
      yield* b.complete(queue, [second!])
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    }))

  it.live("a stale or made-up token ends nothing", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      yield* store.offer(queue, jobs(2))
      const [first, other] = yield* store.claim(queue, 2, minute)
      // Retried: the lease is over, its token with it.
      yield* store.retry(queue, first!, Duration.zero)
      yield* store.complete(queue, [first!, { id: other!.id, token: "not-a-token" }, { id: "nope", token: first!.token }])
      yield* store.bury(queue, first!, "stale")
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 1, completed: 0, buried: 0 })
      // A second complete of the same lease is a no-op too.
      yield* store.complete(queue, [other!])
      yield* store.complete(queue, [other!])
      yield* store.release(queue, [other!])
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 0, completed: 1, buried: 0 })
      const [again] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(again?.attempt, 2)
    }))

  it.live("two stores (two pools) claiming concurrently never get the same job", () =>
    Effect.gen(function*() {
      const stores = [yield* makeShared, yield* makeShared]
      const queue = queueName()
      const total = 3_000
      yield* stores[0]!.offer(queue, jobs(total))
      const seen: Array<string> = []
      // Four claimers per store: more than one connection of each pool at work.
      const drain = (store: Store) =>
        Effect.gen(function*() {
          while (true) {
            const claimed = yield* store.claim(queue, 25, minute)
            if (claimed.length === 0) return
            for (const job of claimed) seen.push(job.id)
            yield* store.complete(queue, claimed)
          }
        })
      yield* Effect.all(stores.flatMap((store) => Array.from({ length: 4 }, () => drain(store))), {
        concurrency: "unbounded"
      })
      assert.strictEqual(new Set(seen).size, seen.length, "a job was claimed twice")
      assert.strictEqual(seen.length, total)
      assert.deepStrictEqual(yield* stores[1]!.counts(queue), { ready: 0, leased: 0, completed: total, buried: 0 })
    }), 60_000)

  it.live("payloads round-trip as JSON; a duplicate id within one batch keeps the first", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const queue = queueName()
      const payloads = [null, 0, -1.5, "text with 'quotes' and ünïcödé ✓", [1, [2, { a: null }]], { nested: { deep: [true] } }]
      yield* store.offer(queue, [
        ...payloads.map((payload, i) => ({ id: `p${i}`, payload })),
        { id: "p0", payload: "a duplicate in the same batch" }
      ])
      const claimed = yield* store.claim(queue, 100, minute)
      assert.deepStrictEqual(claimed.map((job) => job.payload), payloads)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: payloads.length, completed: 0, buried: 0 })
    }))

  it.live("queues are separate", () =>
    Effect.gen(function*() {
      const store = yield* makeShared
      const [q1, q2] = [queueName(), queueName()]
      yield* store.offer(q1, jobs(2))
      yield* store.offer(q2, jobs(1))
      assert.strictEqual((yield* store.claim(q2, 10, minute)).length, 1)
      assert.deepStrictEqual(yield* store.counts(q1), { ready: 2, leased: 0, completed: 0, buried: 0 })
    }))
})
