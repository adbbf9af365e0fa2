/**
 * Transactional enqueue on PostgreSQL: the README's "Jobs in the
 * application's transactions". A sign-up writes the user and offers the
 * welcome email in one transaction of the application's own `PgClient`:
 * both happen, or neither does.
 *
 * Ada signs up, then signs up again. The second sign-up offers its welcome
 * email first and then fails to insert the user (the email is taken): the
 * transaction rolls back, and the email job with it. The durable pool, on
 * the same client's pool of connections, sends one welcome email.
 *
 *   DATABASE_URL=postgres://app@127.0.0.1:5432/app npx node examples/transactional-enqueue.ts
 *
 * It creates a table of its own, `example_users`, and drops it at the end.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Config, Console, Context, Deferred, Effect, Layer, Schema } from "effect"
import { Durable } from "../src/index.ts" // in an application: from "effect-worker-pool"
import * as PostgresStore from "../src/durable/PostgresStore.ts" // from "effect-worker-pool/PostgresStore"

/**
 * Set to the address once the welcome email was sent: the example prints it
 * after its own line about the sign-up, whichever of the two comes first
 * (the job may run before the line that follows the commit is printed).
 */
class Sent extends Context.Service<Sent, Deferred.Deferred<string>>()("example/Sent") {}

class WelcomeEmails extends Context.Service<WelcomeEmails, Durable.DurablePool<string, void, never>>()(
  "example/WelcomeEmails"
) {}

// The application's connections; the store opens a few of its own beside them.
const SqlLive = PgClient.layerConfig({ url: Config.Redacted("DATABASE_URL") })

// The store on that client: a submit inside `sql.withTransaction` is part of the transaction.
const StoreLive = PostgresStore.layerClient()

const WelcomeEmailsLive = Durable.layer(WelcomeEmails, {
  queue: "welcome-emails",
  schema: Schema.String,
  workers: 2,
  pollInterval: "50 millis",
  // Sending the email, in this example, is telling the program it was sent.
  handler: (job) => Effect.flatMap(Sent, (sent) => Deferred.succeed(sent, job.payload))
})

/** Writes the user and offers the welcome email: both, or neither. */
const signUp = (email: string) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const emails = yield* WelcomeEmails
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* emails.submit(email)
      yield* sql`INSERT INTO example_users (email) VALUES (${email})`
    }))
  })

const program = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const emails = yield* WelcomeEmails
  // The queue outlives a run: count what this run stores.
  const stored = Effect.map(emails.counts, (counts) => counts.ready + counts.leased + counts.completed)
  const before = yield* stored
  yield* signUp("ada@example.com")
  yield* Console.log("signed up ada@example.com")
  yield* Console.log(`sent the welcome email to ${yield* Deferred.await(yield* Sent)}`)
  const again = yield* Effect.flip(signUp("ada@example.com"))
  yield* Console.log(`signing up ada@example.com again failed (${again._tag}): rolled back, its email job too`)
  const users = yield* sql<{ readonly email: string }>`SELECT email FROM example_users`
  yield* Console.log(`users: ${users.map((user) => user.email).join(", ")}`)
  // Every state a job can be in here: the one sent may not be acknowledged yet (leased) or may be (completed).
  yield* Console.log(`welcome email jobs stored by this run: ${(yield* stored) - before}`)
})

// The table exists before the pool starts, and is dropped after it stopped.
const UsersTable = Layer.effectDiscard(Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  yield* Effect.acquireRelease(
    sql`CREATE TABLE example_users (email text PRIMARY KEY)`,
    () => Effect.ignore(sql`DROP TABLE example_users`)
  )
}))

const AppLive = WelcomeEmailsLive.pipe(
  Layer.provideMerge(StoreLive),
  Layer.provideMerge(Layer.effect(Sent, Deferred.make<string>())),
  Layer.provideMerge(UsersTable),
  Layer.provideMerge(SqlLive)
)

NodeRuntime.runMain(Effect.provide(program, AppLive))
