/**
 * A `Store` on PostgreSQL: every queue in one table, `effect_worker_pool_jobs`,
 * created with its indexes by `make` when missing. Each operation is one
 * statement, its own transaction, so nothing is half done when a process or
 * the server dies.
 *
 * The schema has a version, recorded in `effect_worker_pool_migrations`:
 * `make` applies the numbered migrations the database lacks, once however
 * many processes connect at once, and refuses a database that a newer
 * release migrated (see `postgres/migrations.ts`). Reconnecting at the
 * newest version runs no DDL, so a role without the right to create can run
 * on a schema made for it (given the right to read the migrations table);
 * the first connection of a release that brings a migration needs the
 * rights to apply it.
 *
 * - `offer` inserts a batch in one statement (`unnest` of arrays,
 *   `ON CONFLICT DO NOTHING`: an id already stored, in any state, is skipped).
 * - `claim` picks the oldest visible rows with `FOR UPDATE SKIP LOCKED` (two
 *   claimers never wait for each other nor get the same row) and leases them
 *   in the same statement, under one fresh token for the batch.
 * - The ending operations match on `(queue, id, token)`. The token is cleared
 *   whenever a lease ends, so a stale holder's call matches nothing, and
 *   repeating a call (after a lost reply) does nothing the second time.
 * - Completed, buried and cancelled rows stay in the table until `purge`
 *   deletes them past their retention: it reads the oldest from the index of
 *   ended jobs (`queue, state, ended_at`), a bounded batch per call, skipping
 *   rows another purge holds (`FOR UPDATE SKIP LOCKED`).
 * - `cancel` moves a ready or leased row to `cancelled` and clears its token:
 *   its holder's endings match nothing, and `extend` answers it cancelled.
 * - `counts` reads `effect_worker_pool_counts`, which each statement updates
 *   as it moves jobs from state to state: a poll costs the same whether the
 *   queue holds a hundred rows or ten million. Change the jobs table only
 *   through a store, or the counts no longer match it.
 *
 * Times are the database's clock (`now()`), never this process's, so several
 * processes with skewed clocks agree on when a lease runs out.
 *
 * Connections come from `@effect/sql-pg`'s native pool (`PgPool`, used
 * directly: the statements are fixed, so `PgClient`'s SQL builder would only
 * add work). It replaces dead connections on the next checkout: while the
 * server is down each operation fails with a `StoreError`, and once it is back
 * they succeed again with the same store. Releasing the store waits at most
 * a quarter of a second for its connections to close (a server that hangs
 * would hold them): the rest close in the background.
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Checks from "../internal/options.ts"
import { PoolConfigError } from "../Pool.ts"
import * as Boundary from "./boundary.ts"
import * as Connection from "./postgres/connection.ts"
import * as Migrations from "./postgres/migrations.ts"
import * as Sql from "./postgres/statements.ts"
import { makeEngine } from "./postgres/store.ts"
import { Store, type StoreError } from "./Store.ts"

/** How to reach the server. */
export interface Options {
  /**
   * `postgres://user:password@host:port/database`, libpq style
   * (`?sslmode=require`...), as a string or `Redacted` (so that a password
   * read from `Config.Redacted` stays out of logs). Anything else is a
   * `PoolConfigError` naming `url`.
   */
  readonly url: string | Redacted.Redacted<string>
  /**
   * How long `make` tries to reach the server (again and again, for a server
   * that is still starting) before it fails with a `StoreError` ("connect");
   * also the limit of each later connection attempt. Default 5 seconds.
   */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * How long an operation waits for the server's answer before it fails with
   * a `StoreError`. A lost connection fails operations at once; this bounds
   * the wait on a server that hangs, or a network that drops packets without
   * resetting the connection. An operation that timed out may still happen
   * (every operation is safe either way: repeated, an ending does nothing the
   * second time; a lease nobody saw runs out). Default 5 seconds.
   */
  readonly commandTimeout?: Duration.Input | undefined
}


/** The one table of jobs every queue shares. */
export const table = Sql.table

/** How many jobs of each queue are in each state, kept by the statements that move them. */
export const countsTable = Sql.countsTable

/** The table of the schema's migrations applied to the database. */
export const migrationsTable = Migrations.migrationsTable

/** The options, checked. */
interface Settings {
  readonly url: string
  readonly connectTimeout: Duration.Duration
  readonly commandTimeout: Duration.Duration
}

/** Checks the options; a bad one is named, never a defect or a failed connection. */
const settings = (options: Options): Settings | PoolConfigError => {
  const checked = Checks.checked("options", (): Settings => {
    const source = Checks.record("options", options)
    const read = (key: string) => Checks.field(source, key, key)
    return {
      url: Checks.storeUrl(read("url"), ["postgres", "postgresql"]),
      connectTimeout: Checks.timeoutOption("connectTimeout", read("connectTimeout"), Duration.seconds(5)),
      commandTimeout: Checks.timeoutOption("commandTimeout", read("commandTimeout"), Duration.seconds(5))
    }
  })
  return Checks.isInvalid(checked) ? new PoolConfigError(checked) : checked
}

/**
 * Connects to the server at `options.url` and applies the schema's migrations
 * the database lacks (a new one gets the tables and indexes). Fails with a
 * `StoreError` ("connect") when the server cannot be reached within
 * `connectTimeout` (retryable), or refuses us, or is at a newer schema
 * version than this code knows (not retryable), and with a
 * `PoolConfigError` naming the option for bad options (a malformed `url`, a
 * negative timeout). The connections are closed when the scope closes.
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import * as PostgresStore from "effect-worker-pool/PostgresStore"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* PostgresStore.make({ url: "postgres://app@127.0.0.1:5432/app" })
 *   yield* store.offer("emails", [{ id: "welcome-42", payload: { to: "ada@example.com" } }])
 *   const jobs = yield* store.claim("emails", 10, Duration.seconds(30))
 *   yield* store.complete("emails", jobs)
 * }))
 * ```
 */
export const make = (options: Options): Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope> =>
  Effect.suspend((): Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope> => {
    const checked = settings(options)
    return checked instanceof PoolConfigError ? Effect.fail(checked) : connect(checked)
  })

/**
 * The store as a layer: the `Store` service, connected (and its tables
 * created) when the layer is built, closed when it is released.
 *
 * ```ts
 * import { Redacted } from "effect"
 * import * as PostgresStore from "effect-worker-pool/PostgresStore"
 *
 * const StoreLive = PostgresStore.layer({ url: Redacted.make("postgres://app@127.0.0.1:5432/app") })
 * ```
 */
export const layer = (options: Options): Layer.Layer<Store, StoreError | PoolConfigError> =>
  Layer.effect(Store, make(options))

/**
 * The store as a layer, its options read from `Config`, as `PgClient.layerConfig`
 * reads its own.
 *
 * ```ts
 * import { Config } from "effect"
 * import * as PostgresStore from "effect-worker-pool/PostgresStore"
 *
 * const StoreLive = PostgresStore.layerConfig({ url: Config.Redacted("DATABASE_URL") })
 * ```
 */
export const layerConfig = (
  config: Config.Wrap<Options>
): Layer.Layer<Store, StoreError | PoolConfigError | Config.ConfigError> =>
  Layer.effect(Store, Effect.flatMap(Config.unwrap(config), make))


/**
 * Opens the pool, reaches the server within the connect deadline and brings
 * its schema to the newest version; the operations are then the engine's,
 * through the store boundary, each bounded by `commandTimeout`.
 */
const connect = ({ commandTimeout, connectTimeout, url }: Settings): Effect.Effect<Store, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const { pool, scope } = yield* Connection.open(url, connectTimeout)
    yield* Connection.reach(connectTimeout, Migrations.migrate(pool))
    return Boundary.makeStore(makeEngine(pool), { engine: "postgres", commandTimeout: { duration: commandTimeout, scope } })
  })
