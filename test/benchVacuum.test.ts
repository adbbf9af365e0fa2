/**
 * The durable benchmark's clean-up before each measurement (`cleanUp` in
 * bench/durable/run.ts): on PostgreSQL the database is vacuumed, unless
 * `--no-vacuum` said not to, so that no measurement walks the dead rows an
 * earlier run left. On a real local PostgreSQL server.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanUp } from "../bench/durable/run.ts"
import { pgRows } from "./support/admin.ts"
import { type PlainServer, startPostgresServer } from "./support/servers.ts"

let server: PlainServer

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)

afterAll(async () => {
  await server?.close()
})

const query = (sql: string) => Effect.runPromise(pgRows(server.url, sql))

/** A table whose rows were all deleted, and whether it has been vacuumed since (by hand: autovacuum counts apart). */
const tableWithDeadRows = async (name: string) => {
  await query(`CREATE TABLE ${name} AS SELECT n FROM generate_series(1, 1000) AS n`)
  await query(`DELETE FROM ${name}`)
  return async () => {
    const [[count]] = await query(`SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = '${name}'`) as any
    return Number(count) > 0
  }
}

describe("the durable bench's clean-up", () => {
  it("vacuums PostgreSQL's database before a measurement", async () => {
    const vacuumed = await tableWithDeadRows("vacuumed")
    await cleanUp("postgres", server.url, { vacuum: true })
    expect(await vacuumed()).toBe(true)
  })

  it("leaves it as it is with --no-vacuum", async () => {
    const vacuumed = await tableWithDeadRows("not_vacuumed")
    await cleanUp("postgres", server.url, { vacuum: false })
    expect(await vacuumed()).toBe(false)
  })
})
