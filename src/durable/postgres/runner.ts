/**
 * Where the PostgreSQL store's statements run: on the store's own pool of
 * connections (`PostgresStore.make`), or beside the application's
 * `PgClient` (`PostgresStore.fromClient`), so that an offer run inside the
 * client's `withTransaction` runs on that transaction's connection and is
 * part of it (`run`), and every other statement on the store's own pool
 * (`runOwn`). The statements, their parameters and their rows are the same
 * either way.
 *
 * Internal: not an entry point of the package.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import type * as PgPool from "@effect/sql-pg/PgPool"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { SqlError } from "effect/sql/SqlError"

/** The values of each row a statement returns, column by column. */
export type Rows = ReadonlyArray<ReadonlyArray<unknown>>

/** Runs statements, prepared (planned once per connection) or planned with their values. */
export interface Runner {
  readonly run: (sql: string, params: ReadonlyArray<unknown>, prepare: boolean) => Effect.Effect<Rows, SqlError>
  /**
   * `run`, never in the calling fiber's transaction: on the store's own
   * connections. Every statement of the store but an offer runs so
   * (`store.ts`). (`onClient`, which runs only the migrations, runs them
   * where the caller is.)
   */
  readonly runOwn: (sql: string, params: ReadonlyArray<unknown>, prepare: boolean) => Effect.Effect<Rows, SqlError>
  /**
   * Whether a statement run now is part of a transaction that outlives it
   * (the client's `withTransaction`): its locks are then held until that
   * transaction ends. Always false on the store's own pool.
   */
  readonly inTransaction: Effect.Effect<boolean>
  /**
   * The largest message this runner's driver reads from the server (one row
   * of a result is one message), in bytes.
   */
  readonly maxMessageSize: number
  /**
   * `LISTEN`s on `channel` on a connection held until the scope closes (not
   * one lent for statements: it stays checked out for as long as the pool
   * runs); a lost connection fails the queue.
   */
  readonly listen: (
    channel: string
  ) => Effect.Effect<Queue.Dequeue<PgConnection.Notification, SqlError>, SqlError, Scope.Scope>
}

/** `Runner.listen` on a connection of its own, made with `config`. */
const listenOn = (config: PgPool.Config): Runner["listen"] => (channel) =>
  Effect.flatMap(PgConnection.make(config), (connection) => connection.listen(channel))

/** `@effect/sql-pg`'s default largest message: 16 MiB. */
export const defaultMaxMessageSize = 16 * 1024 * 1024

/**
 * Statements on `pool`, each on a connection it lends for the statement,
 * planned as the pool's sessions plan them (`connection.ts`: once for any
 * value, prepared or not). The store's statements run prepared, batches of
 * any size too (see `holds` in `statements.ts`); only the migrations run
 * unprepared.
 */
export const onPool = (pool: PgPool.PgPool): Runner => {
  const run: Runner["run"] = (sql, params, prepare) => pool.use((connection) => connection.queryValues(sql, params, prepare))
  return {
    run,
    runOwn: run,
    inTransaction: Effect.succeed(false),
    maxMessageSize: pool.config.maxMessageSize ?? defaultMaxMessageSize,
    // A connection of its own, made with the pool's settings.
    listen: listenOn(pool.config)
  }
}

/**
 * Statements on `client`: on the connection of its transaction when one is
 * open in the calling fiber, else on one it lends from its pool. Rows are
 * read as values, without the client's name transforms.
 */
export const onClient = (client: PgClient.PgClient): Runner => {
  const run: Runner["run"] = (sql, params, prepare) => {
    const statement = client.unsafe(sql, params)
    return prepare ? statement.values : statement.valuesUnprepared
  }
  return {
    run,
    // Only the migrations run here (`migrateClient`), where the caller is: in its transaction, if one is open.
    runOwn: run,
    inTransaction: Effect.map(Effect.serviceOption(client.transactionService), Option.isSome),
    maxMessageSize: client.config.maxMessageSize ?? defaultMaxMessageSize,
    // A connection of its own, made with the client's settings, as on the
    // store's pool: `client.listen` would hold one of the application's
    // connections for as long as the durable pool runs (a client of one
    // connection would claim nothing), and closing the client would wait for
    // the listener's connection to come back.
    listen: listenOn(client.config)
  }
}

/**
 * Statements on the application's `client` inside its transaction (the
 * fiber's `withTransaction`: an offer is then part of it), every other on
 * `pool`, the store's own beside it (`connection.ts`'s `openBeside`): a
 * worker's claims and acknowledgements, and whatever the application runs
 * outside a transaction.
 */
export const onClientBeside = (client: PgClient.PgClient, pool: PgPool.PgPool): Runner => {
  const application = onClient(client)
  const own = onPool(pool)
  return {
    run: (sql, params, prepare) =>
      Effect.flatMap(application.inTransaction, (inside) => (inside ? application : own).run(sql, params, prepare)),
    runOwn: own.run,
    inTransaction: application.inTransaction,
    maxMessageSize: Math.min(application.maxMessageSize, own.maxMessageSize),
    listen: own.listen
  }
}

/**
 * `effect` run as if the calling fiber had no transaction of `client` open:
 * on `onClientBeside`'s runner, its statements run on the store's own pool,
 * each committed on its own, whatever transaction the caller is in.
 */
export const outsideTransaction = (client: PgClient.PgClient) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.updateContext(
    effect,
    // Only the transaction is taken out, which no effect requires.
    (context: Context.Context<R>) => Context.omit(client.transactionService)(context) as Context.Context<R>
  )

/** `runner` with its listeners on connections of `config` (`listenUrl`): its statements where they were. */
export const listeningAt = (runner: Runner, config: PgPool.Config): Runner => ({ ...runner, listen: listenOn(config) })

/** `target` as a runner: a pool becomes `onPool(target)`. */
export const runnerOf = (target: PgPool.PgPool | Runner): Runner => "run" in target ? target : onPool(target)
