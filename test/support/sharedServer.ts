/**
 * One real server for a whole test file, for the tests that do not hurt it
 * (those that kill a server, or need one without the tables, start their
 * own), and fresh queue names on it.
 */
import { afterAll, beforeAll } from "vitest"
import { type PlainServer, startPostgresServer } from "./servers.ts"

/** A PostgreSQL server started before the file's tests and closed after them; read it inside a test. */
export const sharedPostgres = (): (() => PlainServer) => {
  let server: PlainServer | undefined
  beforeAll(async () => {
    server = await startPostgresServer()
  }, 60_000)
  afterAll(() => server?.close())
  return () => {
    if (server === undefined) throw new Error("the shared PostgreSQL server is read before it started")
    return server
  }
}

/** Queue names of `prefix` that no other run or process of the tests uses. */
export const queueNames = (prefix: string): (() => string) => {
  let last = 0
  return () => `${prefix}-${process.pid}-${Date.now()}-${++last}`
}
