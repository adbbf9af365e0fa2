/**
 * One run of `versus.ts`: our PostgreSQL contender from the checkout
 * `tree`, its `measureRun`, printed as jobs per second: consumed, then
 * offered (the run's offer of its 20,000 jobs, before the consumers start).
 *
 *   node bench/durable/versusRun.ts <url> <checkout> <consumers>
 */
import * as Effect from "effect/Effect"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { pgRows } from "../../test/support/admin.ts"

const [url, tree, consumers] = process.argv.slice(2) as [string, string, string]
const { measureRun } = await import(pathToFileURL(join(tree, "bench/durable/measure.ts")).href)
const { poolPostgres } = await import(pathToFileURL(join(tree, "bench/durable/contenders/poolPostgres.ts")).href)
await Effect.runPromise(pgRows(url, "VACUUM"))
const run = await measureRun(poolPostgres, url, 20_000, Number(consumers), {
  warmUpJobs: 5_000,
  afterOffer: () => Effect.runPromise(pgRows(url, "ANALYZE"))
})
// As the benchmark's own runs: a run whose jobs the store did not all count completed gives no figure.
if (!run.verified) throw new Error(`the store counted ${run.completed} of 20,000 jobs completed`)
process.stdout.write(`${Math.round(run.jobsPerSecond)} ${Math.round(run.offerPerSecond)}\n`)
process.exit(0)
