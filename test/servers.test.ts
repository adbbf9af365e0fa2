/**
 * The test servers themselves: a real redis-server and a real PostgreSQL start
 * on loopback, answer, survive a kill -9 + restart when they persist, and leave
 * no open port and no temp dir behind once their scope closes.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as Fs from "node:fs"
import { createClient } from "redis"
import { portOpen, startPostgres, startRedis } from "./support/servers.ts"

/** A node-redis client for the scope. */
const redisClient = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = createClient({ url, socket: { reconnectStrategy: false } })
      client.on("error", () => {}) // a killed server is expected here
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.isOpen ? client.close() : Promise.resolve())
  )

/** Runs `f` with a fresh PgClient on `url`, closed afterwards. */
const withPg = <A, E>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    return yield* f(sql)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }).pipe(Layer.fresh)))

describe("test servers", () => {
  it.live("redis and postgres start on loopback, answer, and are gone after the scope", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const [redis, pg] = yield* Effect.all([startRedis(), startPostgres()], { concurrency: 2 }).pipe(
        Scope.provide(scope)
      )
      assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
      assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)

      const client = yield* redisClient(redis.url).pipe(Scope.provide(scope))
      assert.strictEqual(yield* Effect.promise(() => client.ping()), "PONG")

      const rows = yield* withPg(pg.url, (sql) => sql<{ one: number }>`SELECT 1 AS one`)
      assert.deepStrictEqual(rows.map((row) => row.one), [1])

      yield* Scope.close(scope, Exit.void)
      assert.isFalse(yield* Effect.promise(() => portOpen(redis.port)))
      assert.isFalse(yield* Effect.promise(() => portOpen(pg.port)))
      assert.isFalse(Fs.existsSync(redis.dir))
      assert.isFalse(Fs.existsSync(pg.dir))
    }))

  it.live("redis with appendonly keeps its data across kill -9 and restart", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis({ appendonly: true })
      const before = yield* redisClient(redis.url)
      yield* Effect.promise(() => before.set("k", "v"))

      yield* redis.kill()
      assert.isFalse(redis.running())
      assert.isFalse(yield* Effect.promise(() => portOpen(redis.port)))

      yield* redis.start
      const after = yield* redisClient(redis.url)
      assert.strictEqual(yield* Effect.promise(() => after.get("k")), "v")
    }))

  it.live("redis without persistence comes back empty after restart", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis()
      const before = yield* redisClient(redis.url)
      yield* Effect.promise(() => before.set("k", "v"))
      yield* redis.restart()
      const after = yield* redisClient(redis.url)
      assert.isNull(yield* Effect.promise(() => after.get("k")))
    }))

  it.live("postgres keeps committed rows across kill -9 and restart", () =>
    Effect.gen(function*() {
      const pg = yield* startPostgres()
      yield* withPg(pg.url, (sql) =>
        Effect.andThen(
          sql`CREATE TABLE t (n int)`,
          sql`INSERT INTO t VALUES (42)`
        ))

      yield* pg.kill()
      assert.isFalse(pg.running())
      assert.isFalse(yield* Effect.promise(() => portOpen(pg.port)))

      yield* pg.start
      const rows = yield* withPg(pg.url, (sql) => sql<{ n: number }>`SELECT n FROM t`)
      assert.deepStrictEqual(rows.map((row) => row.n), [42])
    }))
})
