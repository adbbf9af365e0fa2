/**
 * `node bench/durable/burst.ts [--jobs N] [--client]`: a burst after a quiet
 * start, on PostgreSQL, as a process meets it after a deploy. A durable pool
 * (32 workers) starts on an empty queue, runs ten jobs one at a time 300 ms
 * apart (so that its connections plan their statements on a small table),
 * then a burst of N jobs (default 100,000) is offered in batches of 1,000
 * by a producer of its own; prints how long the pool took to run them and
 * its statements' calls, mean and worst time (pg_stat_statements). No
 * `ANALYZE` is run: the plans are those made before the burst, for as long
 * as autovacuum leaves them. `--client` runs the pool on the application's
 * `PgClient` (`PostgresStore.fromClient`). A tool for looking, not part of
 * the benchmark's results.
 */
import { PgClient } from "@effect/sql-pg"
import { Deferred, Duration, Effect, Redacted, Schema } from "effect"
import { parseArgs } from "node:util"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"
import { Durable } from "../../src/index.ts"
import { pgRows } from "../../test/support/admin.ts"
import { startPostgresServer } from "../../test/support/servers.ts"

const { values } = parseArgs({
  options: { jobs: { type: "string", default: "100000" }, client: { type: "boolean", default: false } }
})
const jobs = Number(values.jobs)
const quiet = 10
const schema = Schema.Struct({ n: Schema.Number })

const server = await startPostgresServer({
  settings: { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all" }
})

const burst = Effect.scoped(Effect.gen(function*() {
  yield* pgRows(server.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
  const producer = Durable.producer({ store: yield* PostgresStore.make({ url: server.url }), queue: "burst", schema })
  const store = values.client ? yield* PostgresStore.fromClient() : yield* PostgresStore.make({ url: server.url })
  let ran = 0
  const allRan = yield* Deferred.make<void>()
  yield* Durable.make({
    store,
    queue: "burst",
    schema,
    workers: 32,
    handler: () => Effect.sync(() => void (++ran === quiet + jobs && Deferred.doneUnsafe(allRan, Effect.void)))
  })
  for (let n = 0; n < quiet; n++) {
    yield* producer.submit({ n })
    yield* Effect.sleep(Duration.millis(300))
  }
  yield* pgRows(server.url, "SELECT pg_stat_statements_reset()")
  const started = performance.now()
  for (let n = 0; n < jobs; n += 1_000) {
    yield* producer.submitAll(Array.from({ length: Math.min(1_000, jobs - n) }, (_, i) => ({ n: n + i })))
  }
  yield* Deferred.await(allRan)
  const seconds = (performance.now() - started) / 1000
  const rows = yield* pgRows(
    server.url,
    "SELECT calls, round(mean_exec_time::numeric, 2), round(max_exec_time::numeric, 1), " +
      "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_statements " +
      "WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 6"
  )
  process.stdout.write(
    `${values.client ? "fromClient" : "make"}: ${jobs} jobs after ${quiet} quiet ones, run in ${seconds.toFixed(2)} s\n` +
      "calls | mean ms | max ms | statement\n" + rows.map((row) => row.join(" | ")).join("\n") + "\n"
  )
}))

try {
  await Effect.runPromise(burst.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(server.url) }))))
} finally {
  await server.close()
}
process.exit(0)
