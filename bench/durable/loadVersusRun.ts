/**
 * One run of `loadVersus.ts`: our PostgreSQL contender from the checkout
 * `tree` under a steady load of `rate` jobs per second for 4 s (`measureLoad`,
 * after 5,000 warm-up jobs and a `VACUUM`), printed as one line.
 *
 *   node bench/durable/loadVersusRun.ts <url> <checkout> <rate>
 */
import * as Effect from "effect/Effect"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { pgRows } from "../../test/support/admin.ts"

const [url, tree, rate] = process.argv.slice(2) as [string, string, string]
const { measureLoad } = await import(pathToFileURL(join(tree, "bench/durable/load.ts")).href)
const { poolPostgres } = await import(pathToFileURL(join(tree, "bench/durable/contenders/poolPostgres.ts")).href)
await Effect.runPromise(pgRows(url, "VACUUM"))
const run = await measureLoad(poolPostgres, url, Number(rate), 4, 5_000)
process.stdout.write(
  `p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, max ${run.max.toFixed(1)} ms, offered at ${Math.round(run.achievedRate)} jobs/s\n`
)
process.exit(0)
