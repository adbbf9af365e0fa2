/**
 * Servers for a test file, and looking at them behind a store's back: a
 * plain Redis client, one PostgreSQL statement on a connection of its own.
 */
import * as PgConnection from "@effect/sql-pg/PgConnection"
import { Effect, Redacted } from "effect"
import { createClient } from "redis"
import { afterAll, beforeAll } from "vitest"
import { type PlainServer, startPostgresServer, startRedisServer } from "./servers.ts"

/** A connected Redis client, closed with the scope. */
export const redisAdmin = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = createClient({ url })
      client.on("error", () => {})
      return await client.connect()
    }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Runs the statement `text` on a connection of its own; the rows, as arrays. */
export const pgRows = (url: string, text: string) =>
  Effect.scoped(Effect.flatMap(PgConnection.make({ url: Redacted.make(url) }), (connection) => connection.queryValues(text)))

let lastDatabase = 0

/**
 * A new, empty database on the PostgreSQL server whose `postgres` database
 * is at `url`, its name starting with `prefix`; its URL.
 */
export const freshDatabase = (url: string, prefix: string) =>
  Effect.gen(function*() {
    const name = `${prefix}_${process.pid}_${++lastDatabase}`
    yield* pgRows(url, `CREATE DATABASE ${name}`)
    return url.replace(/\/postgres$/, `/${name}`)
  })

/**
 * One Redis and one PostgreSQL server for a test file's tests that do not
 * harm them, started before the tests and closed after.
 */
export const sharedServers = () => {
  let redis: PlainServer | undefined
  let postgres: PlainServer | undefined
  beforeAll(async () => {
    ;[redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()])
  }, 60_000)
  afterAll(() => Promise.all([redis?.close(), postgres?.close()]))
  return { redis: () => redis!, postgres: () => postgres! }
}
