/**
 * `ANALYZE` on a PostgreSQL server's database: gives the planner statistics
 * on every table, as autovacuum does on its own within a minute of the churn
 * this benchmark makes. Run after the warm-ups, so that the timed runs see
 * the plans a server in service would choose, not those of tables it never
 * analyzed (which can differ by orders of magnitude).
 */
import * as PgPool from "@effect/sql-pg/PgPool"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

export const analyze = (url: string): Promise<void> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* PgPool.make({ url: Redacted.make(url) })
    yield* pool.use((connection) => connection.queryValues("ANALYZE", []))
  })))
