/**
 * One run of `versus.ts`: our PostgreSQL contender from the checkout
 * `tree`, its `measureRun`, printed as jobs per second.
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
process.stdout.write(`${Math.round(run.jobsPerSecond)}\n`)
process.exit(0)
