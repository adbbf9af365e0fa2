/**
 * A process that offers a job inside a transaction of its own `PgClient`
 * and never commits it: it says `offered` on stdout once the offer has run
 * in the transaction, then waits, for a test to kill it (SIGKILL) between the
 * offer and the commit.
 *
 * Usage: node test/support/offerInTransaction.ts --url <postgres url> --queue <name> --id <job id>
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Schema } from "effect"
import { parseArgs } from "node:util"
import * as Durable from "../../src/Durable.ts"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"

/** The name its connections show in `pg_stat_activity`, for the test to find what they hold. */
const applicationName = "ewp-offer-in-transaction"

const { values } = parseArgs({ options: { url: { type: "string" }, queue: { type: "string" }, id: { type: "string" } } })
if (values.url === undefined || values.queue === undefined || values.id === undefined) {
  throw new Error("--url, --queue and --id are required")
}
const { id, queue, url } = values

const program = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const jobs = Durable.producer({ store: yield* PostgresStore.fromClient(), queue, schema: Schema.String })
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* jobs.submit("never committed", { id })
    // Written at once (stdout is a pipe): the test kills the process when it reads this.
    process.stdout.write("offered\n")
    yield* Effect.never
  }))
})

Effect.runFork(Effect.scoped(program).pipe(
  Effect.provide(Layer.orDie(PgClient.layer({ url: Redacted.make(url), applicationName })))
))
