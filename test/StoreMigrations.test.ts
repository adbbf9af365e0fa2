/**
 * The versions of the stores' layouts, on real servers: a new database or
 * key space is migrated to the newest version when a store connects; many
 * processes connecting at once apply each migration once; one at a newer
 * version than this code knows is refused, not retryable; one written
 * before versions existed keeps its jobs; and reconnecting at the newest
 * version writes nothing (PostgreSQL: takes no lock; Redis: a server that
 * refuses writes still accepts the store).
 */
import { assert, describe, it } from "@effect/vitest"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import * as PgPool from "@effect/sql-pg/PgPool"
import { Duration, Effect, Fiber, Redacted } from "effect"
import * as PostgresMigrations from "../src/durable/postgres/migrations.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import { openClient } from "../src/durable/redis/connection.ts"
import * as RedisMigrations from "../src/durable/redis/migrations.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { startRedis } from "./support/servers.ts"
import { freshDatabase, pgRows, redisAdmin, sharedServers } from "./support/admin.ts"
import { connecting } from "./support/storeContract.ts"

const { postgres, redis } = sharedServers()

const minute = Duration.minutes(1)
const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `j${i}`, payload: i }))

/** A store that takes jobs, leases them and acknowledges them: it serves. */
const serves = (store: Store) =>
  Effect.gen(function*() {
    const queue = `rollback-${Date.now()}`
    yield* store.offer(queue, jobs(2))
    yield* store.complete(queue, yield* store.claim(queue, 2, minute))
    assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 2, buried: 0 })
  })

/**
 * Two steps above `latest` (the first of a layout's or schema's next
 * versions being `compatible`), each pair with one that does not allow code
 * of `latest`: a breaking step above a compatible one, a step that allows
 * only newer code, and a compatible step above a breaking one.
 */
const refusedAbove = <M extends { readonly version: number }>(latest: number, compatible: M) => [
  [compatible, { version: latest + 2, name: "breaking", up: "" }],
  [compatible, { version: latest + 2, name: "for newer code only", up: "", compatibleFrom: latest + 1 }],
  [{ version: latest + 1, name: "breaking", up: "" }, { version: latest + 2, name: "compatible after a breaking one", up: "", compatibleFrom: latest }]
]

describe("Redis key layout versions", () => {
  let lastDb = 0
  /** A URL of the shared server on a database of its own (an empty key space). */
  const freshUrl = () => `${redis().url}/${++lastDb}`


  /** The layout's newest version, and every version's name. */
  const latest = RedisMigrations.migrations.at(-1)!.version
  const names = Object.fromEntries(RedisMigrations.migrations.map(({ name, version }) => [version, name]))

  /** A test's own list: the layout's, and a next step that counts how often it runs. */
  const withSecond: ReadonlyArray<RedisMigrations.Migration> = [
    ...RedisMigrations.migrations,
    { version: latest + 1, name: "count runs", up: "redis.call('INCR', 'test:second-ran')" }
  ]

  /** `migrate` on a connection of its own, as a process connecting would run it. */
  const migrateAlone = (url: string, list: ReadonlyArray<RedisMigrations.Migration>) =>
    Effect.acquireRelease(Effect.sync(() => openClient(url, 5_000)), (connection) => Effect.sync(connection.destroy)).pipe(
      Effect.tap((connection) => Effect.promise(() => connection.client.connect())),
      Effect.flatMap((connection) => RedisMigrations.migrate(connection, list))
    )

  it.live("a new key space is migrated to the newest version when a store connects", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      yield* RedisStore.make({ url })
      const client = yield* redisAdmin(url)
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), "3")
      assert.deepStrictEqual(yield* Effect.promise(() => client.hGetAll(RedisMigrations.migrationsKey)), {
        1: "initial",
        2: "retention",
        3: "priorities"
      })
    }))

  it.live("processes connecting at once apply each migration once", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      yield* Effect.all(Array.from({ length: 8 }, () => RedisStore.make({ url })), { concurrency: "unbounded" })
      yield* Effect.all(Array.from({ length: 8 }, () => migrateAlone(url, withSecond)), { concurrency: "unbounded" })
      const client = yield* redisAdmin(url)
      assert.strictEqual(yield* Effect.promise(() => client.get("test:second-ran")), "1")
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), String(latest + 1))
      assert.deepStrictEqual(yield* Effect.promise(() => client.hGetAll(RedisMigrations.migrationsKey)), {
        ...names,
        [latest + 1]: "count runs"
      })
      // A later release's migration runs only what is above the version found.
      yield* migrateAlone(url, [...withSecond, { version: latest + 2, name: "third", up: "" }])
      assert.strictEqual(yield* Effect.promise(() => client.get("test:second-ran")), "1")
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), String(latest + 2))
    }))

  it.live("a key space at a newer version is refused, not retryable, saying both versions", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      const client = yield* redisAdmin(url)
      yield* Effect.promise(() => client.set(RedisMigrations.versionKey, "7"))
      const error = yield* Effect.flip(connecting(RedisStore.make({ url })))
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.include(error.reason, "layout version 7")
      assert.include(error.reason, `versions up to ${latest}`)
      // Nothing was written over it.
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), "7")
    }))

  it.live("a key space a newer release migrated only by steps that allow this code is taken as it is: a rollback", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      const compatible = { version: latest + 1, name: "a key older code ignores", up: "redis.call('SET', 'test:ignored', '1')", compatibleFrom: latest }
      yield* migrateAlone(url, [...RedisMigrations.migrations, compatible])
      const store = yield* RedisStore.make({ url })
      const client = yield* redisAdmin(url)
      // Taken as it is: its version and steps stay the newer release's.
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), String(latest + 1))
      assert.deepStrictEqual(yield* Effect.promise(() => client.hGetAll(RedisMigrations.compatibleKey)), { [latest + 1]: String(latest) })
      yield* serves(store)
      // Any step above it that does not allow it, or allows only newer code, is refused as before.
      for (const steps of refusedAbove(latest, compatible)) {
        const newer = freshUrl()
        yield* migrateAlone(newer, [...RedisMigrations.migrations, ...steps])
        const error = yield* Effect.flip(connecting(RedisStore.make({ url: newer })))
        assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
        assert.include(error.reason, `layout version ${latest + 2}, and this code knows versions up to ${latest}`)
      }
    }))

  it.live("a key space written before versions existed keeps its jobs and leases, through later migrations too", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      const before = yield* RedisStore.make({ url })
      const queue = `versions-${Date.now()}`
      yield* before.offer(queue, jobs(3))
      const [held] = yield* before.claim(queue, 1, minute)
      const client = yield* redisAdmin(url)
      // As the code before versions left it: the queue's keys and nothing else.
      yield* Effect.promise(() => client.del([RedisMigrations.versionKey, RedisMigrations.migrationsKey]))
      const after = yield* RedisStore.make({ url })
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), String(latest))
      yield* migrateAlone(url, withSecond)
      assert.deepStrictEqual(yield* after.counts(queue), { ready: 2, leased: 1, completed: 0, buried: 0 })
      yield* after.complete(queue, [held!])
      assert.deepStrictEqual((yield* after.claim(queue, 10, minute)).map((job) => job.id), ["j1", "j2"])
    }))

  it.live("a key space at version 1 is carried over: completed count, dead letters in order, known ids", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      const client = yield* redisAdmin(url)
      const q = `v1-${Date.now()}`
      const key = (suffix: string) => `ewp:{${q}}:${suffix}`
      // The queue as version 1 left it: done a set, buried a list, no completed counter.
      yield* Effect.promise(() =>
        client.multi()
          .set(RedisMigrations.versionKey, "1")
          .hSet(RedisMigrations.migrationsKey, "1", "initial")
          .hSet(key("payload"), { r0: "0", b0: "1", b1: "2" })
          .rPush(key("ready"), ["r0"])
          .hSet(key("attempts"), { b0: "3", b1: "1" })
          .sAdd(key("done"), ["d0", "d1", "d2"])
          .rPush(key("buried"), ["b1", "b0"])
          .hSet(key("errors"), { b0: "zero", b1: "one" })
          .exec()
      )
      const store = yield* RedisStore.make({ url })
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), String(latest))
      assert.deepStrictEqual(yield* store.counts(q), { ready: 1, leased: 0, completed: 3, buried: 2 })
      assert.deepStrictEqual((yield* store.buried(q, 10)).map((job) => [job.id, job.payload, job.attempts, job.error]), [
        ["b1", 2, 1, "one"],
        ["b0", 1, 3, "zero"]
      ])
      // Known ids stay known: a completed one is skipped, a dead letter refused.
      assert.deepStrictEqual(yield* store.offer(q, [{ id: "d0", payload: 9 }, { id: "b0", payload: 9 }]), [
        { id: "b0", state: "buried" }
      ])
      assert.strictEqual((yield* store.lookup(q, "d1"))?.state, "completed")
      // Their retention starts with the upgrade; past it, they go, and the completed count stays.
      assert.strictEqual(yield* store.purge(q, { completed: minute, buried: minute }, 100), 0)
      assert.strictEqual(yield* store.purge(q, { completed: Duration.zero, buried: Duration.zero }, 100), 5)
      assert.deepStrictEqual(yield* store.counts(q), { ready: 1, leased: 0, completed: 3, buried: 0 })
      assert.deepStrictEqual((yield* store.claim(q, 10, minute)).map((job) => [job.id, job.payload]), [["r0", 0]])
    }))

  it.live("a queue at version 2 is carried over to version 3: ready jobs in order, retries waiting due at their time, leases, dead letters", () =>
    Effect.gen(function*() {
      const url = freshUrl()
      const client = yield* redisAdmin(url)
      const q = `v2-${Date.now()}`
      const key = (suffix: string) => `ewp:{${q}}:${suffix}`
      const [seconds] = (yield* Effect.promise(() => client.time())) as unknown as [number]
      // The server's now, as version 2's scripts read it (TIME), to the second: enough for times a second apart.
      const now = Number(seconds) * 1000
      // The queue as version 2 left it: ready a list (oldest first), retries waiting in delayed by their time.
      yield* Effect.promise(() =>
        client.multi()
          .set(RedisMigrations.versionKey, "2")
          .hSet(RedisMigrations.migrationsKey, { 1: "initial", 2: "retention" })
          .hSet(key("payload"), { r0: "0", r1: "1", r2: "2", w0: "10", w1: "11", l0: "20", b0: "30" })
          .rPush(key("ready"), ["r0", "r1", "r2"])
          .zAdd(key("delayed"), [{ score: now + 2_000, value: "w0" }, { score: now - 1_000, value: "w1" }])
          .zAdd(key("leased"), [{ score: now + 60_000, value: "l0" }])
          .hSet(key("token"), { l0: "held" })
          .hSet(key("attempts"), { w0: "1", w1: "2", l0: "1", b0: "3" })
          .zAdd(key("done"), [{ score: now, value: "d0" }])
          .set(key("completed"), "1")
          .zAdd(key("buried"), [{ score: now, value: "b0" }])
          .hSet(key("errors"), { b0: "boom" })
          .exec()
      )
      const store = yield* RedisStore.make({ url })
      assert.strictEqual(yield* Effect.promise(() => client.get(RedisMigrations.versionKey)), String(latest))
      assert.strictEqual(yield* Effect.promise(() => client.type(key("ready"))), "zset")
      assert.deepStrictEqual(yield* store.counts(q), { ready: 5, leased: 1, completed: 1, buried: 1 })
      assert.deepStrictEqual(yield* store.lookup(q, "w0"), {
        id: "w0",
        state: "ready",
        attempts: 1,
        runAt: new Date(now + 2_000),
        priority: 0,
        error: undefined
      })
      assert.strictEqual(yield* store.due!(q), 0, "a retry whose time came while nobody claimed")
      // The ready jobs first, in their order; the retry due at the first claim after them; new jobs behind.
      assert.deepStrictEqual((yield* store.claim(q, 2, minute)).map((job) => [job.id, job.payload, job.attempt]), [
        ["r0", 0, 1],
        ["r1", 1, 1]
      ])
      yield* store.offer(q, [{ id: "n0", payload: 40 }, { id: "n1", payload: 41, priority: -1 }])
      assert.deepStrictEqual((yield* store.claim(q, 10, minute)).map((job) => [job.id, job.attempt]), [
        ["n1", 1],
        ["r2", 1],
        ["w1", 3],
        ["n0", 1]
      ])
      // The other retry waits for its time, by the server's clock, then is claimed.
      const left = yield* store.due!(q)
      assert.isAbove(left!, 0)
      assert.isAtMost(left!, 2_000)
      assert.deepStrictEqual(yield* store.claim(q, 10, minute), [])
      yield* Effect.sleep(left! + 100)
      assert.deepStrictEqual((yield* store.claim(q, 10, minute)).map((job) => [job.id, job.payload, job.attempt]), [
        ["w0", 10, 2]
      ])
      // The lease taken before the upgrade is still its holder's; the dead letter redrives; ended ids stay known.
      yield* store.complete(q, [{ id: "l0", token: "held" }])
      assert.strictEqual(yield* store.redrive(q, ["b0"]), 1)
      assert.deepStrictEqual((yield* store.claim(q, 10, minute)).map((job) => [job.id, job.payload, job.attempt]), [
        ["b0", 30, 1]
      ])
      assert.strictEqual((yield* store.lookup(q, "d0"))?.state, "completed")
      assert.deepStrictEqual(yield* store.counts(q), { ready: 0, leased: 8, completed: 2, buried: 0 })
    }), 30_000)

  it.live("reconnecting at the newest version writes nothing: a server refusing writes still takes the store", () =>
    Effect.gen(function*() {
      const server = yield* startRedis()
      yield* RedisStore.make({ url: server.url })
      const client = yield* redisAdmin(server.url)
      // Writes now fail ("NOREPLICAS"): no replica is there to take them.
      yield* Effect.promise(() => client.configSet("min-replicas-to-write", "1"))
      const store = yield* RedisStore.make({ url: server.url })
      assert.deepStrictEqual(yield* store.counts("any"), { ready: 0, leased: 0, completed: 0, buried: 0 })
      // A key space that still needs its migration cannot get it: the check is real.
      const error = yield* Effect.flip(connecting(RedisStore.make({ url: `${server.url}/1` })))
      assert.strictEqual(error.operation, "connect")
      assert.match(error.reason, /^NOREPLICAS/)
      assert.isTrue(error.retryable, "a server that cannot take writes now may later")
    }), 30_000)
})

describe("PostgreSQL schema versions", () => {
  /** A URL of a new, empty database on the shared server. */
  const freshUrl = Effect.suspend(() => freshDatabase(postgres().url, "versions"))


  const applied = (url: string) =>
    pgRows(url, `SELECT version, name FROM ${PostgresStore.migrationsTable} ORDER BY version`)

  /** The schema's newest version, and every version as `applied` lists it. */
  const latest = PostgresMigrations.migrations.at(-1)!.version
  const all = PostgresMigrations.migrations.map(({ name, version }) => [version, name])

  /** A test's own list: the schema's, and a next step that counts how often it runs. */
  const withSecond: ReadonlyArray<PostgresMigrations.Migration> = [
    ...PostgresMigrations.migrations,
    {
      version: latest + 1,
      name: "count runs",
      up: "CREATE TABLE test_second_ran (at timestamptz DEFAULT now()); INSERT INTO test_second_ran DEFAULT VALUES;"
    }
  ]

  /** `migrate` on a pool of its own, as a process connecting would run it. */
  const migrateAlone = (url: string, list: ReadonlyArray<PostgresMigrations.Migration>) =>
    Effect.scoped(Effect.flatMap(PgPool.make({ url: Redacted.make(url) }), (pool) => PostgresMigrations.migrate(pool, list)))

  it.live("a new database is migrated to the newest version when a store connects", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* applied(url), [
        [1, "initial"],
        [2, "retention"],
        [3, "schedule"],
        [4, "fillfactor"],
        [5, "dead letter pages"],
        [6, "paused queues"]
      ])
      // Steps 5 and 6 only add an index and a table: this release rolls back to the one before each.
      assert.deepStrictEqual(
        yield* pgRows(url, `SELECT version, compatible_from FROM ${PostgresMigrations.compatibleTable} ORDER BY version`),
        [[5, 4], [6, 5]]
      )
    }))

  it.live("processes connecting at once apply each migration once", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* Effect.all(Array.from({ length: 6 }, () => PostgresStore.make({ url })), { concurrency: "unbounded" })
      assert.deepStrictEqual(yield* applied(url), all)
      yield* Effect.all(Array.from({ length: 6 }, () => migrateAlone(url, withSecond)), { concurrency: "unbounded" })
      assert.deepStrictEqual(yield* pgRows(url, "SELECT count(*)::int FROM test_second_ran"), [[1]])
      assert.deepStrictEqual(yield* applied(url), [...all, [latest + 1, "count runs"]])
      // A later release's migration runs only what is above the version found.
      yield* migrateAlone(url, [...withSecond, { version: latest + 2, name: "third", up: "" }])
      assert.deepStrictEqual(yield* pgRows(url, "SELECT count(*)::int FROM test_second_ran"), [[1]])
      assert.deepStrictEqual(yield* applied(url), [...all, [latest + 1, "count runs"], [latest + 2, "third"]])
    }), 60_000)

  it.live("a database at a newer version is refused at once, not retryable, saying both versions", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* PostgresStore.make({ url })
      yield* pgRows(url, `INSERT INTO ${PostgresStore.migrationsTable} (version, name) VALUES (7, 'from the future')`)
      const started = Date.now()
      const error = yield* Effect.flip(connecting(PostgresStore.make({ url, connectTimeout: 10_000 })))
      assert.isBelow(Date.now() - started, 2_000, "tried again")
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.include(error.reason, "schema version 7")
      assert.include(error.reason, `versions up to ${latest}`)
    }))

  it.live("a database a newer release migrated only by steps that allow this code is taken as it is: a rollback", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      const compatible = {
        version: latest + 1,
        name: "an index older code ignores",
        up: `CREATE INDEX test_compatible_step ON ${PostgresStore.table} (queue, attempts);`,
        compatibleFrom: latest
      }
      yield* migrateAlone(url, [...PostgresMigrations.migrations, compatible])
      // This release, migrating and not: neither refuses it nor writes a version.
      const store = yield* PostgresStore.make({ url })
      yield* PostgresStore.make({ url, migrate: false })
      assert.deepStrictEqual(yield* applied(url), [...all, [latest + 1, compatible.name]])
      yield* serves(store)
      // Any step above it that does not allow it, or allows only newer code, is refused as before.
      for (const steps of refusedAbove(latest, compatible)) {
        const newer = yield* freshUrl
        yield* migrateAlone(newer, [...PostgresMigrations.migrations, ...steps])
        const error = yield* Effect.flip(connecting(PostgresStore.make({ url: newer })))
        assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
        assert.include(error.reason, `schema version ${latest + 2}, and this code knows versions up to ${latest}`)
      }
    }), 60_000)

  it.live("a database from before steps said what they allow gets their table when next migrated; until then a newer version is refused", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      const hasTable = Effect.map(
        pgRows(url, `SELECT to_regclass('${PostgresMigrations.compatibleTable}') IS NOT NULL`),
        (rows) => rows[0]![0]
      )
      yield* migrateAlone(url, PostgresMigrations.migrations.slice(0, -1))
      yield* pgRows(url, `DROP TABLE ${PostgresMigrations.compatibleTable}`)
      yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* applied(url), all)
      assert.isTrue(yield* hasTable)
      yield* pgRows(url, `DROP TABLE ${PostgresMigrations.compatibleTable}`)
      yield* pgRows(url, `INSERT INTO ${PostgresStore.migrationsTable} (version, name) VALUES (${latest + 1}, 'unsaid')`)
      const error = yield* Effect.flip(connecting(PostgresStore.make({ url })))
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.include(error.reason, `schema version ${latest + 1}`)
    }))

  it.live("a database made before versions existed keeps its jobs and leases, through later migrations too", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      const before = yield* PostgresStore.make({ url })
      const queue = `versions-${Date.now()}`
      yield* before.offer(queue, jobs(3))
      const [held] = yield* before.claim(queue, 1, minute)
      // As the code before versions left it: the tables, and no migrations table.
      yield* pgRows(url, `DROP TABLE ${PostgresStore.migrationsTable}`)
      const after = yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* applied(url), all)
      yield* migrateAlone(url, withSecond)
      assert.deepStrictEqual(yield* after.counts(queue), { ready: 2, leased: 1, completed: 0, buried: 0 })
      yield* after.complete(queue, [held!])
      assert.deepStrictEqual((yield* after.claim(queue, 10, minute)).map((job) => job.id), ["j1", "j2"])
    }), 60_000)

  it.live("a database at version 1 is carried over to version 2: counts, states, dead letters; ended jobs purged after", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* migrateAlone(url, PostgresMigrations.migrations.slice(0, 1))
      assert.deepStrictEqual(yield* applied(url), [[1, "initial"]])
      const q = `v1-${Date.now()}`
      // Rows and counters as version 1 wrote them.
      yield* pgRows(
        url,
        `INSERT INTO ${PostgresStore.table} (queue, id, payload, state, attempts, error) VALUES
          ('${q}', 'r0', '0', 'ready', 0, NULL), ('${q}', 'd0', '1', 'completed', 1, NULL),
          ('${q}', 'd1', '2', 'completed', 2, NULL), ('${q}', 'b0', '3', 'buried', 5, 'boom')`
      )
      yield* pgRows(
        url,
        `INSERT INTO ${PostgresStore.countsTable} (queue, shard, ready, completed, buried) VALUES ('${q}', 0, 1, 2, 1)`
      )
      const store = yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* applied(url), all)
      assert.deepStrictEqual(yield* store.counts(q), { ready: 1, leased: 0, completed: 2, buried: 1 })
      assert.deepStrictEqual(yield* store.lookup(q, "b0"), { id: "b0", state: "buried", attempts: 5, runAt: undefined, priority: 0, error: "boom" })
      assert.deepStrictEqual(yield* store.offer(q, [{ id: "d0", payload: 9 }, { id: "b0", payload: 9 }]), [
        { id: "b0", state: "buried" }
      ])
      // The new state fits the table's check.
      assert.strictEqual(yield* store.cancel(q, "r0"), "ready")
      assert.strictEqual(yield* store.purge(q, { completed: minute, buried: minute }, 100), 0)
      assert.strictEqual(yield* store.purge(q, { completed: Duration.zero, buried: Duration.zero }, 100), 4)
      assert.deepStrictEqual(yield* store.counts(q), { ready: 0, leased: 0, completed: 2, buried: 0 })
      assert.deepStrictEqual(yield* pgRows(url, `SELECT count(*)::int FROM ${PostgresStore.table} WHERE queue = '${q}'`), [[0]])
    }), 60_000)

  it.live("a queue made at version 2 claims in order after version 3; its retries waiting still wait for their time", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* migrateAlone(url, PostgresMigrations.migrations.slice(0, 2))
      const q = `v2-${Date.now()}`
      // Rows and counters as version 2 wrote them: ready jobs (one offered in
      // the future's order: its seq is later), a retry waiting (ready, its
      // time in the future), a lease held, a lease run out, a dead letter.
      yield* pgRows(
        url,
        `INSERT INTO ${PostgresStore.table} (queue, id, payload, state, attempts, visible_at, token, error, ended_at) VALUES
          ('${q}', 'r0', '0', 'ready', 0, now() - interval '3 seconds', NULL, NULL, NULL),
          ('${q}', 'r1', '1', 'ready', 0, now() - interval '2 seconds', NULL, NULL, NULL),
          ('${q}', 'waiting', '2', 'ready', 1, now() + interval '1500 milliseconds', NULL, NULL, NULL),
          ('${q}', 'r2', '3', 'ready', 0, now() - interval '1 second', NULL, NULL, NULL),
          ('${q}', 'held', '4', 'leased', 1, now() + interval '1 minute', 'old/1', NULL, NULL),
          ('${q}', 'expired', '5', 'leased', 1, now() - interval '1 minute', 'old/2', NULL, NULL),
          ('${q}', 'b0', '6', 'buried', 3, now(), NULL, 'boom', now())`
      )
      yield* pgRows(
        url,
        `INSERT INTO ${PostgresStore.countsTable} (queue, shard, ready, leased, buried) VALUES ('${q}', 0, 4, 2, 1)`
      )
      const store = yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* applied(url), all)
      assert.deepStrictEqual(
        yield* pgRows(url, `SELECT indexname FROM pg_indexes WHERE tablename = '${PostgresStore.table}' AND indexname LIKE '%_claimable'`),
        [],
        "the claim's old index is dropped"
      )
      assert.deepStrictEqual(yield* store.counts(q), { ready: 4, leased: 2, completed: 0, buried: 1 })
      const waiting = yield* store.lookup(q, "waiting")
      assert.deepStrictEqual([waiting?.state, waiting?.attempts, waiting?.priority], ["ready", 1, 0])
      const left = yield* store.due!(q)
      assert.isDefined(left, "the retry waiting is due at its time")
      assert.isAbove(left!, 500)
      // The lease run out first, then the ready jobs in their order; the retry waits.
      assert.deepStrictEqual((yield* store.claim(q, 10, minute)).map((job) => job.id), ["expired", "r0", "r1", "r2"])
      assert.deepStrictEqual(yield* store.claim(q, 10, minute), [])
      // The lease held before the upgrade is still its holder's.
      yield* store.complete(q, [{ id: "held", token: "old/1" }])
      assert.strictEqual((yield* store.lookup(q, "held"))?.state, "completed")
      // A retry written as a process of the previous release writes it (ready,
      // its time in the future), during a rolling upgrade: not taken before its time.
      yield* store.offer(q, [{ id: "late", payload: 7 }])
      const [late] = yield* store.claim(q, 1, minute)
      yield* pgRows(
        url,
        `UPDATE ${PostgresStore.table} SET state = 'ready', token = NULL, visible_at = now() + interval '1 second'
         WHERE queue = '${q}' AND id = '${late!.id}'`
      )
      assert.deepStrictEqual(yield* store.claim(q, 10, minute), [])
      yield* Effect.sleep("1600 millis")
      assert.strictEqual(yield* store.due!(q), 0)
      const again = yield* store.claim(q, 10, minute)
      // In the order of their times, which this test does not fix.
      assert.deepStrictEqual(again.map((job) => [job.id, job.attempt]).sort(), [["late", 2], ["waiting", 2]])
      assert.strictEqual(yield* store.due!(q), undefined)
      assert.strictEqual(yield* store.redrive(q, ["b0"]), 1)
      assert.deepStrictEqual((yield* store.claim(q, 10, minute)).map((job) => job.id), ["b0"])
    }), 60_000)

  it.live("a migration behind a long transaction holds the table up at most its lock wait at a time and half the time, however many processes start; the start fails in time saying why", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* migrateAlone(url, PostgresMigrations.migrations.slice(0, 1))
      // A transaction of the running release that has read the jobs table and stays open.
      const holder = yield* PgConnection.make({ url: Redacted.make(url) })
      yield* holder.query("BEGIN")
      yield* holder.query(`SELECT count(*) FROM ${PostgresStore.table}`)
      const starting = yield* Effect.forkChild(Effect.all(
        Array.from({ length: 2 }, () => Effect.flip(PostgresStore.make({ url, connectTimeout: 8_000 }))),
        { concurrency: "unbounded" }
      ))
      // What the running release goes on doing meanwhile: each statement on the table, timed.
      const running = yield* PgConnection.make({ url: Redacted.make(url) })
      const from = Date.now()
      const waits: Array<number> = []
      while (starting.pollUnsafe() === undefined) {
        const started = Date.now()
        yield* running.query(`SELECT count(*) FROM ${PostgresStore.table}`)
        waits.push(Date.now() - started)
      }
      const held = waits.filter((wait) => wait >= 50)
      const heldUp = held.reduce((sum, wait) => sum + wait, 0) / (Date.now() - from)
      for (const error of yield* Fiber.join(starting)) {
        if (error._tag !== "StoreError") return assert.fail(`not a StoreError: ${error.message}`)
        assert.deepStrictEqual([error.operation, error.retryable], ["connect", true])
        assert.include(
          error.reason,
          `the migration to schema version ${PostgresMigrations.migrations.at(-1)!.version} gave up waiting 1500 ms for a table's lock: another transaction holds the table ` +
            "(tried again until 8s had passed)"
        )
      }
      // Waited on, the migrations would have held every statement up until the connect deadline.
      assert.isBelow(Math.max(...held), 3_000, `statements held up: ${held.join(", ")} ms`)
      // About half (a try waits 1.5 s, then pauses 1.5 s); waited on, all of it.
      assert.isBelow(heldUp, 0.75, `held up ${Math.round(heldUp * 100)} % of the time, ${held.join(", ")} ms`)
      yield* holder.query("ROLLBACK")
      yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* applied(url), all)
    }), 30_000)

  it.live("the lock wait outlasts the server's deadlock_timeout, after which it cancels an autovacuum in the way", () =>
    Effect.gen(function*() {
      const [[deadlockTimeout]] = yield* pgRows(postgres().url, "SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'")
      assert.isAbove(Duration.toMillis(PostgresMigrations.lockWait), deadlockTimeout as number)
    }))

  it.live("reconnecting at the newest version takes no lock: it connects while another process holds the migration lock", () =>
    Effect.gen(function*() {
      const url = yield* freshUrl
      yield* PostgresStore.make({ url })
      const other = yield* PgConnection.make({ url: Redacted.make(url) })
      yield* other.query("BEGIN")
      // The lock a migration takes (see postgres/migrations.ts), held as a migrating process would.
      yield* other.query("SELECT pg_advisory_xact_lock(8190573319126450177)")
      const store = yield* PostgresStore.make({ url }).pipe(
        Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.die(new Error("waited for the migration lock")) })
      )
      assert.deepStrictEqual(yield* store.counts("any"), { ready: 0, leased: 0, completed: 0, buried: 0 })
      yield* other.query("ROLLBACK")
    }), 30_000)
})
