/**
 * The wakeup on real servers: a job offered to an idle durable pool whose
 * `pollInterval` is an hour is picked up, which only a notification can do
 * (LISTEN/NOTIFY on PostgreSQL, a subscriber on Redis); and once the
 * listener's connection is killed on the server (`pg_terminate_backend`,
 * `CLIENT KILL`), it comes back and wakeups resume. And the store's own
 * listener hears an offer, a release and a retry with no delay. Real
 * servers, real time; no timing is asserted, only that the job starts (or
 * the notification comes) within a generous deadline (an hour's poll never
 * would).
 */
import { assert, describe, it } from "@effect/vitest"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import { Duration, Effect, Redacted, Schema, Scope } from "effect"
import { createClient } from "redis"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../src/durable/Store.ts"
import { Durable, type Pool } from "../src/index.ts"
import { type ManagedServer, type ServerError, startPostgres, startRedis } from "./support/servers.ts"
import { waitUntil } from "./support/waitUntil.ts"

/** What an engine's test needs of its server, through an admin connection of the test's own. */
interface Admin {
  /** How many of the store's listeners the server has now (not counting `killed`). */
  readonly listeners: (queue: string) => Effect.Effect<number, unknown>
  /** Kills every listener connection on the server; returns how many. */
  readonly kill: Effect.Effect<number, unknown>
}

interface Engine {
  readonly name: string
  readonly server: Effect.Effect<ManagedServer, ServerError, Scope.Scope>
  readonly store: (url: string) => Effect.Effect<Store, StoreError | Pool.PoolConfigError, Scope.Scope>
  readonly admin: (url: string) => Effect.Effect<Admin, unknown, Scope.Scope>
}

const redis: Engine = {
  name: "redis",
  server: startRedis(),
  store: (url) => RedisStore.make({ url }),
  admin: (url) =>
    Effect.gen(function*() {
      const client = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const client = createClient({ url })
          client.on("error", () => {})
          await client.connect()
          return client
        }),
        (client) => Effect.promise(() => client.close())
      )
      const send = (command: Array<string>) => Effect.tryPromise(() => client.sendCommand(command))
      return {
        listeners: (queue) =>
          Effect.map(send(["PUBSUB", "NUMSUB", `ewp:{${queue}}:wakeup`]), (reply) => Number((reply as unknown as Array<unknown>)[1])),
        kill: Effect.map(send(["CLIENT", "KILL", "TYPE", "pubsub"]), Number)
      }
    })
}

const postgres: Engine = {
  name: "postgres",
  server: startPostgres(),
  store: (url) => PostgresStore.make({ url }),
  admin: (url) =>
    Effect.gen(function*() {
      const connection = yield* PgConnection.make({ url: Redacted.make(url) })
      const killed = new Set<number>()
      const listening = "query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
      return {
        // Every queue shares the one channel; this server has one pool's listener.
        listeners: () =>
          Effect.map(
            connection.queryValues(`SELECT pid FROM pg_stat_activity WHERE ${listening}`),
            (rows) => rows.filter(([pid]) => !killed.has(pid as number)).length
          ),
        kill: Effect.map(
          connection.queryValues(`SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${listening}`),
          (rows) => {
            for (const [pid] of rows) killed.add(pid as number)
            return rows.length
          }
        )
      }
    })
}

/** Long enough for a loaded machine; an hour's poll is far longer. */
const deadlineMs = 20_000

for (const engine of [redis, postgres]) {
  describe(`wakeup on ${engine.name}`, () => {
    it.live("a job offered to an idle pool that polls every hour starts; after its listener is killed, wakeups resume", () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* engine.server
        const admin = yield* engine.admin(server.url)
        const store = yield* engine.store(server.url)
        const queue = `wakeup-${engine.name}-${Date.now()}`
        const started: Array<string> = []
        const pool = yield* Durable.make({
          store,
          queue,
          schema: Schema.String,
          workers: 2,
          pollInterval: "1 hour",
          handler: (job) => Effect.sync(() => void started.push(job.payload))
        })
        const listening = (what: string) => waitUntil(what, Effect.map(admin.listeners(queue), (n) => n >= 1), deadlineMs)
        const startsAtOnce = (payload: string) =>
          Effect.andThen(
            pool.submit(payload),
            waitUntil(`"${payload}" started`, Effect.sync(() => started.includes(payload)), deadlineMs)
          )

        // The pool's first claim found nothing; it listens, and waits an hour for its next poll.
        yield* listening("the pool listens")
        yield* startsAtOnce("first")

        // The listener's connection is killed: it is listened again, and the next offer wakes the pool.
        assert.isAtLeast(yield* admin.kill, 1)
        yield* listening("the pool listens again")
        yield* startsAtOnce("second")
        yield* startsAtOnce("third")
        assert.deepStrictEqual(started, ["first", "second", "third"])
      })), 90_000)

    it.live("the store's listener hears an offer, a release and a retry with no delay", () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* engine.server
        const store = yield* engine.store(server.url)
        const queue = `heard-${engine.name}-${Date.now()}`
        const next = yield* store.listen!(queue)
        const heard = (what: string) =>
          Effect.timeoutOrElse(next, {
            duration: Duration.millis(deadlineMs),
            orElse: () => Effect.die(new Error(`no notification for ${what}`))
          })
        yield* store.offer(queue, [{ id: "a", payload: 1 }])
        yield* heard("the offer")
        // A claim notifies no one: the next notification is the release's.
        const [claimed] = yield* store.claim(queue, 1, Duration.minutes(1))
        yield* store.release(queue, [claimed!])
        yield* heard("the release")
        const [again] = yield* store.claim(queue, 1, Duration.minutes(1))
        yield* store.retry(queue, again!, Duration.zero)
        yield* heard("the retry with no delay")
      })), 60_000)
  })
}
