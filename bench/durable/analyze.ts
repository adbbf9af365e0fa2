/**
 * `ANALYZE` on a PostgreSQL server's database, run after each run's jobs are
 * offered and before its consumers start (untimed, for every contender): the
 * planner then knows the queue, as autovacuum's statistics know a queue in
 * service. On a table analyzed before a new queue was filled, plans can be
 * orders of magnitude slower (pg-boss, and this pool's store before it used
 * `= ANY` arrays: see the notes in results-durable.md). `--no-analyze` skips it.
 */
import * as PgPool from "@effect/sql-pg/PgPool"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

export const analyze = (url: string): Promise<void> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* PgPool.make({ url: Redacted.make(url) })
    yield* pool.use((connection) => connection.queryValues("ANALYZE", []))
  })))
