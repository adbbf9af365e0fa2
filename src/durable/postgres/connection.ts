/**
 * The PostgreSQL store's connections: `@effect/sql-pg`'s native pool in a
 * scope of the store's own (released within a grace, so that a server that
 * hangs does not hold up the release), and reaching the server at `make`,
 * tried again while the failure may pass, until the connect deadline.
 *
 * Internal: not an entry point of the package.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import * as PgPool from "@effect/sql-pg/PgPool"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import { StoreError } from "../Store.ts"
import { isRetryableAtStart, storeError } from "./errors.ts"

/**
 * How long releasing the store waits for its connections to close. Closing
 * needs no answer from a server that is up, so it is quick; from one that
 * hangs, it would wait for statements being cancelled (the cancel request
 * waits as long as `connectTimeout`). Past this, they close in the
 * background, and releasing the store does not hold up a process that exits.
 */
export const closeGrace = Duration.millis(250)

/** Closes `scope`, waiting for it at most `grace`; what is left finishes in the background. */
export const closeWithin = (scope: Scope.Closeable, grace: Duration.Duration): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.forkDetach(Scope.close(scope, Exit.void)),
    (closing) => Effect.asVoid(Effect.timeoutOption(Fiber.await(closing), grace))
  )

/** A pool of connections, and the scope its connections and statements live in. */
export interface Connections {
  readonly pool: PgPool.PgPool
  readonly scope: Scope.Scope
}

/**
 * How the store's own sessions plan, sent in each connection's startup
 * packet. A claim must walk its indexes in order and stop after `max` rows,
 * and take the rows it picked by their place (`claimSql`). But a queue's
 * name is often a value the statistics have not seen (a new queue, or a
 * table analyzed when it was small), and a table planned while it was
 * small or empty looks cheaper to read whole than by ten places: the
 * planner would rather collect the whole queue (a bitmap or sequential
 * scan) and sort it, measured at 10-20 ms a claim instead of 1, and a
 * connection keeps a cached plan for as long as it lives (until the table
 * is next analyzed). For these sessions only, those plans are off.
 */
const planning: Readonly<Record<string, string>> = {
  enable_seqscan: "off",
  enable_bitmapscan: "off",
  // Each prepared statement is planned once per connection, not at every
  // call: planning a claim cost more than running it (0.36 ms against 0.32
  // on a queue of 10,000 ready jobs). Every statement of `statements.ts`
  // keeps its indexes under a plan made for any value of its parameters
  // (checked with EXPLAIN on a queue of 100,000 jobs): none compares a
  // partial index's column to a parameter, and the ending statements look
  // their batch's tokens up by binary search under any plan (`holds` in
  // `statements.ts`).
  plan_cache_mode: "force_generic_plan"
}

/**
 * Probes idle connections, so one that a failover or a NAT silently dropped
 * is found out and replaced rather than handed to a query.
 */
const keepAlive = Duration.seconds(30)

/** `PgPool`'s own default, the most connections a pool of the store's own opens. */
const maxConnections = 10

/**
 * Opens a pool of `config` (no connection is made yet). The connections,
 * and the statements that run on them, live in a scope of the store's own,
 * released with the caller's within `closeGrace`.
 */
const openPool = (config: PgPool.Config): Effect.Effect<Connections, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => closeWithin(scope, closeGrace))
    const pool = yield* Scope.provide(scope)(PgPool.make(config)).pipe(Effect.mapError(storeError("connect")))
    return { pool, scope }
  })

/** `config` with the store's `planning` settings in its startup parameters. */
const planned = (config: PgPool.Config): PgPool.Config => ({
  ...config,
  startupParameters: { ...config.startupParameters, ...planning }
})

/** The settings of the store's own pool on the server at `url`. */
export const poolConfig = (url: string, connectTimeout: Duration.Duration): PgPool.Config =>
  planned({
    url: Redacted.make(url),
    connectTimeout,
    maxConnections,
    keepAlive,
    applicationName: "effect-worker-pool"
  })

/** Opens the store's pool on the server at `url` (`PostgresStore.make`). */
export const open = (url: string, connectTimeout: Duration.Duration): Effect.Effect<Connections, StoreError, Scope.Scope> =>
  openPool(poolConfig(url, connectTimeout))

/** Stands in for the socket of `unusable`'s connection, which is never opened. */
class NotConnecting extends Error {}

/**
 * Why the driver cannot use `config`, or `undefined` if it can: a URL it
 * cannot read (an `sslmode` it does not know, a `connect_timeout` or a
 * `port` parameter that is not a number, a bad percent-escape in the user,
 * password or database) or settings it refuses (a NUL in a startup
 * parameter, no user at all). The driver finds these only as it opens a
 * connection, each time, as a connection error: `make` would try again
 * until `connectTimeout` for what can never pass.
 *
 * Asked of the driver itself (its URL parser is not exported), with no
 * connection: it reads the settings first, then opens its socket through
 * `stream`, here a function that throws before anything is sent. Settings
 * it reads reach that function; settings it refuses fail before it.
 */
export const unusable = (config: PgConnection.Config): Effect.Effect<string | undefined> =>
  Effect.suspend(() => {
    let read = false
    const probe: PgConnection.Config = {
      ...config,
      stream: () => {
        read = true
        throw new NotConnecting()
      }
    }
    return PgConnection.make(probe).pipe(
      Effect.scoped,
      Effect.match({
        onFailure: (error) => read ? undefined : error.message.replace(/^PgConnection: /, ""),
        // Never: the stream throws. Had it connected, it is closed with the scope.
        onSuccess: () => undefined
      })
    )
  })

/**
 * The settings of a listener's connection to `url` (`listenUrl`): the URL as
 * given, with the connect deadline and keep-alive of the store's own
 * connections, and their name unless the URL names its own.
 */
export const listenerConfig = (url: string, connectTimeout: Duration.Duration): PgPool.Config => ({
  url: Redacted.make(url),
  connectTimeout,
  keepAlive,
  ...(new URL(url).searchParams.has("application_name") ? {} : { applicationName: "effect-worker-pool" })
})

/**
 * Opens a pool of the store's own beside the application's `client`
 * (`PostgresStore.fromClient`), made with the client's settings (its server,
 * credentials, TLS and name), at most 10 connections and no more than the
 * client's `maxConnections` when it sets one: the client's sessions plan as
 * the application sets them, and there a claim planned while the queue was
 * empty read the whole table once the queue had grown.
 */
export const openBeside = (
  client: PgClient.PgClient,
  connectTimeout: Duration.Duration
): Effect.Effect<Connections, StoreError, Scope.Scope> => {
  const config: PgPool.Config = client.config
  const own: PgPool.Config = {
    ...config,
    connectTimeout,
    maxConnections: Math.min(config.maxConnections ?? maxConnections, maxConnections),
    // Opened as statements need them, and closed once idle as the client's: a
    // process that offers only in transactions keeps none past its start.
    minConnections: 0,
    keepAlive: config.keepAlive ?? keepAlive
  }
  // A client that prepares nothing (as behind a transaction pooler, which
  // refuses startup parameters it does not know and would not keep session
  // settings) has each statement planned at each call, on the queue as it
  // is: its sessions are opened as the client's, without `planning`.
  return openPool(config.prepare === false ? own : planned(own))
}

/** Between two attempts to reach a server at `make`. */
const retryConnectEvery = Duration.millis(100)

/**
 * Runs `first`, the first statements of a store (they also prove the server
 * is there). A server that is still starting, not listening yet or out of
 * connections, or a migration that gave up waiting for a table's lock
 * (`migrations.ts`'s `lockWait`), is tried again until `connectTimeout`;
 * one that refuses us (a password, a right, a database that does not
 * exist) fails at once, as a `StoreError` ("connect") that is not retryable.
 */
export const reach = <A, R>(
  connectTimeout: Duration.Duration,
  first: Effect.Effect<A, SqlError | StoreError, R>
): Effect.Effect<A, StoreError, R> => {
  let lastError: SqlError | StoreError | undefined
  return first.pipe(
    Effect.tapError((error) => Effect.sync(() => lastError = error)),
    Effect.retry({
      schedule: Schedule.spaced(retryConnectEvery),
      while: (error) => isSqlError(error) ? isRetryableAtStart(error) : error.retryable
    }),
    Effect.mapError((error) => isSqlError(error) ? storeError("connect")(error) : error),
    Effect.timeoutOrElse({
      duration: connectTimeout,
      orElse: () =>
        Effect.fail(
          new StoreError({
            operation: "connect",
            reason: lastError === undefined
              ? `no answer within ${Duration.format(connectTimeout)}`
              : isSqlError(lastError)
              ? `no answer within ${Duration.format(connectTimeout)} (last: ${storeError("connect")(lastError).reason})`
              : `${lastError.reason} (tried again until ${Duration.format(connectTimeout)} had passed)`
          })
        )
    })
  )
}
