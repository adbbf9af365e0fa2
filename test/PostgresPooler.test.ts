/**
 * The PostgreSQL store behind PgBouncer (Debian's), as many deployments run
 * PostgreSQL: in transaction mode, each transaction on whichever server
 * connection is free. What the README promises there: `make` works once its
 * three planner settings are in the pooler's `ignore_startup_parameters`
 * (its statements, prepared per connection under names of their own, are
 * prepared again on a server connection that lacks them), and fails to
 * start at once, naming the setting, when they are not; `fromClient` on a client
 * that prepares nothing needs no such setting. In session mode, an idle
 * pool is woken by the store's notifications (in transaction mode no
 * `LISTEN` passes the pooler, and the same test times out); in transaction
 * mode, by way of `listenUrl` on the server itself. A `listenUrl` whose
 * listener would hear nothing (the transaction pooler, another database)
 * or that reaches no server fails the store's start.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Schema, Scope } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Durable from "../src/Durable.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import { freshDatabase, pgRows } from "./support/admin.ts"
import { findBinary, freePort, type PgBouncerOptions, startBouncer, startPostgres } from "./support/servers.ts"
import { waitUntil } from "./support/waitUntil.ts"

/** The installed PgBouncer's version as major.minor (1.18 for "PgBouncer 1.18.0"). */
const pgBouncerVersion = (): number => {
  const [, major, minor] = /PgBouncer (\d+)\.(\d+)/.exec(execFileSync(findBinary("pgbouncer") ?? "pgbouncer", ["--version"], { encoding: "utf8" }))!
  return Number(major) + Number(minor) / 100
}

/** The planner settings `make`'s sessions send when they connect. */
const makeSettings = ["enable_seqscan", "enable_bitmapscan", "plan_cache_mode"]

const schema = Schema.Struct({ n: Schema.Number })

/** A PostgreSQL server and a PgBouncer in front of it, for the test's scope. */
const behindPooler = (options: PgBouncerOptions) =>
  Effect.gen(function*() {
    const postgres = yield* startPostgres()
    return { postgres, bouncer: yield* startBouncer(postgres.url, options) }
  })

/** Runs a pool of `workers` on each of `stores` until `ids` have each run, and says how often each ran. */
const runAll = (stores: ReadonlyArray<Store>, queue: string, workers: number, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const runs = new Map<string, number>()
    const scope = yield* Scope.make()
    for (const store of stores) {
      yield* Durable.make({
        store,
        queue,
        schema,
        workers,
        handler: (job) => Effect.sync(() => runs.set(job.id, (runs.get(job.id) ?? 0) + 1))
      }).pipe(Scope.provide(scope))
    }
    yield* waitUntil(`${ids.length} jobs have run`, Effect.sync(() => ids.every((id) => runs.has(id))), 60_000)
    yield* Scope.close(scope, Exit.void)
    return runs
  })

/** Asserts that `start` fails with a `StoreError` that says `reason` and is not retryable. */
const refusedAtStart = (start: Effect.Effect<Store, unknown, Scope.Scope>, reason: string) =>
  Effect.gen(function*() {
    const failed = yield* Effect.flip(start)
    assert.instanceOf(failed, StoreError)
    assert.include(failed.message, reason)
    assert.isFalse(failed.retryable)
  })

/**
 * Runs a pool of one worker on `store` that polls once an hour, waits until
 * it idles listening (a claim started once the listener listened came back
 * empty: that claim took whatever was offered before, and from then on only
 * a notification starts one), then offers a job and waits until it has run.
 */
const wokenWhileIdle = (store: Store, queue: string) =>
  Effect.gen(function*() {
    let listening = false
    let idle = false
    const counted: Store = {
      ...store,
      listen: (queue) => Effect.tap(store.listen!(queue), () => Effect.sync(() => (listening = true))),
      claim: (queue, max, lease) =>
        Effect.suspend(() => {
          const afterListening = listening
          return Effect.tap(store.claim(queue, max, lease), (jobs) => Effect.sync(() => (idle ||= afterListening && jobs.length === 0)))
        })
    }
    const ran: Array<number> = []
    yield* Durable.make({
      store: counted,
      queue,
      schema,
      workers: 1,
      pollInterval: "1 hour",
      handler: (job) => Effect.sync(() => ran.push(job.payload.n))
    })
    yield* waitUntil("the pool idles, listening", Effect.sync(() => idle), 10_000)
    yield* Durable.producer({ store, queue, schema }).submit({ n: 1 })
    yield* waitUntil("the job offered to the idle pool has run", Effect.sync(() => ran.length === 1), 30_000)
  })

describe("PostgresStore behind PgBouncer", () => {
  it.live("make, its settings ignored by the pooler: jobs offered and claimed on server connections shared by every session run once each", () =>
    Effect.gen(function*() {
      // Two server connections for every session of three stores: each statement meets server connections it was not prepared on.
      const { bouncer, postgres } = yield* behindPooler({ poolMode: "transaction", ignoreStartupParameters: makeSettings, serverConnections: 2 })
      const producer = Durable.producer({ store: yield* PostgresStore.make({ url: bouncer.url }), queue: "pooled", schema })
      const [consumer, other] = [yield* PostgresStore.make({ url: bouncer.url }), yield* PostgresStore.make({ url: bouncer.url })]
      const batched = yield* producer.submitAll(Array.from({ length: 1_500 }, (_, n) => ({ n })))
      const single = yield* Effect.forEach(Array.from({ length: 100 }, (_, n) => n), (n) => producer.submit({ n }))
      const ids = [...batched, ...single]
      const runs = yield* runAll([consumer, other], "pooled", 16, ids)
      for (const id of ids) assert.strictEqual(runs.get(id), 1, `job ${id}`)
      assert.deepStrictEqual(yield* consumer.counts("pooled"), { ready: 0, leased: 0, completed: 1_600, buried: 0 })
      // The sharing was real: a session's statement met a server connection that had not prepared it
      // (and prepared it again). From 1.22 on, PgBouncer keeps prepared statements itself.
      if (pgBouncerVersion() < 1.22) {
        assert.match(Fs.readFileSync(Path.join(postgres.dir, "server.log"), "utf8"), /prepared statement "effect_[0-9a-f]+_\d+" does not exist/)
      }
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("make behind a pooler that does not know its settings fails to start at once, with a StoreError naming the first, not retryable", () =>
    Effect.gen(function*() {
      const { bouncer } = yield* behindPooler({ poolMode: "transaction" })
      // A connect deadline of a minute: tried again until then, the start would outlive the test's own.
      yield* refusedAtStart(PostgresStore.make({ url: bouncer.url, connectTimeout: "1 minute" }), "unsupported startup parameter: enable_seqscan")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("fromClient on a client that prepares nothing needs no setting: jobs offered in its transactions and outside run", () =>
    Effect.gen(function*() {
      const { bouncer } = yield* behindPooler({ poolMode: "transaction", serverConnections: 2 })
      const sql = yield* PgClient.make({ url: Redacted.make(bouncer.url), prepare: false }).pipe(Effect.provide(Reactivity.layer))
      const store = yield* PostgresStore.fromClient().pipe(Effect.provideService(PgClient.PgClient, sql))
      const producer = Durable.producer({ store, queue: "client", schema })
      const inTransaction = yield* sql.withTransaction(producer.submitAll(Array.from({ length: 100 }, (_, n) => ({ n }))))
      const outside = yield* producer.submitAll(Array.from({ length: 100 }, (_, n) => ({ n })))
      const runs = yield* runAll([store], "client", 8, [...inTransaction, ...outside])
      for (const id of [...inTransaction, ...outside]) assert.strictEqual(runs.get(id), 1, `job ${id}`)
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("in session mode (its settings ignored as well), an idle pool is woken by the store's notifications: a job runs though the pool polls once an hour", () =>
    Effect.gen(function*() {
      const { bouncer } = yield* behindPooler({ poolMode: "session", ignoreStartupParameters: makeSettings })
      yield* wokenWhileIdle(yield* PostgresStore.make({ url: bouncer.url }), "woken")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("in transaction mode with listenUrl on the server itself, an idle pool of make is woken by the store's notifications; the start's own listener is gone once it has started", () =>
    Effect.gen(function*() {
      const { bouncer, postgres } = yield* behindPooler({ poolMode: "transaction", ignoreStartupParameters: makeSettings })
      const store = yield* PostgresStore.make({ url: bouncer.url, listenUrl: postgres.url })
      // The start's check listened on a channel of its own: no session of the server is on it any more.
      const probing = pgRows(postgres.url, "SELECT count(*)::int FROM pg_stat_activity WHERE query LIKE '%LISTEN %effect_worker_pool_probe_%' AND pid <> pg_backend_pid()")
      yield* waitUntil("the start's listener has closed", Effect.map(probing, (rows) => rows[0]![0] === 0), 10_000)
      yield* wokenWhileIdle(store, "woken")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("in transaction mode with listenUrl on the server itself, an idle pool of fromClient is woken by the store's notifications", () =>
    Effect.gen(function*() {
      const { bouncer, postgres } = yield* behindPooler({ poolMode: "transaction" })
      const sql = yield* PgClient.make({ url: Redacted.make(bouncer.url), prepare: false }).pipe(Effect.provide(Reactivity.layer))
      const store = yield* PostgresStore.fromClient({ listenUrl: Redacted.make(postgres.url) }).pipe(
        Effect.provideService(PgClient.PgClient, sql)
      )
      yield* wokenWhileIdle(store, "woken")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("make with listenUrl on the pooler in transaction mode fails to start, not retryable: a listener there hears nothing", () =>
    Effect.gen(function*() {
      const { bouncer, postgres } = yield* behindPooler({ poolMode: "transaction" })
      yield* refusedAtStart(
        PostgresStore.make({ url: postgres.url, listenUrl: bouncer.url, connectTimeout: "2 seconds" }),
        "a listener at listenUrl heard nothing the store's statements notified within 2s"
      )
    }).pipe(Effect.scoped), { timeout: 60_000 })
})

describe("PostgresStore's listenUrl", () => {
  it.live("on another database of the server: make fails to start, not retryable, since its listener would hear nothing", () =>
    Effect.gen(function*() {
      const postgres = yield* startPostgres()
      const elsewhere = yield* freshDatabase(postgres.url, "listen_elsewhere")
      yield* refusedAtStart(
        PostgresStore.make({ url: postgres.url, listenUrl: elsewhere, connectTimeout: "1 second" }),
        "heard nothing the store's statements notified within 1s: listenUrl must reach the same database"
      )
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("where no server listens: make fails to start once its connect deadline has passed, naming listenUrl", () =>
    Effect.gen(function*() {
      const postgres = yield* startPostgres()
      const closed = yield* Effect.promise(freePort)
      const failed = yield* Effect.flip(
        PostgresStore.make({ url: postgres.url, listenUrl: `postgres://postgres@127.0.0.1:${closed}/postgres`, connectTimeout: "1 second" })
      )
      assert.instanceOf(failed, StoreError)
      assert.match(failed.message, /^the job store failed to connect: listening at listenUrl: no answer within 1s/)
      // A server that is not up yet may come: the start may be tried again.
      assert.isTrue(failed.retryable)
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
