/**
 * How the PostgreSQL store's own sessions plan its statements, against a
 * real server: prepared statements once for any value of their parameters
 * (a generic plan), batches of any size run prepared, and every statement
 * keeping its index under a generic plan, the purge of each ended state
 * included.
 */
import { assert, describe, it } from "@effect/vitest"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import * as PgTypes from "@effect/sql-pg/PgTypes"
import { Duration, Effect, Exit, Fiber, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as Boundary from "../src/durable/boundary.ts"
import * as Connection from "../src/durable/postgres/connection.ts"
import { limitsOf } from "../src/durable/postgres/limits.ts"
import * as Runner from "../src/durable/postgres/runner.ts"
import * as Sql from "../src/durable/postgres/statements.ts"
import { makeEngine } from "../src/durable/postgres/store.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import { freshDatabase, pgRows } from "./support/admin.ts"
import { type PlainServer, startPostgresServer } from "./support/servers.ts"
import { waitUntil } from "./support/waitUntil.ts"

let server: PlainServer | undefined
beforeAll(async () => {
  server = await startPostgresServer()
}, 60_000)
afterAll(() => server?.close())

/** A pool on the database at `url`, opened as the store opens its own (`PostgresStore.make`). */
const poolOn = (url: string) =>
  Effect.map(
    Effect.mapError(Connection.open(url, Duration.seconds(10)), (error) => new Error(error.reason)),
    ({ pool }) => pool
  )

/** A pool on the server's database, opened as the store opens its own. */
const storePool = Effect.suspend(() => poolOn(server!.url))

/**
 * The generic plan of `sql` (prepared with parameters of `types`, run with
 * `values`), with each node's output columns (EXPLAIN VERBOSE), as text.
 */
const verbosePlan = (sql: string, types: string, values: string) =>
  Effect.gen(function*() {
    yield* Effect.scoped(PostgresStore.make({ url: server!.url }))
    const pool = yield* storePool
    return yield* pool.use((connection) =>
      Effect.gen(function*() {
        yield* connection.queryValues(`PREPARE verbose_plan (${types}) AS ${sql}`)
        const rows = yield* connection.queryValues(`EXPLAIN (VERBOSE) EXECUTE verbose_plan (${values})`)
        yield* connection.queryValues("DEALLOCATE verbose_plan")
        return rows.map((row) => row[0]).join("\n")
      })
    )
  })

/**
 * Runs `statement` on `connection` under EXPLAIN (ANALYZE, BUFFERS), in a
 * transaction rolled back after it: the rows its plan's top node returned
 * and the buffers it read.
 */
const undone = (connection: PgConnection.PgConnection, statement: string) =>
  Effect.gen(function*() {
    yield* connection.queryValues("BEGIN")
    const rows = yield* connection.queryValues(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement}`)
    yield* connection.queryValues("ROLLBACK")
    const explained = rows[0]![0]
    const json = typeof explained === "string" ? JSON.parse(explained) : explained
    const plan = (json as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan
    return {
      rows: plan["Actual Rows"] as number,
      buffers: (plan["Shared Hit Blocks"] as number) + (plan["Shared Read Blocks"] as number)
    }
  })

describe("PostgresStore's plans", () => {
  it.live("a store's connection plans prepared statements once (generic plans)", () =>
    Effect.gen(function*() {
      const runner = Runner.onPool(yield* storePool)
      const rows = yield* runner.run("SHOW plan_cache_mode", [], true)
      assert.strictEqual(rows[0]![0], "force_generic_plan")
    }))

  it.live("batches of thousands end and extend as prepared statements, on a generic plan, only the held leases", () =>
    Effect.gen(function*() {
      const pool = yield* storePool
      const base = Runner.onPool(pool)
      const sent: Array<{ readonly sql: string; readonly prepare: boolean }> = []
      // Every statement the engine sends, on either way it has (an offer's, and every other's).
      const recorded = (through: Runner.Runner["run"]): Runner.Runner["run"] => (sql, params, prepare) => {
        sent.push({ sql, prepare })
        return through(sql, params, prepare)
      }
      const runner: Runner.Runner = { ...base, run: recorded(base.run), runOwn: recorded(base.runOwn) }
      yield* PostgresStore.make({ url: server!.url })
      const store = Boundary.makeStore(makeEngine(runner, limitsOf(runner.maxMessageSize)), { engine: "postgres" })
      const queue = "thousands"
      yield* store.offer(queue, Array.from({ length: 3_000 }, (_, i) => ({ id: `j${i}`, payload: i })))
      const claimed = yield* store.claim(queue, 3_000, Duration.minutes(1))
      assert.strictEqual(claimed.length, 3_000)
      // A stale token (another job's) and a made-up one end nothing.
      const stale = { id: claimed[0]!.id, token: claimed[1]!.token }
      yield* store.extend(queue, [...claimed, stale], Duration.minutes(2))
      yield* store.release(queue, [stale, { id: "nope", token: "made/up" }, ...claimed.slice(0, 1_000)])
      yield* store.complete(queue, claimed.slice(1_000))
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1_000, leased: 0, completed: 2_000, buried: 0 })
      for (const sql of [Sql.extendSql, Sql.releaseSql, Sql.completeSql]) {
        assert.deepStrictEqual(sent.filter((statement) => statement.sql === sql).map(({ prepare }) => prepare), [true])
      }
      // Once more on one connection: the statement's plans there are generic ones (a batch already ended: nothing moves).
      const params = Sql.leaseParams(claimed.slice(0, 1_000))
      const plans = yield* pool.use((connection) =>
        Effect.gen(function*() {
          yield* connection.queryValues(Sql.completeSql, [queue, ...params], true)
          return yield* connection.queryValues(
            "SELECT generic_plans::int, custom_plans::int FROM pg_prepared_statements WHERE statement = $1",
            [Sql.completeSql]
          )
        })
      )
      const [[generic, custom]] = plans as ReadonlyArray<ReadonlyArray<number>> as [[number, number]]
      assert.isAtLeast(generic, 1)
      assert.strictEqual(custom, 0)
      assert.deepStrictEqual(yield* store.counts(queue), { ready: 1_000, leased: 0, completed: 2_000, buried: 0 })
    }), 60_000)

  it.live("a store's claims run on one generic plan per connection, planned with no value", () =>
    Effect.gen(function*() {
      const url = server!.url
      const store = yield* PostgresStore.make({ url })
      const queue = "generic"
      yield* store.offer(queue, Array.from({ length: 20 }, (_, i) => ({ id: `j${i}`, payload: i })))
      const pool = yield* storePool
      const plans = yield* pool.use((connection) =>
        Effect.gen(function*() {
          for (let i = 0; i < 6; i++) {
            yield* connection.queryValues(Sql.claimSql, [queue, PgTypes.int4(2), Sql.millis(Duration.minutes(1)), `t${i}/`, PgTypes.int4(1_000_000)])
          }
          return yield* connection.queryValues(
            "SELECT generic_plans::int, custom_plans::int FROM pg_prepared_statements WHERE statement = $1",
            [Sql.claimSql]
          )
        })
      )
      assert.deepStrictEqual(plans, [[6, 0]])
    }))

  it.live("a claim makes each payload's JSON text once, however many times its answer reads it (EXPLAIN VERBOSE)", () =>
    Effect.gen(function*() {
      const plan = yield* verbosePlan(Sql.claimSql, "text, int4, float8, text, int4", "'once', 10, 60000, 't/', 1000")
      // The size check, the size and the text itself: written out once each,
      // the conversion would run three times a job.
      assert.strictEqual(plan.match(/payload\)::text/g)?.length, 1, plan)
    }))

  it.live("the dead letters' listing makes each payload's JSON text once (EXPLAIN VERBOSE)", () =>
    Effect.gen(function*() {
      const plan = yield* verbosePlan(Sql.buriedSql, buriedTypes, "'once', 10, 1000, NULL, NULL")
      // The size check and the text read the column the scan below made: written out in the
      // top node, the conversion would run there twice a job more.
      const top = plan.split("\n").find((line) => line.trim().startsWith("Output:")) ?? ""
      assert.notInclude(top, "payload", plan)
      assert.strictEqual(top.match(/buried\.text/g)?.length, 2, plan)
    }))

  /**
   * Each statement of `statements` (a name, its text, its parameters' types,
   * the values it runs with), planned on one of the store's connections
   * while its table is empty (a fresh database), then run (and undone) once
   * the queue `queue` has 30,000 dead letters and 30,000 completed jobs
   * (`buried1`..., and `completed1`...): the rows its plan's top node
   * returned and the buffers it read.
   */
  const afterGrowth = (queue: string, statements: ReadonlyArray<readonly [string, string, string, string]>) =>
    Effect.gen(function*() {
      const url = yield* freshDatabase(server!.url, "plans")
      yield* PostgresStore.migrate({ url })
      const run = (connection: PgConnection.PgConnection, name: string, values: string) =>
        undone(connection, `EXECUTE ${name} (${values})`)
      return yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* (yield* poolOn(url)).reserve
        for (const [name, sql, types, values] of statements) {
          yield* connection.queryValues(`PREPARE ${name} (${types}) AS ${sql}`)
          yield* run(connection, name, values)
        }
        yield* pgRows(
          url,
          `INSERT INTO ${Sql.table} (queue, id, payload, state, ended_at)
           SELECT '${queue}', state || i, '{}', state, timestamptz '${endedAt}'
           FROM unnest(ARRAY['completed', 'buried']) AS state, generate_series(1, 30000) AS i`
        )
        const ran: Record<string, { readonly rows: number; readonly buffers: number }> = {}
        for (const [name, , , values] of statements) {
          ran[name] = yield* run(connection, name, values)
          yield* connection.queryValues(`DEALLOCATE ${name}`)
        }
        return ran
      }))
    })

  /** When every ended job `afterGrowth` inserts ended: all at one instant. */
  const endedAt = "2026-01-01T00:00:00Z"

  /** `buriedSql`'s parameters' types: queue, limit, most payload bytes, the cursor's µs and seq. */
  const buriedTypes = "text, int4, int4, int8, int8"

  /** `ids` as an SQL array. */
  const textArray = (ids: ReadonlyArray<string>) => `ARRAY[${ids.map((id) => `'${id}'`).join(", ")}]`

  it.live("an offer whose ids are taken looks each one up by its key, on a plan made before the queue grew", () =>
    Effect.gen(function*() {
      // Five dead letters, five completed jobs and five new ids.
      const ids = [1, 2, 3, 4, 5].flatMap((i) => [`buried${i * 5000}`, `completed${i * 5000}`, `new${i}`])
      const values = `'taken', ${textArray(ids)}, ${textArray(ids.map(() => "1"))}, NULL, NULL, NULL, NULL`
      const types = "text, text[], text[], float8[], float8[], int4[], text[]"
      const ran = yield* afterGrowth("taken", [
        ["offer", Sql.offerSql, types, values],
        ["offer_in_transaction", Sql.offerInTransactionSql, types, values]
      ])
      for (const [name, { buffers, rows }] of Object.entries(ran)) {
        // The five dead letters refused, and the row that says the new jobs were notified.
        assert.strictEqual(rows, 6, name)
        // Five jobs inserted and ten keys probed: 136 buffers. Walking the queue's ended jobs read 1,813.
        assert.isBelow(buffers, 500, `${name}: ${buffers} buffers read`)
      }
    }))

  it.live("a redrive and a removal look each id up by its key, on a plan made before the queue had dead letters", () =>
    Effect.gen(function*() {
      // Two dead letters (one asked twice), a completed job and an unknown id.
      const values = `'parked', ${textArray(["buried7", "buried9000", "buried7", "completed5", "nope"])}`
      const ran = yield* afterGrowth("parked", [
        ["redrive", Sql.redriveSql, "text, text[]", values],
        ["remove", Sql.removeSql, "text, text[]", values]
      ])
      for (const [name, { buffers, rows }] of Object.entries(ran)) {
        assert.strictEqual(rows, 1, `${name}: one row, the count`)
        // Three keys probed and two rows changed: tens of buffers. Walking the queue's dead letters read thousands.
        assert.isBelow(buffers, 200, `${name}: ${buffers} buffers read`)
      }
    }))

  it.live("the dead letters' pages, first or after a cursor, with payloads or without, are read in burial order off the index, on a plan made before they grew", () =>
    Effect.gen(function*() {
      // Every dead letter of the queue buried at one instant: a page after a cursor is cut
      // within the tie by seq (here past the 30,000 completed jobs, inserted as many first).
      const ran = yield* afterGrowth("listed", [
        ["with_payloads", Sql.buriedSql, buriedTypes, "'listed', 10, 1000, NULL, NULL"],
        ["ids_only", Sql.buriedSql, buriedTypes, "'listed', 500, 0, NULL, NULL"],
        ["after_cursor", Sql.buriedSql, buriedTypes, "'listed', 10, 1000, 0, 0"],
        ["within_tie", Sql.buriedSql, buriedTypes, `'listed', 10, 1000, ${Date.parse(endedAt) * 1000}, 45000`]
      ])
      assert.deepStrictEqual(
        [ran.with_payloads!.rows, ran.ids_only!.rows, ran.after_cursor!.rows, ran.within_tie!.rows],
        [10, 500, 10, 10]
      )
      // A page of rows, in the index's order: tens of buffers. Sorting the queue's 30,000 dead letters read thousands.
      for (const [name, { buffers }] of Object.entries(ran)) assert.isBelow(buffers, 300, `${name}: ${buffers} buffers read`)
    }))

  it.live("acknowledgements and releases go to their rows' places, on a plan made before the queue grew", () =>
    Effect.gen(function*() {
      // Two leases no row holds: their places are read, then their ids probed in the key.
      const values = `'ending', ${textArray(["completed7", "completed8"])}, '{"nobody/1":0}', ${textArray(["(0,1)", "(1,2)"])}`
      const types = "text, text[], text, text[]"
      const ran = yield* afterGrowth("ending", [
        ["complete", Sql.completeSql, types, values],
        ["complete_deleting", Sql.completeDeletingSql, types, values],
        ["release", Sql.releaseSql, types, values]
      ])
      for (const [name, { buffers, rows }] of Object.entries(ran)) {
        assert.strictEqual(rows, 0, `${name}: nothing ended`)
        // Two places and two keys: a few buffers. Walking the queue's key for it read thousands.
        assert.isBelow(buffers, 100, `${name}: ${buffers} buffers read`)
      }
    }))

  it.live("a redrive and a removal naming some of the same dead letters lock them in one order: neither deadlocks", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = server!.url
      const store = yield* PostgresStore.make({ url })
      const queue = "lock_order"
      yield* pgRows(
        url,
        `INSERT INTO ${Sql.table} (queue, id, payload, state, ended_at)
         SELECT '${queue}', id, '{}', 'buried', now() FROM unnest(ARRAY['buried3', 'buried5', 'buried8', 'buried13']) AS id`
      )
      /** Whether `n` statements on the jobs table wait for a lock. */
      const waiting = (n: number) =>
        Effect.map(
          pgRows(url, `SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%${Sql.table}%'`),
          ([row]) => row![0] === n
        )
      // Two transactions hold a dead letter each.
      const holders = yield* Effect.forEach(["buried13", "buried8"], (id) =>
        Effect.gen(function*() {
          const connection = yield* PgConnection.make({ url: Redacted.make(url) })
          yield* connection.queryValues("BEGIN")
          yield* connection.queryValues(`SELECT 1 FROM ${Sql.table} WHERE queue = '${queue}' AND id = '${id}' FOR UPDATE`)
          return connection
        }))
      // Behind them, a redrive and a removal; the removal's 300 more ids put its
      // batch's hash order at odds with the redrive's (3 before 8 before 5).
      const redrive = yield* Effect.forkChild(Effect.exit(store.redrive(queue, ["buried5", "buried13", "buried3"])))
      yield* waitUntil("the redrive waits", waiting(1), 10_000)
      const pads = Array.from({ length: 300 }, (_, i) => `pad${i}`)
      const remove = yield* Effect.forkChild(Effect.exit(store.remove(queue, ["buried3", "buried8", "buried5", ...pads])))
      yield* waitUntil("the removal waits too", waiting(2), 10_000)
      for (const holder of holders) yield* holder.queryValues("COMMIT")
      const redriven = yield* Fiber.join(redrive)
      const removed = yield* Fiber.join(remove)
      assert.isTrue(Exit.isSuccess(redriven) && Exit.isSuccess(removed), `${String(redriven)} ${String(removed)}`)
      // Each dead letter went one way.
      assert.strictEqual(
        (Exit.isSuccess(redriven) ? redriven.value : 0) + (Exit.isSuccess(removed) ? removed.value : 0),
        4
      )
    })), 30_000)

  it.live("upcoming lists a page of 10,000 jobs due at one instant from the index, the first or after a cursor, without reading the rest", () =>
    Effect.gen(function*() {
      const url = server!.url
      yield* Effect.scoped(PostgresStore.make({ url }))
      const queue = "tied"
      // One batch offered with one delay: every job due at the same instant.
      yield* pgRows(
        url,
        `INSERT INTO ${Sql.table} (queue, id, payload, state, visible_at)
         SELECT '${queue}', 'tied' || i, '{}', 'scheduled', now() + interval '1 hour'
         FROM generate_series(1, 10000) AS i`
      )
      yield* pgRows(url, `ANALYZE ${Sql.table}`)
      const pool = yield* storePool
      const pages = yield* pool.use((connection) =>
        Effect.gen(function*() {
          yield* connection.queryValues(`PREPARE upcoming_tied (text, int4, int8, int8) AS ${Sql.upcomingSql}`)
          /** The page after `after` (a cursor; none: the first), and what reading it took. */
          const page = (after: string | undefined) =>
            Effect.gen(function*() {
              const place = after === undefined ? "NULL, NULL" : after.split(".").join(", ")
              const explained = yield* undone(connection, `EXECUTE upcoming_tied ('${queue}', 10, ${place})`)
              const listed = yield* connection.queryValues(`EXECUTE upcoming_tied ('${queue}', 10, ${place})`)
              return { ...explained, listed: listed.map((row) => row[0]), cursor: listed.at(-1)?.[3] as string }
            })
          const first = yield* page(undefined)
          // Deep in the tie: after the 5,000th job (its cursor made from the 10th's, moved on by seq).
          const [micros, seq] = first.cursor.split(".")
          return [first, yield* page(`${micros}.${Number(seq) + 4_990}`)]
        })
      )
      for (const [at, { buffers, listed, rows }] of pages.entries()) {
        assert.strictEqual(rows, 10)
        // In the order they were offered (the index's), not by id ("tied10" would come second).
        assert.deepStrictEqual(listed, Array.from({ length: 10 }, (_, i) => `tied${at * 5_000 + i + 1}`))
        // A few entries of the scheduled index. Ordered by anything the index does not hold (the
        // id), or with a place it cannot seek to, every tied job is read and sorted: hundreds.
        assert.isBelow(buffers, 50, `${buffers} buffers read to list 10 of 10,000 tied jobs, page ${at}`)
      }
    }))

  it.live("a purge planned once for any value reads the batch from the index of ended jobs, not the queue", () =>
    Effect.gen(function*() {
      const url = server!.url
      yield* Effect.scoped(PostgresStore.make({ url }))
      const queue = "purged"
      // 30,000 ended jobs of each state, all past their retention.
      yield* pgRows(
        url,
        `INSERT INTO ${Sql.table} (queue, id, payload, state, ended_at)
         SELECT '${queue}', state || i, '{}', state, now() - interval '1 hour'
         FROM unnest(ARRAY['completed', 'cancelled', 'buried']) AS state, generate_series(1, 30000) AS i`
      )
      yield* pgRows(url, `ANALYZE ${Sql.table}`)
      const pool = yield* storePool
      for (const state of ["completed", "cancelled", "buried"] as const) {
        const { buffers, rows } = yield* pool.use((connection) =>
          Effect.andThen(
            connection.queryValues(`PREPARE purge_${state} (text, float8, int4) AS ${Sql.purgeSql[state]}`),
            undone(connection, `EXECUTE purge_${state} ('${queue}', 0, 100)`)
          )
        )
        assert.strictEqual(rows, 1, `${state}: one row, the count`)
        // 100 rows from the index, their heap pages and their deletion: a few
        // hundred buffers. Walking the queue reads thousands.
        assert.isBelow(buffers, 1_000, `${state}: ${buffers} buffers read for a batch of 100`)
      }
    }))

  it.live("cancelWaiting planned once for any value reads its batch from the indexes of waiting jobs, not the queue", () =>
    Effect.gen(function*() {
      const url = server!.url
      yield* Effect.scoped(PostgresStore.make({ url }))
      const queue = "drained"
      // 60,000 jobs of each state: ready, waiting for their time, and ended.
      yield* pgRows(
        url,
        `INSERT INTO ${Sql.table} (queue, id, payload, state, visible_at, ended_at)
         SELECT '${queue}', state || i, '{}', state,
           CASE WHEN state = 'scheduled' THEN now() + interval '1 hour' ELSE now() END,
           CASE WHEN state = 'completed' THEN now() END
         FROM unnest(ARRAY['ready', 'scheduled', 'completed']) AS state, generate_series(1, 60000) AS i`
      )
      yield* pgRows(url, `ANALYZE ${Sql.table}`)
      const pool = yield* storePool
      const { buffers, rows } = yield* pool.use((connection) =>
        Effect.andThen(
          connection.queryValues(`PREPARE cancel_waiting (text, int4) AS ${Sql.cancelWaitingSql}`),
          undone(connection, `EXECUTE cancel_waiting ('${queue}', 100)`)
        )
      )
      assert.strictEqual(rows, 1, "one row, the count")
      // 100 rows from the index, their heap pages, and their updates (a new entry in each index of
      // the table): about a thousand buffers. Walking the queue reads its 4,000 pages and more.
      assert.isBelow(buffers, 2_000, `${buffers} buffers read for a batch of 100`)
    }))
})
