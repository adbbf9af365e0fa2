/**
 * A `Store` on PostgreSQL: every queue in one table, `effect_worker_pool_jobs`,
 * created with its indexes by `make` when missing. Each operation is one
 * statement, its own transaction, so nothing is half done when a process or
 * the server dies.
 *
 * The schema has a version, recorded in `effect_worker_pool_migrations`:
 * `make` applies the numbered migrations the database lacks, once however
 * many processes connect at once, and refuses a database that a newer
 * release migrated, unless each newer step allows this code (see
 * `postgres/migrations.ts`). Reconnecting at the
 * newest version runs no DDL, so a role without the right to create can run
 * on a schema made for it (given the right to read the migrations table);
 * the first connection of a release that brings a migration needs the
 * rights to apply it, unless `migrate` ran first: `PostgresStore.migrate`
 * is that step, and `migrate: false` starts a store that only checks the
 * version.
 *
 * The store runs on a pool of its own (`make`, `layer`), or on the
 * application's `PgClient` (`fromClient`, `layerClient`): then an offer made
 * inside the client's `withTransaction` is part of the transaction.
 *
 * A payload is refused at `offer` above half of the driver's largest
 * message (8 MiB of JSON by default; see `postgres/limits.ts`), and a row
 * too large to deliver all the same (changed by hand) is dead-lettered by
 * the claim that meets it.
 *
 * - `offer` inserts a batch in one statement (`unnest` of arrays,
 *   `ON CONFLICT DO NOTHING`: an id already stored, in any state, is
 *   skipped). A batch of ids the producer made (`OfferOptions.newIds`),
 *   outside the client's transaction, is a plain insert first, and the
 *   statement above only if an id was stored after all.
 *   A job whose time is in the future (a `delay`, a `runAt` to come) is
 *   stored `scheduled`, the others `ready`; each keeps its `priority` and
 *   `settings` in columns of their own.
 * - A claimable job is in one of three partial indexes, each in the order a
 *   claim takes it: `_ready` (`queue, priority, visible_at, seq`: the jobs
 *   that may run now), `_scheduled` (`queue, visible_at, seq`: the jobs
 *   waiting for their time, delayed or retried with a delay) and `_leased`
 *   (`queue, visible_at`: leases, by when they run out). So a job waiting
 *   is never in the way of a claim: with a million jobs waiting and none
 *   ready, a claim is three index probes that each stop at their first row.
 * - `claim` is one statement: it reads the leases that ran out (oldest
 *   first), the best `max` ready jobs and a bounded batch of the scheduled
 *   ones whose time has come, each an index scan with a `LIMIT`, with
 *   `FOR UPDATE SKIP LOCKED` (two claimers never wait for each other nor get
 *   the same row); leases the best `max` of them under one fresh token for
 *   the batch, and moves the due ones it did not take to `ready`, where the
 *   next claims find them by priority. A scheduled job counts as ready (in
 *   `counts`, and as its state in `lookup`), so that move changes no count.
 *   A claim that locked candidates it did not take notifies the queue at
 *   its commit: a claim at the same time skipped them and may have come
 *   back short, with ready jobs left for a poll.
 * - `due` reads the first row of `_scheduled`.
 * - The ending operations match on `(queue, id, token)`, a batch's tokens
 *   as the keys of a JSON object (a binary search per row). A holder's
 *   token also says where its claim left the row (`token@ctid`): a batch
 *   ends its leases there first (a TID scan), and probes the primary key
 *   only for the ids whose rows moved since (an `extend`). The token is cleared
 *   whenever a lease ends, so a stale holder's call matches nothing, and
 *   repeating a call (after a lost reply) does nothing the second time.
 * - Completed, buried and cancelled rows stay in the table until `purge`
 *   deletes them past their retention (a completed one without its payload
 *   and settings, which nothing reads again): it reads the oldest from the index of
 *   ended jobs (`queue, state, ended_at`), a bounded batch per call, skipping
 *   rows another purge holds (`FOR UPDATE SKIP LOCKED`). A completion not to
 *   be kept (`{ keep: false }`: a pool whose `completedRetention` is zero)
 *   deletes its rows at once instead, found as the rewrite finds them.
 * - `cancel` moves a ready, scheduled or leased row to `cancelled` and
 *   clears its token: its holder's endings match nothing, and `extend`
 *   answers it cancelled.
 * - `counts` reads `effect_worker_pool_counts`, which each statement updates
 *   as it moves jobs from state to state: a poll costs the same whether the
 *   queue holds a hundred rows or ten million. Change the jobs table only
 *   through a store, or the counts no longer match it. An offer inside the
 *   application's transaction counts in a row of that transaction's own,
 *   which the maintenance's purge folds into the others once committed
 *   (until then, a poll reads one row more per such transaction): no two
 *   open transactions wait for each other on a count.
 *
 * Times are the database's clock (`now()`), never this process's, so several
 * processes with skewed clocks agree on when a lease runs out.
 *
 * Connections come from `@effect/sql-pg`'s native pool (`PgPool`, used
 * directly: the statements are fixed, so `PgClient`'s SQL builder would only
 * add work), unless the store is on the application's client. It replaces dead connections on the next checkout: while the
 * server is down each operation fails with a `StoreError`, and once it is back
 * they succeed again with the same store. Releasing the store waits at most
 * a quarter of a second for its connections to close (a server that hangs
 * would hold them): the rest close in the background.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as PgPool from "@effect/sql-pg/PgPool"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Checks from "../internal/options.ts"
import { PoolConfigError } from "../Pool.ts"
import * as Boundary from "./boundary.ts"
import * as Connection from "./postgres/connection.ts"
import * as Listener from "./postgres/listener.ts"
import { limitsOf } from "./postgres/limits.ts"
import * as Migrations from "./postgres/migrations.ts"
import * as Runner from "./postgres/runner.ts"
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
   * also the limit of each later connection attempt. Finite (`"Infinity"` is
   * a `PoolConfigError`). Default 5 seconds.
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
  /**
   * Whether `make` brings the schema to the newest version (default true).
   * With `false` it runs no DDL and needs no right to create: it only reads
   * the schema's version, and a database below the newest one fails `make`
   * with a `StoreError` ("connect", not retryable) that says to run
   * `PostgresStore.migrate` first (once per release, as a role that may).
   */
  readonly migrate?: boolean | undefined
  /**
   * Where the store's listeners connect (the connection on which an idle
   * pool hears that jobs are ready), when `url` is a pooler in transaction
   * mode (PgBouncer's, a provider's "transaction pooler"), through which no
   * `LISTEN` passes: the same database, reached directly or through a
   * pooler in session mode. Behind such a pooler without it, an idle pool
   * starts a new job only at its next poll. A string or `Redacted`, used as
   * given, with `connectTimeout`. The store's start checks that a listener
   * there hears a notification its statements send (reached within
   * `connectTimeout`, heard within as long again), and fails with a
   * `StoreError` ("connect", not retryable) if it does not. Default: the
   * statements' connection settings.
   */
  readonly listenUrl?: string | Redacted.Redacted<string> | undefined
}

/**
 * A store on the application's own `PgClient` (`fromClient`, `layerClient`):
 * the options of `make` but the URL, which is the client's. The client's
 * pool serves the store's statements too; a durable pool's listener opens a
 * connection of its own, with the client's settings, outside that pool.
 */
export interface ClientOptions {
  /**
   * How long `fromClient` tries to reach the server (again and again, for a
   * server that is still starting) before it fails. Finite (`"Infinity"` is
   * a `PoolConfigError`). Default 5 seconds.
   */
  readonly connectTimeout?: Duration.Input | undefined
  /** As `Options.commandTimeout`. Default 5 seconds. */
  readonly commandTimeout?: Duration.Input | undefined
  /** As `Options.migrate`. Default true. */
  readonly migrate?: boolean | undefined
  /** As `Options.listenUrl` (none of the client's settings apply to it). Default: the client's settings. */
  readonly listenUrl?: string | Redacted.Redacted<string> | undefined
}


/** The one table of jobs every queue shares. */
export const table = Sql.table

/** How many jobs of each queue are in each state, kept by the statements that move them. */
export const countsTable = Sql.countsTable

/** The table of the schema's migrations applied to the database. */
export const migrationsTable = Migrations.migrationsTable

/** The options of a store on a client, checked. */
interface ClientSettings {
  readonly connectTimeout: Duration.Duration
  readonly commandTimeout: Duration.Duration
  readonly migrate: boolean
  readonly listenUrl: string | undefined
}

/** The options, checked. */
interface Settings extends ClientSettings {
  readonly url: string
}

/** The listeners' URL, checked, if one is given. */
const listenUrlOf = (input: unknown): string | undefined =>
  input === undefined ? undefined : Checks.storeUrl(input, ["postgres", "postgresql"], "listenUrl")

/** Reads the options but the URL from `source`. */
const clientSettingsOf = (source: object): ClientSettings => {
  const read = (key: string) => Checks.field(source, key, key)
  return {
    connectTimeout: Checks.connectTimeoutOption(read("connectTimeout"), Duration.seconds(5)),
    commandTimeout: Checks.timeoutOption("commandTimeout", read("commandTimeout"), Duration.seconds(5)),
    migrate: Checks.must("migrate", Checks.orDefault(read("migrate"), true), Predicate.isBoolean, "a boolean"),
    listenUrl: listenUrlOf(read("listenUrl"))
  }
}

/** Checks the options; a bad one is named, never a defect or a failed connection. */
const settings = (options: Options): Settings | PoolConfigError => {
  const checked = Checks.checked("options", (): Settings => {
    const source = Checks.record("options", options)
    return {
      url: Checks.storeUrl(Checks.field(source, "url", "url"), ["postgres", "postgresql"]),
      ...clientSettingsOf(source)
    }
  })
  return Checks.isInvalid(checked) ? new PoolConfigError(checked) : checked
}

/**
 * `option`'s URL, with the settings it is used with, read by the driver
 * before any connection is tried (`Connection.unusable`): one it cannot read
 * (`?sslmode=bogus`, `?connect_timeout=abc`, a bad percent-escape) is a
 * `PoolConfigError` naming `option`, not a connection tried again until
 * `connectTimeout`.
 */
const refuseUnreadableUrl = (option: string, config: PgPool.Config): Effect.Effect<void, PoolConfigError> =>
  Effect.flatMap(Connection.unusable(config), (reason) =>
    reason === undefined
      ? Effect.void
      : Effect.fail(new PoolConfigError({ option, reason: `is refused by the PostgreSQL client: ${reason}` })))

/** The listeners' URL, if one is given, read by the driver as `refuseUnreadableUrl` says. */
const refuseUnreadableListenUrl = ({ connectTimeout, listenUrl }: ClientSettings): Effect.Effect<void, PoolConfigError> =>
  listenUrl === undefined ? Effect.void : refuseUnreadableUrl("listenUrl", Connection.listenerConfig(listenUrl, connectTimeout))

/** The URLs of `settings` (`url`, then `listenUrl`), read by the driver as `refuseUnreadableUrl` says. */
const refuseUnreadableUrls = (settings: Settings): Effect.Effect<void, PoolConfigError> =>
  Effect.andThen(refuseUnreadableUrl("url", Connection.poolConfig(settings.url, settings.connectTimeout)), refuseUnreadableListenUrl(settings))

/** Checks the options of a store on a client. */
const clientSettings = (options: ClientOptions): ClientSettings | PoolConfigError => {
  const checked = Checks.checked("options", () => clientSettingsOf(Checks.record("options", options)))
  return Checks.isInvalid(checked) ? new PoolConfigError(checked) : checked
}

/**
 * Connects to the server at `options.url` and applies the schema's migrations
 * the database lacks (a new one gets the tables and indexes). Fails with a
 * `StoreError` ("connect") when the server cannot be reached within
 * `connectTimeout` (retryable, as when a migration cannot get a table's
 * lock until then), or refuses us, or is at a newer schema version than
 * this code knows that does not allow it (not retryable), and with a
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
    return checked instanceof PoolConfigError
      ? Effect.fail(checked)
      : Effect.andThen(refuseUnreadableUrls(checked), connect(checked))
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
 * Opens the pool, then the store on it (`onRunner`).
 */
const connect = (settings: Settings): Effect.Effect<Store, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const { pool, scope } = yield* Connection.open(settings.url, settings.connectTimeout)
    return yield* onRunner(Runner.onPool(pool), settings, scope)
  })

/**
 * Reaches the server within the connect deadline and brings its schema to
 * the newest version (or, with `migrate: false`, checks that it is there);
 * with `listenUrl`, checks that a listener there hears what the statements
 * notify (`Listener.hears`); the operations are then the engine's, through
 * the store boundary, each bounded by `commandTimeout` (an operation that
 * ran out of time is interrupted in the background, in `scope`).
 */
const onRunner = (
  statements: Runner.Runner,
  { commandTimeout, connectTimeout, listenUrl, migrate }: ClientSettings,
  scope: Scope.Scope
): Effect.Effect<Store, StoreError> =>
  Effect.gen(function*() {
    yield* Connection.reach(connectTimeout, migrate ? Migrations.migrate(statements) : Migrations.verify(statements))
    let runner = statements
    if (listenUrl !== undefined) {
      runner = Runner.listeningAt(statements, Connection.listenerConfig(listenUrl, connectTimeout))
      yield* Listener.hears(runner, connectTimeout)
    }
    const limits = limitsOf(runner.maxMessageSize)
    return Boundary.makeStore(makeEngine(runner, limits), {
      engine: "postgres",
      commandTimeout: { duration: commandTimeout, scope },
      maxPayloadBytes: limits.payload
    })
  })

/**
 * The store on the application's own `PgClient`, from the context, for
 * jobs offered in the application's transactions. A `submit` (of a
 * producer, or of a durable pool) run inside the client's `withTransaction`
 * is part of that transaction: rolled back, the job was never offered;
 * committed, it is ready to run.
 *
 * Only offers join the caller's transaction. Every other statement (a
 * worker's claims and acknowledgements, a cancel, a lookup, even inside
 * `withTransaction`; an offer outside a transaction) runs on a pool of the
 * store's own, made with the client's settings (at most 10 connections and
 * no more than the client's `maxConnections` when it sets one, each opened
 * when a statement needs it), whose sessions plan as `make`'s do (unless
 * the client prepares nothing, as behind a transaction pooler: then as the
 * client's). The application's sessions plan as the application sets
 * them: there, a claim planned while the queue was empty read the whole
 * table once the queue had grown.
 *
 * It applies the schema's migrations as `make` does (or only checks the
 * version, with `migrate: false`). Fails with a `StoreError` ("connect")
 * when the server cannot be reached within `connectTimeout`, and with a
 * `PoolConfigError` naming the option for bad options.
 *
 * Built inside the client's `withTransaction`, the store sets itself up
 * outside that transaction, on its own pool: its migrations commit
 * whatever becomes of the transaction, and the `listenUrl` check hears its
 * notification at once (in the transaction, it would only be sent at the
 * commit). So the set-up does not see what the transaction has not
 * committed: a `migrateClient` in the same transaction, for one. The
 * store's operations follow the rule above, wherever it was built.
 *
 * ```ts
 * import { PgClient } from "@effect/sql-pg"
 * import { Effect, Schema } from "effect"
 * import { Durable } from "effect-worker-pool"
 * import * as PostgresStore from "effect-worker-pool/PostgresStore"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sql = yield* PgClient.PgClient
 *   const emails = Durable.producer({ store: yield* PostgresStore.fromClient(), queue: "emails", schema: Schema.String })
 *   // Both or neither: the user and the welcome email.
 *   yield* sql.withTransaction(Effect.gen(function*() {
 *     yield* sql`INSERT INTO users (email) VALUES (${"ada@example.com"})`
 *     yield* emails.submit("ada@example.com")
 *   }))
 * }))
 * ```
 */
export const fromClient = (
  options: ClientOptions = {}
): Effect.Effect<Store, StoreError | PoolConfigError, PgClient.PgClient | Scope.Scope> =>
  Effect.gen(function*() {
    const checked = clientSettings(options)
    if (checked instanceof PoolConfigError) return yield* checked
    yield* refuseUnreadableListenUrl(checked)
    // Statements that ran out of time are interrupted in a scope closed in
    // the background: an interrupted statement gives its connection back only
    // once the server answers, and a statement in the caller's transaction
    // runs on the application's connection, which the store cannot close as it
    // closes its own pool's. Closing the store must not wait for a server that
    // hangs.
    const client = yield* PgClient.PgClient
    // Outside the caller's transaction, should it build the store inside
    // one: there the migrations would be undone with it, and the
    // `listenUrl` check's notification would wait for its commit.
    return yield* Runner.outsideTransaction(client)(Effect.gen(function*() {
      const { pool } = yield* Connection.openBeside(client, checked.connectTimeout)
      return yield* onRunner(Runner.onClientBeside(client, pool), checked, yield* Boundary.closedInBackground)
    }))
  })

/**
 * `fromClient` as a layer: the `Store` service on the `PgClient` the
 * application provides (`PgClient.layer`, `PgClient.layerConfig`).
 *
 * ```ts
 * import { PgClient } from "@effect/sql-pg"
 * import { Config, Layer } from "effect"
 * import * as PostgresStore from "effect-worker-pool/PostgresStore"
 *
 * const SqlLive = PgClient.layerConfig({ url: Config.Redacted("DATABASE_URL") })
 * const StoreLive = PostgresStore.layerClient().pipe(Layer.provideMerge(SqlLive))
 * ```
 */
export const layerClient = (
  options: ClientOptions = {}
): Layer.Layer<Store, StoreError | PoolConfigError, PgClient.PgClient> => Layer.effect(Store, fromClient(options))

/**
 * Brings the database at `options.url` to the newest schema version this
 * code knows, and closes its connections: the step to run once per release
 * (a deploy step, as a role that may create tables) for stores that start
 * with `migrate: false`. Safe to run again, and at the same time as stores
 * starting: it does nothing on a database that is up to date. Fails as
 * `make` does.
 *
 * ```ts
 * import * as PostgresStore from "effect-worker-pool/PostgresStore"
 *
 * const deploy = PostgresStore.migrate({ url: "postgres://owner@127.0.0.1:5432/app" })
 * ```
 */
export const migrate = (
  options: Pick<Options, "url" | "connectTimeout">
): Effect.Effect<void, StoreError | PoolConfigError> =>
  Effect.scoped(Effect.gen(function*() {
    const checked = settings(options)
    if (checked instanceof PoolConfigError) return yield* checked
    yield* refuseUnreadableUrl("url", Connection.poolConfig(checked.url, checked.connectTimeout))
    const { pool } = yield* Connection.open(checked.url, checked.connectTimeout)
    yield* Connection.reach(checked.connectTimeout, Migrations.migrate(pool))
  }))

/**
 * `migrate` on the application's `PgClient`, from the context, within the
 * default connect timeout (5 seconds).
 */
export const migrateClient: Effect.Effect<void, StoreError, PgClient.PgClient> = Effect.gen(function*() {
  const client = yield* PgClient.PgClient
  yield* Connection.reach(Duration.seconds(5), Migrations.migrate(Runner.onClient(client)))
})
