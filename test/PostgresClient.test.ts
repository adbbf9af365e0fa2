/**
 * The PostgreSQL store on the application's own `PgClient`, against a real
 * server: the store contract, jobs offered inside the client's transactions
 * (rolled back, committed, or cut off by a process killed before it
 * commits), the store built inside a transaction (its set-up outside it),
 * the example that shows it, and setting up the schema once
 * (`PostgresStore.migrate`) for stores that start without the right to.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import * as PgPool from "@effect/sql-pg/PgPool"
import * as PgTypes from "@effect/sql-pg/PgTypes"
import { Deferred, Duration, Effect, Exit, Fiber, Redacted, Schema, Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { fileURLToPath } from "node:url"
import * as Durable from "../src/Durable.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as Connection from "../src/durable/postgres/connection.ts"
import * as PostgresMigrations from "../src/durable/postgres/migrations.ts"
import * as Sql from "../src/durable/postgres/statements.ts"
import { newIdsOffer, type Store } from "../src/durable/Store.ts"
import { freshDatabase as newDatabase, pgRows } from "./support/admin.ts"
import { start } from "./support/runMain.ts"
import { queueNames, sharedPostgres } from "./support/sharedServer.ts"
import { storeContract } from "./support/storeContract.ts"
import { waitUntil } from "./support/waitUntil.ts"

const shared = sharedPostgres()
const queueName = queueNames("pgclient")
const minute = Duration.minutes(1)
const empty = { ready: 0, leased: 0, completed: 0, buried: 0 }

/** The application's client on `url`, closed with the scope. */
const clientOn = (url: string) =>
  PgClient.make({ url: Redacted.make(url) }).pipe(Effect.provide(Reactivity.layer), Effect.orDie)

/** A store on a client of its own, and the client. */
const onClient = (url: string, options?: PostgresStore.ClientOptions) =>
  Effect.gen(function*() {
    const sql = yield* clientOn(url)
    const store = yield* PostgresStore.fromClient(options).pipe(Effect.provideService(PgClient.PgClient, sql))
    return { sql, store }
  })

/** Runs `effect`, failing the test if it takes longer than `ms`: "promptly", not "eventually". */
const within = <A, E, R>(ms: number, what: string, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.die(new Error(`${what} took over ${ms} ms`)) }))

/** A new, empty database on the shared server; its URL. */
const freshDatabase = Effect.suspend(() => newDatabase(shared().url, "setup"))

/**
 * How many times the jobs table of the database at `url` was read whole,
 * once every other session there has ended (a backend writes its table
 * statistics as it exits).
 */
const sequentialScans = (url: string) =>
  Effect.gen(function*() {
    yield* waitUntil(
      "the database's other sessions have ended",
      Effect.map(
        pgRows(url, "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"),
        ([row]) => row![0] === 0
      ),
      10_000
    )
    const [row] = yield* pgRows(url, `SELECT seq_scan::int FROM pg_stat_user_tables WHERE relname = '${PostgresStore.table}'`)
    return row![0] as number
  })

storeContract("postgres on a PgClient", {
  make: Effect.suspend(() => Effect.map(onClient(shared().url), ({ store }) => store)),
  elapse: (ms) => Effect.sleep(ms),
  test: it.live
})

describe("jobs offered in the application's transactions", () => {
  it.live("rolled back, the job never existed; committed, it is there, and nobody saw it before", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      // Another process's store, on a pool of its own.
      const other = yield* PostgresStore.make({ url: shared().url })
      const queue = queueName()
      const jobs = Durable.producer({ store, queue, schema: Schema.String })

      const rolledBack = yield* Effect.exit(sql.withTransaction(Effect.gen(function*() {
        yield* jobs.submit("a", { id: "rolled-back" })
        // Inside the transaction it is there; outside, not yet.
        const [[inside]] = (yield* sql.unsafe(`SELECT count(*)::int FROM ${Sql.table} WHERE queue = $1`, [queue]).values) as unknown as [[number]]
        assert.strictEqual(inside, 1, "the offer did not run in the transaction")
        assert.deepStrictEqual(yield* other.counts(queue), empty)
        assert.deepStrictEqual(yield* other.claim(queue, 10, minute), [])
        return yield* Effect.fail("the application changed its mind")
      })))
      assert.isTrue(Exit.isFailure(rolledBack))
      assert.deepStrictEqual(yield* other.counts(queue), empty)
      assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])

      yield* sql.withTransaction(Effect.gen(function*() {
        yield* jobs.submit("b", { id: "committed" })
        assert.deepStrictEqual(yield* other.claim(queue, 10, minute), [], "claimed before the commit")
      }))
      assert.deepStrictEqual(yield* other.counts(queue), { ...empty, ready: 1 })
      // The id of the rolled back job was never taken.
      yield* jobs.submit("c", { id: "rolled-back" })
      const claimed = yield* other.claim(queue, 10, minute)
      assert.deepStrictEqual(claimed.map((job) => [job.id, job.payload]), [["committed", "b"], ["rolled-back", "c"]])
    })))

  it.live("only offers join the transaction: a cancel in one is done at once, and a lookup or a count reads outside it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      // Another process's store, on a pool of its own.
      const other = yield* PostgresStore.make({ url: shared().url })
      const queue = queueName()
      yield* store.offer(queue, [{ id: "stop-me", payload: 1 }])
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const transaction = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function*() {
        yield* store.offer(queue, [{ id: "uncommitted", payload: 2 }])
        yield* store.cancel(queue, "stop-me")
        // Read outside the transaction: its own offer is not there yet.
        assert.strictEqual((yield* store.lookup(queue, "uncommitted")), undefined)
        assert.strictEqual((yield* store.counts(queue)).ready, 0)
        yield* Deferred.succeed(opened, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(opened)
      // The transaction is still open: its cancel is already done, for everyone.
      assert.strictEqual((yield* other.lookup(queue, "stop-me"))?.state, "cancelled")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(transaction)
      assert.strictEqual((yield* other.lookup(queue, "uncommitted"))?.state, "ready")
    })))

  it.live("a durable pool made inside a transaction claims outside it, and works on once the transaction has ended", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      const queue = queueName()
      const ran: Array<string> = []
      const pool = yield* sql.withTransaction(Durable.make({
        store,
        queue,
        schema: Schema.String,
        workers: 1,
        pollInterval: "20 millis",
        handler: (job) => Effect.sync(() => ran.push(job.payload))
      }))
      yield* pool.submit("after the transaction")
      yield* waitUntil("the job ran", Effect.map(pool.counts, (counts) => counts.completed === 1), 10_000)
      yield* pool.shutdown({ timeout: 1_000 })
      assert.deepStrictEqual(ran, ["after the transaction"])
    })))

  it.live("an offer in a transaction keeps each job's time, priority and settings", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      const queue = queueName()
      yield* sql.withTransaction(store.offer(queue, [
        { id: "plain", payload: 0 },
        { id: "urgent", payload: 1, priority: -5, settings: "own" },
        { id: "later", payload: 2, delay: 60_000, priority: -9 }
      ]))
      const claimed = yield* store.claim(queue, 10, minute)
      assert.deepStrictEqual(claimed.map((job) => [job.id, job.settings]), [["urgent", "own"], ["plain", undefined]])
      const later = yield* store.lookup(queue, "later")
      assert.deepStrictEqual([later?.state, later?.priority], ["ready", -9])
      assert.isAbove((yield* store.due!(queue))!, 50_000)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 1, leased: 2 })
    })))

  it.live("a durable pool's submit in a transaction: the committed job runs, the rolled back one never does", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      const queue = queueName()
      const ran: Array<string> = []
      const pool = yield* Durable.make({
        store,
        queue,
        schema: Schema.String,
        workers: 2,
        pollInterval: "20 millis",
        handler: (job) => Effect.sync(() => ran.push(job.payload))
      })
      yield* Effect.exit(sql.withTransaction(Effect.andThen(pool.submit("rolled back"), Effect.fail("no"))))
      yield* sql.withTransaction(pool.submit("committed"))
      yield* waitUntil("the committed job ran", Effect.map(pool.counts, (counts) => counts.completed === 1), 10_000)
      yield* pool.shutdown({ timeout: 1_000 })
      assert.deepStrictEqual(ran, ["committed"])
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, completed: 1 })
    })))

  it.live("an offer saying its ids are new, inside the client's transaction, does not abort it when an id is stored already", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      const queue = queueName()
      yield* store.offer(queue, [{ id: "stored", payload: 1 }])
      // A plain insert would fail on "stored" and leave the transaction aborted: the next statement would fail too.
      const [[after]] = (yield* sql.withTransaction(Effect.andThen(
        store.offer(queue, [{ id: "stored", payload: 2 }, { id: "new", payload: 3 }], newIdsOffer),
        sql`SELECT 41 + 1`.values
      ))) as unknown as [[number]]
      assert.strictEqual(after, 42)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 2 })
    })))

  it.live("an open transaction that offered does not hold up claims: not even on its session's counter row", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      const queue = queueName()
      yield* store.offer(queue, [{ id: "before", payload: 1 }])
      const opened = yield* Deferred.make<number>()
      const release = yield* Deferred.make<void>()
      const transaction = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function*() {
        yield* store.offer(queue, [{ id: "in-transaction", payload: 2 }])
        const [row] = yield* sql<{ readonly pid: number }>`SELECT pg_backend_pid() AS pid`
        yield* Deferred.succeed(opened, row!.pid)
        yield* Deferred.await(release)
      })))
      const pid = yield* Deferred.await(opened)
      // A session whose claims add to the same counter row as the
      // transaction's session would (its backend's pid, modulo the shards).
      let same: PgConnection.PgConnection | undefined
      for (let tries = 0; same === undefined && tries < 400; tries++) {
        const scope = yield* Scope.make()
        const connection = yield* Scope.provide(scope)(PgConnection.make({ url: Redacted.make(shared().url) }))
        const [[other]] = (yield* connection.queryValues("SELECT pg_backend_pid()")) as unknown as [[number]]
        if (other % 16 === pid % 16) {
          yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
          same = connection
        } else {
          yield* Scope.close(scope, Exit.void)
        }
      }
      assert.isDefined(same, "no session on the transaction's counter row")
      const claimed = yield* within(
        3_000,
        "a claim on the open transaction's counter row",
        same!.queryValues(Sql.claimSql, [queue, PgTypes.int4(10), Sql.millis(minute), "t/", PgTypes.int4(1 << 20)])
      )
      assert.deepStrictEqual(claimed.map((row) => row[0]), ["before"])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(transaction)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 1, leased: 1 })
    })))

  it.live("two open transactions that offer to one queue never wait for each other's count", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql, store } = yield* onClient(shared().url)
      const queue = queueName()
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // In the scope: a failure below ends it before the client closes, which waits for its connection.
      const first = yield* Effect.forkScoped(sql.withTransaction(Effect.gen(function*() {
        yield* store.offer(queue, [{ id: "first", payload: 1 }])
        yield* Deferred.succeed(opened, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(opened)
      // Later transactions, each offering while the first is open, none of them allowed to wait:
      // counted in rows shared by transactions (as once, 240 picked by the transaction's id), one
      // of them would meet the first's row and wait for it to end.
      const later = 2_000
      for (let n = 0; n < later; n++) {
        yield* sql.withTransaction(Effect.andThen(
          sql`SET LOCAL lock_timeout = '100ms'`,
          store.offer(queue, [{ id: `later-${n}`, payload: n }])
        )).pipe(Effect.mapError((error) => new Error(`transaction ${n + 1} after the open one: ${error.message}`)))
      }
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: later + 1 })
    })), 60_000)

  it.live("the purge folds the counts of committed transactions into the sessions' rows: the counts read the same, and an open one's is left", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = shared().url
      const { sql, store } = yield* onClient(url)
      const queue = queueName()
      const rows = Effect.map(
        pgRows(url, `SELECT count(*)::int FROM ${Sql.countsTable} WHERE queue = '${queue}' AND shard >= 16`),
        ([row]) => row![0] as number
      )
      for (let n = 0; n < 5; n++) yield* sql.withTransaction(store.offer(queue, [{ id: `committed-${n}`, payload: n }]))
      assert.strictEqual(yield* rows, 5, "a counter row for each transaction")
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const open = yield* Effect.forkScoped(sql.withTransaction(Effect.gen(function*() {
        yield* store.offer(queue, [{ id: "open", payload: 5 }])
        yield* Deferred.succeed(opened, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(opened)
      const retention = { completed: Duration.zero, buried: Duration.zero }
      yield* within(3_000, "a purge beside an open transaction that offered", store.purge(queue, retention, 100))
      assert.strictEqual(yield* rows, 0, "the committed transactions' rows folded")
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 5 })
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(open)
      assert.strictEqual(yield* rows, 1)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 6 })
      yield* store.purge(queue, retention, 100)
      assert.strictEqual(yield* rows, 0)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 6 })
    })))

  it.live("a long backlog of transactions' counter rows is folded in batches: 100,000 a purge, the rest by the next", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = shared().url
      const store = yield* PostgresStore.make({ url })
      const queue = queueName()
      const rows = Effect.map(
        pgRows(url, `SELECT count(*)::int FROM ${Sql.countsTable} WHERE queue = '${queue}' AND shard >= 16`),
        ([row]) => row![0] as number
      )
      // As 101,000 committed transactions that offered a job each would leave them.
      yield* pgRows(
        url,
        `INSERT INTO ${Sql.countsTable} (queue, shard, ready) SELECT '${queue}', 1000 + n, 1 FROM generate_series(1, 101000) AS n`
      )
      const retention = { completed: Duration.zero, buried: Duration.zero }
      yield* store.purge(queue, retention, 100)
      assert.strictEqual(yield* rows, 1_000)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 101_000 })
      yield* store.purge(queue, retention, 100)
      assert.strictEqual(yield* rows, 0)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 101_000 })
    })), 60_000)

  it.live("a shared counter row of an earlier version is folded too, but not while an open transaction holds it", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = shared().url
      const store = yield* PostgresStore.make({ url })
      const queue = queueName()
      const row = (shard: number) =>
        Effect.map(
          pgRows(url, `SELECT ready::int FROM ${Sql.countsTable} WHERE queue = '${queue}' AND shard = ${shard}`),
          (rows) => rows[0]?.[0]
        )
      // Rows 16 to 255 were those transactions shared: one committed, one held by a transaction still open.
      yield* pgRows(url, `INSERT INTO ${Sql.countsTable} (queue, shard, ready) VALUES ('${queue}', 20, 3), ('${queue}', 30, 4)`)
      const holder = yield* PgConnection.make({ url: Redacted.make(url) })
      yield* holder.queryValues("BEGIN")
      yield* holder.queryValues(`UPDATE ${Sql.countsTable} SET ready = ready + 1 WHERE queue = '${queue}' AND shard = 30`)
      const retention = { completed: Duration.zero, buried: Duration.zero }
      yield* within(3_000, "a purge beside a held counter row", store.purge(queue, retention, 100))
      assert.deepStrictEqual([yield* row(20), yield* row(30)], [undefined, 4])
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 7 })
      yield* holder.queryValues("COMMIT")
      yield* store.purge(queue, retention, 100)
      assert.deepStrictEqual([yield* row(20), yield* row(30)], [undefined, undefined])
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 8 })
    })))

  it.live("a process killed between the offer and the commit: the job is absent, and nothing is left locked", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = shared().url
      const queue = queueName()
      const child = start(["--url", url, "--queue", queue, "--id", "cut-off"], {
        command: [process.execPath, fileURLToPath(new URL("./support/offerInTransaction.ts", import.meta.url))]
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      yield* Effect.promise(() => child.waitFor(/offered/))
      const held = `SELECT count(*)::int FROM pg_locks JOIN pg_stat_activity USING (pid)
        WHERE application_name = 'ewp-offer-in-transaction' AND locktype IN ('relation', 'transactionid')`
      const [[locks]] = (yield* pgRows(url, held)) as unknown as [[number]]
      assert.isAbove(locks, 0, "the child holds no lock: it is not in its transaction")

      child.kill("SIGKILL")
      yield* Effect.promise(() => child.exited)
      const gone = `SELECT count(*)::int FROM pg_stat_activity WHERE application_name = 'ewp-offer-in-transaction'`
      yield* waitUntil(
        "the server ended the killed process's session",
        Effect.map(pgRows(url, gone), (rows) => rows[0]![0] === 0),
        10_000
      )
      const [[left]] = (yield* pgRows(url, held)) as unknown as [[number]]
      assert.strictEqual(left, 0)
      const store = yield* PostgresStore.make({ url })
      assert.deepStrictEqual(yield* store.counts(queue), empty)
      // Its id and its counter rows are free: the same offer, and a claim, go through at once.
      yield* within(2_000, "offering the killed process's id", store.offer(queue, [{ id: "cut-off", payload: "again" }]))
      const claimed = yield* within(2_000, "claiming", store.claim(queue, 10, minute))
      assert.deepStrictEqual(claimed.map((job) => [job.id, job.payload]), [["cut-off", "again"]])
    })), 30_000)

  it.live("the example (examples/transactional-enqueue.ts) runs against a server and prints what it says", () =>
    Effect.gen(function*() {
      const example = fileURLToPath(new URL("../examples/transactional-enqueue.ts", import.meta.url))
      // Twice on one database, as a user may: the queue outlives a run.
      for (let run = 0; run < 2; run++) {
        const { code, stdout, stderr } = yield* Effect.promise(() =>
          start([], { command: [process.execPath, example], env: { DATABASE_URL: shared().url } }).exited
        )
        assert.strictEqual(code, 0, stderr)
        // Log lines as the README writes them: the time and the fiber's id vary.
        const printed = stdout.replace(/^\[\d\d:\d\d:\d\d\.\d+\]/gm, "[hh:mm:ss]").replace(/\(#\d+\)/g, "(#n)")
        assert.strictEqual(
          printed,
          [
            "[hh:mm:ss] INFO (#n): durable pool working { queue: 'welcome-emails', store: 'postgres', workers: 2 }",
            "signed up ada@example.com",
            "sent the welcome email to ada@example.com",
            "signing up ada@example.com again failed (SqlError): rolled back, its email job too",
            "users: ada@example.com",
            "welcome email jobs stored by this run: 1",
            ""
          ].join("\n"),
          `run ${run + 1}`
        )
      }
    }), 60_000)
})

describe("fromClient inside the application's transaction", () => {
  it.live("its set-up runs outside it: the listenUrl check hears its notification, and the migrations stay when it rolls back", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabase
      const sql = yield* clientOn(url)
      const queue = queueName()
      let store: Store | undefined
      // In the transaction, the check's notification would wait for the commit, past its deadline.
      const error = yield* within(
        10_000,
        "fromClient in a transaction",
        Effect.flip(sql.withTransaction(Effect.gen(function*() {
          store = yield* PostgresStore.fromClient({ listenUrl: url, connectTimeout: "2 seconds" })
          yield* store.offer(queue, [{ id: "rolled-back", payload: 1 }])
          const [[inside]] = (yield* sql.unsafe(`SELECT count(*)::int FROM ${Sql.table} WHERE queue = $1`, [queue]).values) as unknown as [[number]]
          assert.strictEqual(inside, 1, "the offer did not run in the transaction")
          return yield* Effect.fail("the application changed its mind")
        }).pipe(Effect.provideService(PgClient.PgClient, sql))))
      )
      assert.strictEqual(error, "the application changed its mind")
      // The schema was committed on its own; the offer, in the transaction, was rolled back with it.
      assert.deepStrictEqual(
        yield* pgRows(url, `SELECT max(version) FROM ${PostgresStore.migrationsTable}`),
        [[PostgresMigrations.migrations.at(-1)!.version]]
      )
      assert.deepStrictEqual(yield* store!.counts(queue), empty)
      yield* store!.offer(queue, [{ id: "after", payload: 2 }])
      assert.deepStrictEqual((yield* store!.claim(queue, 10, minute)).map((job) => job.id), ["after"])
    })), 30_000)
})

describe("a durable pool on a small client", () => {
  it.live("on a client of one connection, a pool runs its jobs, is woken, and the client closes at once after it", () =>
    Effect.gen(function*() {
      const queue = queueName()
      const started: Array<string> = []
      const scope = yield* Scope.make()
      yield* within(
        15_000,
        "a pool's jobs on a client of one connection",
        Effect.gen(function*() {
          const sql = yield* PgClient.make({ url: Redacted.make(shared().url), maxConnections: 1 }).pipe(
            Effect.provide(Reactivity.layer),
            Effect.orDie
          )
          const store = yield* PostgresStore.fromClient().pipe(Effect.provideService(PgClient.PgClient, sql))
          const pool = yield* Durable.make({
            store,
            queue,
            schema: Schema.String,
            workers: 1,
            // Only a wakeup starts the second job in time.
            pollInterval: "1 hour",
            handler: (job) => Effect.sync(() => void started.push(job.payload))
          })
          yield* pool.submit("first")
          yield* waitUntil("\"first\" started", Effect.sync(() => started.includes("first")), 10_000)
          yield* pool.submit("second")
          yield* waitUntil("\"second\" started", Effect.sync(() => started.includes("second")), 10_000)
        }).pipe(Scope.provide(scope))
      )
      // The pool's listener holds none of the client's connections: closing the client waits for nobody.
      yield* within(5_000, "closing the pool and its client", Scope.close(scope, Exit.void))
      assert.deepStrictEqual(started, ["first", "second"])
    }), 30_000)
})

describe("the store's statements outside the application's transactions", () => {
  it.live("run on sessions of the store's own: claims planned on an empty queue read no table whole once it has grown", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      yield* PostgresStore.migrate({ url })
      const before = yield* sequentialScans(url)
      const queue = queueName()
      const claims = 50
      yield* Effect.scoped(Effect.gen(function*() {
        // One connection: on the application's sessions, the claims on the empty queue and those after it grew would share a plan.
        const sql = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 1 }).pipe(
          Effect.provide(Reactivity.layer),
          Effect.orDie
        )
        const store = yield* PostgresStore.fromClient().pipe(Effect.provideService(PgClient.PgClient, sql))
        for (let i = 0; i < 10; i++) assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])
        yield* store.offer(queue, Array.from({ length: 5_000 }, (_, i) => ({ id: `j${i}`, payload: i })))
        for (let i = 0; i < claims; i++) yield* store.complete(queue, yield* store.claim(queue, 10, minute))
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 5_000 - 10 * claims, completed: 10 * claims })
      }))
      assert.strictEqual((yield* sequentialScans(url)) - before, 0)
    }), 30_000)
})

describe("the store's own sessions beside the application's client", () => {
  /** What `SHOW setting` says on a session of the pool `openBeside` opens beside a client of `config`. */
  const besideShows = (config: Omit<PgClient.PgPoolConfig, "url">, setting: string) =>
    Effect.scoped(Effect.gen(function*() {
      const sql = yield* PgClient.make({ url: Redacted.make(shared().url), ...config }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.orDie
      )
      const { pool } = yield* Connection.openBeside(sql, Duration.seconds(5))
      const [row] = yield* pool.use((connection) => connection.queryValues(`SHOW ${setting}`))
      return { shown: row![0], maxConnections: pool.config.maxConnections }
    }))

  it.live("plan as make's, with at most the client's connections, and without the settings for a client that prepares nothing", () =>
    Effect.gen(function*() {
      for (const [setting, value] of [["enable_seqscan", "off"], ["enable_bitmapscan", "off"], ["plan_cache_mode", "force_generic_plan"]]) {
        assert.strictEqual((yield* besideShows({}, setting)).shown, value, setting)
        // As behind a transaction pooler, which refuses startup parameters it does not know.
        assert.notStrictEqual((yield* besideShows({ prepare: false }, setting)).shown, value, `${setting}, prepare: false`)
      }
      assert.strictEqual((yield* besideShows({ maxConnections: 2 }, "enable_seqscan")).maxConnections, 2)
      assert.strictEqual((yield* besideShows({ maxConnections: 50 }, "enable_seqscan")).maxConnections, 10)
    }))
})

describe("setting up the schema once: PostgresStore.migrate, and migrate: false", () => {
  it.live("migrate: false on a database below the newest version fails make and fromClient, not retryable, saying what to run", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabase
      const refusals = [
        yield* Effect.flip(PostgresStore.make({ url, migrate: false })),
        yield* Effect.flip(onClient(url, { migrate: false }))
      ]
      for (const error of refusals) {
        assert.strictEqual(error._tag, "StoreError")
        assert.isTrue(error._tag === "StoreError" && error.operation === "connect" && !error.retryable, String(error))
        assert.include(error.message, "schema version 0")
        assert.include(error.message, "PostgresStore.migrate")
      }
      // Nothing was created.
      assert.deepStrictEqual(yield* pgRows(url, `SELECT to_regclass('${PostgresStore.table}')::text`), [[null]])
    })))

  /** A fresh database, and a role of its own that may log in but not create tables (its URL: `asRole`). */
  const roleThatMayNotCreate = Effect.gen(function*() {
      const url = yield* freshDatabase
      const role = `worker_${url.slice(url.lastIndexOf("/") + 1)}`
      yield* pgRows(url, `CREATE ROLE ${role} LOGIN`)
      yield* pgRows(url, `REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
      const asRole = url.replace("postgres://postgres@", `postgres://${role}@`)
      return { asRole, role, url }
  })

  it.live("after PostgresStore.migrate, a role that may not create tables runs a store with migrate: false", () =>
    Effect.scoped(Effect.gen(function*() {
      const { asRole, role, url } = yield* roleThatMayNotCreate

      // The deploy step, as the owner; a second run does nothing.
      yield* PostgresStore.migrate({ url })
      yield* PostgresStore.migrate({ url })
      yield* pgRows(url, `GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ${role}`)
      const denied = yield* Effect.flip(pgRows(asRole, "CREATE TABLE nope (x int)"))
      assert.include(String(denied.message + denied.reason.cause), "permission denied")

      const store = yield* PostgresStore.make({ url: asRole, migrate: false })
      const queue = queueName()
      yield* store.offer(queue, [{ id: "j", payload: 1 }])
      const claimed = yield* store.claim(queue, 1, minute)
      yield* store.complete(queue, claimed)
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, completed: 1 })
      // Pausing and resuming need no other right: a queue's row is turned off, never deleted.
      assert.deepStrictEqual([yield* store.pause!(queue, true), yield* store.pause!(queue, false)], [true, true])
    })))

  it.live("a role granted the tables of version 5 keeps claiming once step 6 adds the paused table: the step grants it the jobs table's rights", () =>
    Effect.scoped(Effect.gen(function*() {
      const { asRole, role, url } = yield* roleThatMayNotCreate
      // The release before: migrated, and its tables granted once (no default privileges).
      yield* Effect.scoped(Effect.flatMap(PgPool.make({ url: Redacted.make(url) }), (pool) =>
        PostgresMigrations.migrate(pool, PostgresMigrations.migrations.filter((step) => step.version <= 5))))
      yield* pgRows(url, `GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ${role}`)
      // This release's deploy step, as the owner; the application as before.
      yield* PostgresStore.migrate({ url })
      const store = yield* PostgresStore.make({ url: asRole, migrate: false })
      const queue = queueName()
      yield* store.offer(queue, [{ id: "j", payload: 1 }])
      // Every claim reads the paused table: without a right on it, none would lease anything.
      const claimed = yield* store.claim(queue, 1, minute)
      assert.deepStrictEqual(claimed.map((job) => job.id), ["j"])
      assert.isUndefined(yield* store.due!(queue))
      assert.deepStrictEqual([yield* store.pause!(queue, true), yield* store.paused!(queue), yield* store.pause!(queue, false)], [true, true, true])
      // No more than the jobs table's rights: the role was never granted DELETE.
      const denied = yield* Effect.flip(pgRows(asRole, `DELETE FROM ${Sql.pausedTable}`))
      assert.include(String(denied.message + denied.reason.cause), "permission denied")
    })))

  it.live("PostgresStore.migrateClient in the application's transaction waits out a long transaction on the table, try after try", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabase
      yield* Effect.scoped(Effect.flatMap(PgPool.make({ url: Redacted.make(url) }), (pool) =>
        PostgresMigrations.migrate(pool, PostgresMigrations.migrations.slice(0, 1))))
      // Another transaction holds the jobs table for longer than one try waits for its lock.
      const holder = yield* PgConnection.make({ url: Redacted.make(url) })
      yield* holder.query("BEGIN")
      yield* holder.query(`SELECT count(*) FROM ${Sql.table}`)
      yield* Effect.forkChild(Effect.andThen(Effect.sleep(Duration.sum(PostgresMigrations.lockWait, Duration.millis(500))), holder.query("ROLLBACK")))
      const sql = yield* clientOn(url)
      const started = Date.now()
      yield* sql.withTransaction(PostgresStore.migrateClient.pipe(Effect.provideService(PgClient.PgClient, sql)))
      // At least one try gave up (its wait, then its pause) before the one that migrated.
      assert.isAtLeast(Date.now() - started, Duration.toMillis(PostgresMigrations.lockWait))
      assert.deepStrictEqual(
        yield* pgRows(url, `SELECT max(version) FROM ${PostgresStore.migrationsTable}`),
        [[PostgresMigrations.migrations.at(-1)!.version]]
      )
    })), 30_000)

  it.live("PostgresStore.migrateClient migrates on the application's client, within its transaction", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabase
      const sql = yield* clientOn(url)
      // In the application's transaction, which keeps its own lock wait after the migration.
      const lockTimeout = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`SET LOCAL lock_timeout = '7s'`
        yield* PostgresStore.migrateClient.pipe(Effect.provideService(PgClient.PgClient, sql))
        return yield* sql`SHOW lock_timeout`.values
      }))
      assert.deepStrictEqual(lockTimeout, [["7s"]])
      const store = yield* PostgresStore.fromClient({ migrate: false }).pipe(Effect.provideService(PgClient.PgClient, sql))
      const queue = queueName()
      yield* store.offer(queue, [{ id: "j", payload: 1 }])
      assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 1 })
    })))
})
