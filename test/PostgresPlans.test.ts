/**
 * How the PostgreSQL store's own sessions plan its statements, against a
 * real server: prepared statements once for any value of their parameters
 * (a generic plan), statements run unprepared (large batches) with their
 * values, and every statement keeping its index under a generic plan, the
 * purge of each ended state included.
 */
import { assert, describe, it } from "@effect/vitest"
import * as PgTypes from "@effect/sql-pg/PgTypes"
import { Duration, Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as Connection from "../src/durable/postgres/connection.ts"
import * as Runner from "../src/durable/postgres/runner.ts"
import * as Sql from "../src/durable/postgres/statements.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import { pgRows } from "./support/admin.ts"
import { type PlainServer, startPostgresServer } from "./support/servers.ts"

let server: PlainServer | undefined
beforeAll(async () => {
  server = await startPostgresServer()
}, 60_000)
afterAll(() => server?.close())

/** A runner on a pool opened as the store opens its own (`PostgresStore.make`). */
const storePool = Effect.suspend(() =>
  Effect.map(
    Effect.mapError(Connection.open(server!.url, Duration.seconds(10)), (error) => new Error(error.reason)),
    ({ pool }) => pool
  )
)

describe("PostgresStore's plans", () => {
  it.live("a store's connection plans prepared statements once (generic plans), unprepared ones with their values", () =>
    Effect.gen(function*() {
      const runner = Runner.onPool(yield* storePool)
      const mode = (prepare: boolean) =>
        Effect.map(runner.run("SHOW plan_cache_mode", [], prepare), (rows) => rows[0]![0])
      assert.strictEqual(yield* mode(true), "force_generic_plan")
      assert.strictEqual(yield* mode(false), "force_custom_plan")
      assert.strictEqual(yield* mode(true), "force_generic_plan", "put back after an unprepared statement")
    }))

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
        const plan = yield* pool.use((connection) =>
          Effect.gen(function*() {
            yield* connection.queryValues("BEGIN")
            yield* connection.queryValues(`PREPARE purge_${state} (text, float8, int4) AS ${Sql.purgeSql[state]}`)
            const rows = yield* connection.queryValues(
              `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE purge_${state} ('${queue}', 0, 100)`
            )
            const explained = rows[0]![0]
            yield* connection.queryValues("ROLLBACK")
            const json = typeof explained === "string" ? JSON.parse(explained) : explained
            return (json as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan
          })
        )
        const buffers = (plan["Shared Hit Blocks"] as number) + (plan["Shared Read Blocks"] as number)
        assert.strictEqual(plan["Actual Rows"], 1, `${state}: one row, the count`)
        // 100 rows from the index, their heap pages and their deletion: a few
        // hundred buffers. Walking the queue reads thousands.
        assert.isBelow(buffers, 1_000, `${state}: ${buffers} buffers read for a batch of 100`)
      }
    }))
})
