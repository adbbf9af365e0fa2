/**
 * `node bench/durable/statements.ts [contender words] [--jobs N] [--consumers N]`: where a
 * PostgreSQL contender's server time goes. Starts a PostgreSQL server with
 * pg_stat_statements loaded, runs one throughput run (one consumer, or N) of ours
 * and of each PostgreSQL contender whose name contains one of the words
 * (default: graphile), each after resetting the statistics, and prints each
 * run's statements by total execution time: calls, rows, mean and total
 * milliseconds, and the server's total per job. A tool for looking, not part
 * of the benchmark's results.
 */
import * as Effect from "effect/Effect"
import { parseArgs } from "node:util"
import { pgRows } from "../../test/support/admin.ts"
import { startPostgresServer } from "../../test/support/servers.ts"
import { durableContenders, selected } from "./contenders/index.ts"
import { measureRun } from "./measure.ts"

const { values, positionals } = parseArgs({
  options: { jobs: { type: "string", default: "20000" }, consumers: { type: "string", default: "1" } },
  allowPositionals: true
})

const query = (url: string, sql: string) => Effect.runPromise(pgRows(url, sql))

const jobs = Number(values.jobs)
const consumers = Number(values.consumers)
if (!Number.isInteger(consumers) || consumers < 1) throw new Error(`--consumers: a whole number from 1, got ${values.consumers}`)
const server = await startPostgresServer({
  settings: { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all" }
})
try {
  await query(server.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
  const contenders = durableContenders.filter((contender) =>
    contender.engine === "postgres" && selected(positionals.join(",") || "graphile", contender.name, contender.ours)
  )
  // One untimed run each first: the tables, the first plans.
  for (const contender of contenders) await measureRun(contender, server.url, Math.min(jobs, 2_000), 1)
  for (const contender of contenders) {
    const n = Math.min(jobs, contender.maxJobs ?? jobs)
    await query(server.url, "SELECT pg_stat_statements_reset()")
    const run = await measureRun(contender, server.url, n, consumers)
    const rows = await query(
      server.url,
      "SELECT calls, rows, round(mean_exec_time::numeric, 3), round(total_exec_time::numeric, 1), " +
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements " +
        "WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 12"
    )
    const total = rows.reduce((sum, row) => sum + Number(row[3]), 0)
    process.stdout.write(
      `\n${contender.name}: ${n} jobs (offer and consume), ${consumers} consumer(s), ${Math.round(run.jobsPerSecond)} jobs/s consumed; ` +
        `top statements' execution ${total.toFixed(0)} ms, ${(total / n * 1000).toFixed(1)} µs per job\n` +
        "calls | rows | mean ms | total ms | statement\n" +
        rows.map((row) => row.join(" | ")).join("\n") + "\n"
    )
  }
} finally {
  await server.close()
}
process.exit(0)
