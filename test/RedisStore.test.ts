/**
 * The Redis store keeps the store contract against a real redis-server, in
 * real time; and what only a server can do to it: not be there at start, die
 * mid-run and come back, forget its scripts, hang.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option } from "effect"
import * as Net from "node:net"
import { createClient } from "redis"
import * as RedisStore from "../src/durable/RedisStore.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import { freePort, type PlainServer, startRedis, startRedisServer } from "./support/servers.ts"
import { connecting, retentionRun, storeContract, storeLayerContract } from "./support/storeContract.ts"
import * as Scripts from "../src/durable/redis/scripts.ts"
import { idsPerScript } from "../src/durable/redis/store.ts"

/** One server for the tests that do not harm it; each test uses its own queues. */
let shared: PlainServer | undefined
beforeAll(async () => {
  shared = await startRedisServer()
}, 30_000)
afterAll(() => shared?.close())

const sharedStore = Effect.suspend(() => RedisStore.make({ url: shared!.url }))

storeContract("redis", { make: sharedStore, elapse: (ms) => Effect.sleep(ms), test: it.live })
storeLayerContract("redis", { url: () => shared!.url, layer: RedisStore.layer, layerConfig: RedisStore.layerConfig })

let lastQueue = 0
const queueName = () => `redis-${process.pid}-${Date.now()}-${++lastQueue}`
const jobs = (n: number, prefix = "j") => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, payload: i }))
const minute = Duration.minutes(1)

/** Milliseconds `effect` took, with its result. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const result = yield* effect
    return [result, Date.now() - start] as const
  })

/** A TCP server on 127.0.0.1 that accepts connections and never answers; counts them. */
const silentServer = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ readonly port: number; readonly connections: Set<Net.Socket>; readonly server: Net.Server }>(
      (resolve) => {
        const connections = new Set<Net.Socket>()
        const server = Net.createServer((socket) => {
          connections.add(socket)
          socket.on("error", () => {})
        })
        server.listen(0, "127.0.0.1", () =>
          resolve({ port: (server.address() as Net.AddressInfo).port, connections, server }))
      }
    )
  ),
  ({ connections, server }) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy()
        server.close(() => resolve())
      })
    )
)

/** `next` (a listener's wait), failing the test if no notification comes within 10 s. */
const heardWithin = (next: Effect.Effect<void, StoreError>) =>
  Effect.timeoutOrElse(next, { duration: "10 seconds", orElse: () => Effect.die(new Error("not notified")) })

/** Retries `effect` every 100 ms until it succeeds, for at most `ms`. */
const eventually = <A>(effect: Effect.Effect<A, StoreError>, ms: number): Effect.Effect<A, StoreError> =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (true) {
      const result = yield* Effect.result(effect)
      if (result._tag === "Success") return result.success
      if (Date.now() > deadline) return yield* Effect.fail(result.failure)
      yield* Effect.sleep(100)
    }
  })

describe("RedisStore", () => {
  it.live("a store that is not there at start fails to connect within connectTimeout, and stops trying", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const [error, ms] = yield* timed(
        Effect.flip(connecting(RedisStore.make({ url: `redis://127.0.0.1:${port}`, connectTimeout: "500 millis" })))
      )
      assert.instanceOf(error, StoreError)
      assert.strictEqual(error.operation, "connect")
      assert.match(error.reason, /ECONNREFUSED/)
      assert.isAtMost(ms, 1_500, `took ${ms} ms`)

      // No reconnection loop left behind: a server that appears later gets no connection.
      const listener = Net.createServer((socket) => socket.destroy())
      let connections = 0
      listener.on("connection", () => connections++)
      yield* Effect.promise(() => new Promise<void>((resolve) => listener.listen(port, "127.0.0.1", resolve)))
      yield* Effect.sleep(1_000)
      yield* Effect.promise(() => new Promise<void>((resolve) => listener.close(() => resolve())))
      assert.strictEqual(connections, 0)
    }))

  it.live("a server that accepts but never answers fails the connect at the timeout, not a hang", () =>
    Effect.gen(function*() {
      const silent = yield* silentServer
      const [error, ms] = yield* timed(
        Effect.flip(connecting(RedisStore.make({ url: `redis://127.0.0.1:${silent.port}`, connectTimeout: "400 millis" })))
      )
      assert.strictEqual(error.operation, "connect")
      assert.isAtLeast(ms, 350)
      assert.isAtMost(ms, 1_500, `took ${ms} ms`)
      assert.isAtLeast(silent.connections.size, 1)
    }))

  it.live("an invalid connectTimeout is a PoolConfigError naming it, not a failed connection", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RedisStore.make({ url: shared!.url, connectTimeout: -1 }))
      assert.strictEqual(error._tag, "PoolConfigError")
      assert.strictEqual(error._tag === "PoolConfigError" && error.option, "connectTimeout")
    }))

  it.live("a connectTimeout longer than a timer holds (30 days) connects without Node's overflow warning", () =>
    Effect.scoped(Effect.gen(function*() {
      const warnings: Array<string> = []
      const listener = (warning: Error) => warnings.push(warning.name)
      process.on("warning", listener)
      yield* Effect.addFinalizer(() => Effect.sync(() => process.off("warning", listener)))
      const store = yield* RedisStore.make({ url: shared!.url, connectTimeout: "30 days" })
      yield* store.counts("long-connect-timeout")
      // Warnings are emitted on the next tick.
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      assert.notInclude(warnings, "TimeoutOverflowWarning")
    })))

  it.live("a server lost mid-run: operations fail at once, then succeed again with the same client and data", () =>
    Effect.gen(function*() {
      const server = yield* startRedis({ appendonly: true })
      const store = yield* RedisStore.make({ url: server.url })
      const queue = queueName()
      yield* store.offer(queue, jobs(10))
      const [held] = yield* store.claim(queue, 1, minute)

      // Operations in flight when the server dies fail too; none hangs.
      const inFlight = yield* Effect.forkChild(
        Effect.all(
          Array.from({ length: 20 }, (_, w) =>
            Effect.gen(function*() {
              for (let k = 0;; k++) {
                const result = yield* Effect.result(store.offer(`${queue}-load-${w}`, jobs(2_000, `${k}-`)))
                if (result._tag === "Failure") return result.failure
              }
            })),
          { concurrency: "unbounded" }
        )
      )
      yield* Effect.sleep(100)
      yield* server.kill()
      const failures = yield* Fiber.join(inFlight).pipe(Effect.timeout("2 seconds"))
      for (const failure of failures) assert.instanceOf(failure, StoreError)

      const operations: ReadonlyArray<Effect.Effect<unknown, StoreError>> = [
        store.counts(queue),
        store.claim(queue, 1, minute),
        store.offer(queue, jobs(1, "x"))
      ]
      for (const operation of operations) {
        const [error, ms] = yield* timed(Effect.flip(operation))
        assert.instanceOf(error, StoreError)
        assert.isAtMost(ms, 500, `a failing operation took ${ms} ms`)
      }
      // Still failing a while later: nothing was queued to replay behind our back.
      yield* Effect.sleep(500)
      assert.instanceOf(yield* Effect.flip(store.complete(queue, [held!])), StoreError)
      // What asks for nothing asks no server: it succeeds while the server is down.
      yield* store.offer(queue, [])
      yield* store.complete(queue, [])
      yield* store.release(queue, [])
      yield* store.extend(queue, [], minute)
      assert.deepStrictEqual(yield* store.claim(queue, 0, minute), [])
      assert.deepStrictEqual(yield* store.buried(queue, 0), [])

      yield* server.start
      const counts = yield* eventually(store.counts(queue), 10_000)
      assert.deepStrictEqual(counts, { ready: 9, leased: 1, completed: 0, buried: 0 })
      // The lease survived too, with its token (the scripts were reloaded on the way).
      yield* store.complete(queue, [held!])
      const rest = yield* store.claim(queue, 100, minute)
      assert.strictEqual(rest.length, 9)
      yield* store.complete(queue, rest)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 10, buried: 0 })
    }), 30_000)

  it.live("a server that stops answering fails operations at commandTimeout; they succeed once it answers again", () =>
    Effect.gen(function*() {
      const server = yield* startRedis()
      const store = yield* RedisStore.make({ url: server.url, commandTimeout: "300 millis" })
      const queue = queueName()
      yield* store.offer(queue, jobs(1))
      const admin = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const client = createClient({ url: server.url })
          client.on("error", () => {})
          return await client.connect()
        }),
        (client) => Effect.promise(() => client.close())
      )
      // Every client's commands wait for a second: a hung server, as far as they can tell.
      yield* Effect.promise(() => admin.sendCommand(["CLIENT", "PAUSE", "1000", "ALL"]))
      const [error, ms] = yield* timed(Effect.flip(store.claim(queue, 1, minute)))
      assert.strictEqual(error.operation, "claim")
      assert.match(error.reason, /no answer within 300 ms/)
      assert.isBelow(ms, 900, `took ${ms} ms`)
      // The claim that timed out ran once the pause ended: the job is leased
      // to nobody, until its lease runs out (a minute here).
      const counts = yield* eventually(store.counts(queue), 5_000)
      assert.deepStrictEqual(counts, { ready: 0, leased: 1, completed: 0, buried: 0 })
    }), 30_000)

  it.live("a server restarted empty: the client recovers", () =>
    Effect.gen(function*() {
      const server = yield* startRedis()
      const store = yield* RedisStore.make({ url: server.url })
      const queue = queueName()
      yield* store.offer(queue, jobs(3))
      yield* server.restart()
      assert.deepStrictEqual(yield* eventually(store.counts(queue), 10_000), {
        ready: 0,
        leased: 0,
        completed: 0,
        buried: 0
      })
      yield* store.offer(queue, jobs(2))
      assert.strictEqual((yield* store.claim(queue, 10, minute)).length, 2)
    }), 30_000)

  it.live("a lease that runs out is reclaimed by another client, as the next attempt; the stale token cannot end it", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* sharedStore, yield* sharedStore]
      const queue = queueName()
      yield* a.offer(queue, [{ id: "only", payload: { n: 1 } }])
      const [first] = yield* a.claim(queue, 1, Duration.millis(200))
      assert.strictEqual(first?.attempt, 1)
      assert.deepStrictEqual(yield* b.claim(queue, 1, minute), [])
      yield* Effect.sleep(300)
      const [second] = yield* b.claim(queue, 1, minute)
      assert.deepStrictEqual({ ...second, token: undefined }, {
        id: "only",
        payload: { n: 1 },
        attempt: 2,
        token: undefined
      })
      yield* a.complete(queue, [first!])
      yield* a.extend(queue, [first!], minute)
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
      // A made-up token does no better.
      yield* a.complete(queue, [{ id: "only", token: "not-the-token" }])
      yield* a.bury(queue, { id: "only", token: "" }, "no")
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
      yield* b.complete(queue, [second!])
      assert.deepStrictEqual(yield* a.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    }))

  it.live("payloads come back as offered, whatever JSON they hold; ids and queue names are taken literally", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = `${queueName()} {weird}:name`
      const payloads: ReadonlyArray<unknown> = [
        undefined,
        null,
        "",
        "text with \"quotes\" and ünïcödé 🎉",
        0,
        -1.5,
        true,
        [],
        {},
        { nested: { list: [1, "two", null, { three: 3 }] } }
      ]
      const offered = payloads.map((payload, i) => ({ id: `id:${i} {${i}}`, payload }))
      yield* store.offer(queue, offered)
      const claimed = yield* store.claim(queue, 100, minute)
      assert.deepStrictEqual(claimed.map(({ id, payload }) => ({ id, payload })), offered)
      // Another queue with the same ids is another queue.
      yield* store.offer(`${queue}2`, offered)
      assert.strictEqual((yield* store.counts(`${queue}2`)).ready, offered.length)
    }))

  it.live("large batches: offer, claim and complete 10,000 jobs in one call each", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      yield* store.offer(queue, jobs(10_000))
      const claimed = yield* store.claim(queue, 10_000, minute)
      assert.strictEqual(claimed.length, 10_000)
      assert.deepStrictEqual(claimed.slice(0, 3).map((job) => job.id), ["j0", "j1", "j2"])
      yield* store.extend(queue, claimed, minute)
      yield* store.complete(queue, claimed)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 10_000, buried: 0 })
    }))

  it.live("redrive and remove of many ids run as many short scripts, never one that holds the server; each id counted once", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* startRedis()
      const store = yield* RedisStore.make({ url: server.url })
      const client = createClient({ url: server.url })
      yield* Effect.acquireRelease(Effect.promise(() => client.connect()), () => Effect.sync(() => client.destroy()))
      /** Scripts the server has run so far. */
      const scriptsRun = Effect.promise(async () => {
        const stats = await client.info("commandstats")
        return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
      })
      const queue = queueName()
      yield* store.offer(queue, jobs(1_200))
      for (const lease of yield* store.claim(queue, 1_200, Duration.minutes(1))) yield* store.bury(queue, lease, "no")
      const dead = jobs(1_200).map((job) => job.id)
      for (const [operation, known] of [["redrive", dead.slice(0, 600)], ["remove", dead.slice(600)]] as const) {
        // Its dead letters, each given twice, and a thousand unknown ids: 2,200 ids, three slices.
        const ids = [...known, ...known, ...jobs(1_000, "unknown").map((job) => job.id)]
        // Once first, so that the server has the script (its first run is sent twice: EVALSHA, then EVAL).
        yield* store[operation](queue, ["nobody"])
        const before = yield* scriptsRun
        assert.strictEqual(yield* store[operation](queue, ids), 600, operation)
        assert.strictEqual((yield* scriptsRun) - before, Math.ceil(ids.length / idsPerScript), operation)
      }
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 600, leased: 0, completed: 0, buried: 0 })
    })))

  it.live("a lease given twice to release is released once; its attempt is given back once", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      yield* store.offer(queue, jobs(1))
      yield* store.release(queue, yield* store.claim(queue, 1, minute))
      const [second] = yield* store.claim(queue, 1, minute)
      yield* store.release(queue, [second!, second!])
      const [third] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(third?.attempt, 1)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
    }))

  it.live("buried jobs are listed in the order they were buried, at most `limit`", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      yield* store.offer(queue, jobs(3))
      const [j0, j1, j2] = yield* store.claim(queue, 3, minute)
      yield* store.bury(queue, j2!, "third")
      yield* store.bury(queue, j0!, "first")
      yield* store.retry(queue, j1!, Duration.zero)
      const [again] = yield* store.claim(queue, 1, minute)
      yield* store.bury(queue, again!, "twice")
      assert.deepStrictEqual((yield* store.buried(queue, 10)).map(({ cursor: _, ...letter }) => letter), [
        { id: "j2", payload: 2, attempts: 1, error: "third" },
        { id: "j0", payload: 0, attempts: 1, error: "first" },
        { id: "j1", payload: 1, attempts: 2, error: "twice" }
      ])
      assert.deepStrictEqual((yield* store.buried(queue, 1)).map((job) => job.id), ["j2"])
      assert.deepStrictEqual(yield* store.buried(queue, 0), [])
      // Buried ids stay known: offering them again stores nothing.
      yield* store.offer(queue, jobs(3))
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 0, buried: 3 })
    }))

  it.live("a burial after the newest dead letter was removed is paged after that one's cursor: no score is given twice", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      // Within a millisecond, a score given again would be that of the dead letter removed: tried
      // a hundred times, for bursts that fall in one millisecond (most do, on an idle server).
      for (let round = 0; round < 100; round++) {
        const queue = queueName()
        yield* store.offer(queue, jobs(3))
        const [a, b, c] = yield* store.claim(queue, 3, minute)
        yield* store.bury(queue, a!, "no")
        yield* store.bury(queue, b!, "no")
        const page = yield* store.buried(queue, 10)
        yield* store.remove(queue, [b!.id])
        yield* store.bury(queue, c!, "no")
        const after = yield* store.buried(queue, 10, undefined, page.at(-1)!.cursor)
        assert.deepStrictEqual(after.map((job) => job.id), [c!.id], `round ${round}`)
      }
    })), 30_000)

  it.live("after N jobs end and their retention passes, the queue holds O(1): no ids left in any key, two counters", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      const client = createClient({ url: shared!.url })
      yield* Effect.acquireRelease(Effect.promise(() => client.connect()), () => Effect.sync(() => client.destroy()))
      /** Every member, field and element of the queue's keys, and the keys that exist. */
      const footprint = Effect.promise(async () => {
        let n = 0
        for (const key of Scripts.keysOf(queue)) {
          const type = await client.type(key)
          if (type === "none") continue
          n += type === "hash"
            ? await client.hLen(key)
            : type === "list"
            ? await client.lLen(key)
            : type === "zset"
            ? await client.zCard(key)
            : 1
        }
        return n
      })
      const { counts, peak } = yield* retentionRun(store, queue, 600, footprint, 2)
      assert.isAbove(peak, 300, "the ended jobs were there before their retention passed")
      assert.deepStrictEqual(counts, { ready: 0, leased: 0, completed: 588, buried: 0 })
      // Jobs completed, ever, and the newest burial's score.
      assert.deepStrictEqual(
        (yield* Effect.promise(() => client.keys(`ewp:{${queue}}:*`))).sort(),
        [`ewp:{${queue}}:completed`, `ewp:{${queue}}:lastBurial`]
      )
    }), 60_000)

  it.live("a server that forgot its scripts (SCRIPT FLUSH) is sent them again", () =>
    Effect.gen(function*() {
      const store: Store = yield* sharedStore
      const queue = queueName()
      yield* store.offer(queue, jobs(2))
      const admin = createClient({ url: shared!.url })
      admin.on("error", () => {})
      yield* Effect.promise(async () => {
        await admin.connect()
        await admin.scriptFlush()
        await admin.close()
      })
      assert.strictEqual((yield* store.claim(queue, 10, minute)).length, 2)
    }))

  it.live("the server's clock decides: a retry's delay is counted on the server", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      yield* store.offer(queue, jobs(1))
      const [first] = yield* store.claim(queue, 1, minute)
      yield* store.retry(queue, first!, Duration.millis(250))
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 0, completed: 0, buried: 0 })
      assert.deepStrictEqual(yield* store.claim(queue, 1, minute), [])
      const [second] = yield* eventually(
        store.claim(queue, 1, minute).pipe(
          Effect.flatMap((claimed) =>
            claimed.length > 0 ? Effect.succeed(claimed) : Effect.fail(new StoreError({ operation: "t", reason: "" }))
          )
        ),
        2_000
      )
      assert.strictEqual(second?.attempt, 2)
    }))
})

/** A client of the test's own on the shared server, to look at (or set) a queue's keys behind the store's back. */
const sharedAdmin = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = createClient({ url: shared!.url })
    client.on("error", () => {})
    return await client.connect()
  }),
  (client) => Effect.sync(() => client.destroy())
)

/** The key `suffix` of `queue`, as the scripts name it. */
const keyOf = (queue: string, suffix: (typeof Scripts.keySuffixes)[number]) =>
  Scripts.keysOf(queue)[Scripts.keySuffixes.indexOf(suffix)]!

describe("RedisStore layout: priorities, times and settings", () => {
  it.live("scores are exact at the top of their range; past 2^42 places the order wraps within a priority, which still holds", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const client = yield* sharedAdmin
      const queue = queueName()
      // The order counter three places before its end, as a ready set that never emptied in 14 years would have it.
      yield* Effect.promise(() => client.set(keyOf(queue, "seq"), String(Scripts.placesPerPriority - 3)))
      // Places 2^42-2 and 2^42-1 at priority 1000: scores near 2^53, one apart.
      yield* store.offer(queue, [{ id: "top-z", payload: 0, priority: 1000 }, { id: "top-a", payload: 0, priority: 1000 }])
      // Places 0 and 1 (wrapped), then 2 at a lower priority.
      yield* store.offer(queue, [
        { id: "wrapped-1", payload: 0, priority: 1000 },
        { id: "wrapped-2", payload: 0, priority: 1000 },
        { id: "lower", payload: 0, priority: 999 }
      ])
      assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), [
        "lower",
        "wrapped-1",
        "wrapped-2",
        "top-z",
        "top-a"
      ])
      // The claim took the last ready job: the counter starts again.
      assert.strictEqual(yield* Effect.promise(() => client.exists(keyOf(queue, "seq"))), 0)
    })))

  it.live("a claim moves at most promotedPerClaim due jobs (or max), the earliest first; jobs not due cost it nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const client = yield* sharedAdmin
      const queue = queueName()
      const waiting = (n: number, prefix: string, delay: number) =>
        Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, payload: i, delay }))
      const sizes = Effect.promise(async () => [await client.zCard(keyOf(queue, "delayed")), await client.zCard(keyOf(queue, "ready"))])
      yield* store.offer(queue, [...waiting(1_000, "b", 200), ...waiting(500, "a", 100), ...waiting(10, "later", 3_600_000)])
      yield* Effect.sleep(300)
      // 1,510 wait, 1,500 of them due, none ready: one claim of 1 moves the 1,000 earliest due (the 500 a's first).
      const [first] = yield* store.claim(queue, 1, minute)
      assert.strictEqual(first?.id, "a0")
      assert.deepStrictEqual(yield* sizes, [510, 999])
      // A claim of more than promotedPerClaim moves up to its max.
      const rest = yield* store.claim(queue, 2_000, minute)
      assert.strictEqual(rest.length, 1_499)
      // The a's, due first, go first (those due in one millisecond: in the server's order of equal scores).
      assert.isTrue(rest.slice(0, 499).every((job) => job.id.startsWith("a")))
      assert.deepStrictEqual(yield* sizes, [10, 0])
      assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])
      assert.deepStrictEqual(yield* sizes, [10, 0], "a job not due stays where it is")
    })), 30_000)

  it.live("a job offered with a delay of 0 or a run-at in the past is ready at once, in its order of offer; due does not count it", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const client = yield* sharedAdmin
      const queue = queueName()
      yield* store.offer(queue, [
        { id: "zero", payload: 0, delay: 0 },
        { id: "plain", payload: 1 },
        { id: "past", payload: 2, runAt: Date.now() - 60_000 }
      ])
      assert.strictEqual(yield* Effect.promise(() => client.exists(keyOf(queue, "delayed"))), 0)
      assert.strictEqual(yield* store.due!(queue), undefined)
      assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["zero", "plain", "past"])
    })))

  it.live("the listener hears a delayed offer and a delayed retry (a fetcher asleep until a later time reads due again)", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      const next = yield* store.listen!(queue)
      const heard = (what: string) =>
        Effect.timeoutOrElse(next, { duration: "10 seconds", orElse: () => Effect.die(new Error(`no notification for ${what}`)) })
      yield* store.offer(queue, [{ id: "later", payload: 1, delay: 3_600_000 }])
      yield* heard("the delayed offer")
      yield* store.offer(queue, [{ id: "now", payload: 2 }])
      yield* heard("the offer")
      const [claimed] = yield* store.claim(queue, 1, minute)
      yield* store.retry(queue, claimed!, Duration.minutes(10))
      yield* heard("the delayed retry")
    })), 30_000)

  it.live("priorities and settings leave with their job: complete drops its settings, remove and purge every trace", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const client = yield* sharedAdmin
      const queue = queueName()
      const fields = (suffix: "priority" | "settings") => Effect.promise(() => client.hKeys(keyOf(queue, suffix)))
      yield* store.offer(queue, [
        { id: "done", payload: 0, priority: 3, settings: "s-done" },
        { id: "dead", payload: 0, priority: -2, settings: "" },
        { id: "stopped", payload: 0, priority: 5, settings: "s-stopped" }
      ])
      assert.deepStrictEqual((yield* fields("priority")).sort(), ["dead", "done", "stopped"])
      assert.deepStrictEqual((yield* fields("settings")).sort(), ["dead", "done", "stopped"])
      yield* store.cancel(queue, "stopped")
      const [dead, done] = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual([dead?.id, dead?.settings, done?.id, done?.settings], ["dead", "", "done", "s-done"])
      yield* store.complete(queue, [done!])
      assert.deepStrictEqual((yield* fields("settings")).sort(), ["dead", "stopped"], "a completed job's settings go")
      assert.strictEqual((yield* store.lookup(queue, "done"))?.priority, 3, "its priority stays until it is purged")
      yield* store.bury(queue, dead!, "no")
      assert.strictEqual(yield* store.remove(queue, ["dead"]), 1)
      assert.deepStrictEqual((yield* fields("priority")).sort(), ["done", "stopped"])
      // A cancelled job keeps both for a redrive.
      assert.strictEqual(yield* store.redrive(queue, ["stopped"]), 1)
      const [stopped] = yield* store.claim(queue, 1, minute)
      assert.deepStrictEqual([stopped?.id, stopped?.settings], ["stopped", "s-stopped"])
      assert.strictEqual((yield* store.lookup(queue, "stopped"))?.priority, 5)
      yield* store.complete(queue, [stopped!])
      yield* Effect.sleep(10)
      assert.strictEqual(yield* store.purge(queue, { completed: Duration.zero, buried: Duration.zero }, 100), 2)
      // The two counters: jobs completed, ever, and the newest burial's score.
      assert.deepStrictEqual(
        (yield* Effect.promise(() => client.keys(`ewp:{${queue}}:*`))).sort(),
        [keyOf(queue, "completed"), keyOf(queue, "lastBurial")]
      )
    })))
})

describe("RedisStore due", () => {
  it.live("a delayed offer or retry, from another client or this one, is seen by the next due", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const other = yield* sharedStore
      const queue = queueName()
      const next = yield* store.listen!(queue)
      const heard = heardWithin(next)
      const isAbout = (ms: number | undefined, expected: number) => ms !== undefined && ms <= expected && ms > expected - 60_000
      assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])
      assert.isUndefined(yield* store.due!(queue))
      yield* other.offer(queue, [{ id: "in an hour", payload: 1, delay: 3_600_000 }])
      yield* heard
      assert.isTrue(isAbout(yield* store.due!(queue), 3_600_000), "another client's delayed offer, once heard")
      yield* other.offer(queue, [{ id: "now", payload: 2 }])
      yield* heard
      const [job] = yield* store.claim(queue, 10, minute)
      assert.strictEqual(job?.id, "now")
      assert.isTrue(isAbout(yield* store.due!(queue), 3_600_000), "a ready offer leaves it")
      yield* other.retry(queue, job!, Duration.minutes(10))
      yield* heard
      assert.isTrue(isAbout(yield* store.due!(queue), 600_000), "another client's delayed retry, once heard")
      const [again] = yield* store.claim(queue, 10, Duration.millis(1))
      assert.isUndefined(again, "nothing is due")
      yield* store.offer(queue, [{ id: "in a minute", payload: 3, delay: 60_000 }])
      assert.isTrue(isAbout(yield* store.due!(queue), 60_000), "this client's delayed offer, at once")
      yield* other.offer(queue, [{ id: "soon", payload: 4 }])
      yield* heard
      const [soon] = yield* store.claim(queue, 10, minute)
      assert.strictEqual(soon?.id, "soon")
      assert.isTrue(isAbout(yield* store.due!(queue), 60_000))
      yield* store.retry(queue, soon!, Duration.seconds(30))
      assert.isTrue(isAbout(yield* store.due!(queue), 30_000), "this client's delayed retry, at once")
    })), 30_000)
})

describe("RedisStore listener", () => {
  it.live("notifications that come while nobody waits are kept, as one; a wait after that one waits for the next", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* sharedStore
      const queue = queueName()
      const next = yield* store.listen!(queue)
      yield* store.offer(queue, [{ id: "a", payload: 1 }])
      yield* store.offer(queue, [{ id: "b", payload: 2 }])
      // Long enough for both notifications to reach the subscriber while nobody waits.
      yield* Effect.sleep(200)
      assert.isTrue(Option.isSome(yield* Effect.timeoutOption(next, "5 seconds")), "kept")
      assert.isTrue(Option.isNone(yield* Effect.timeoutOption(next, "300 millis")), "as one")
      yield* store.offer(queue, [{ id: "c", payload: 3 }])
      assert.isTrue(Option.isSome(yield* Effect.timeoutOption(next, "5 seconds")), "the next one")
    })), 30_000)
})
