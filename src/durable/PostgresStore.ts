/**
 * A `Store` on PostgreSQL: every queue in one table, `effect_worker_pool_jobs`,
 * created with its indexes by `make` when missing. Each operation is one
 * statement, its own transaction, so nothing is half done when a process or
 * the server dies.
 *
 * - `offer` inserts a batch in one statement (`unnest` of arrays,
 *   `ON CONFLICT DO NOTHING`: an id already stored, in any state, is skipped).
 * - `claim` picks the oldest visible rows with `FOR UPDATE SKIP LOCKED` (two
 *   claimers never wait for each other nor get the same row) and leases them
 *   in the same statement, under one fresh token for the batch.
 * - The ending operations match on `(queue, id, token)`. The token is cleared
 *   whenever a lease ends, so a stale holder's call matches nothing, and
 *   repeating a call (after a lost reply) does nothing the second time.
 * - Completed and buried rows stay in the table. Nothing purges them: delete
 *   old `completed` rows yourself if the table grows too large.
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
import * as PgPool from "@effect/sql-pg/PgPool"
import * as PgTypes from "@effect/sql-pg/PgTypes"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import { isInvalid } from "../internal/options.ts"
import { PoolConfigError } from "../Pool.ts"
import * as Checks from "./options.ts"
import type { Buried, Claimed, Counts, Lease, Offered } from "./Store.ts"
import { Store, StoreError } from "./Store.ts"

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
export const table = "effect_worker_pool_jobs"

/** How many jobs of each queue are in each state, kept by the statements that move them. */
export const countsTable = "effect_worker_pool_counts"

/**
 * Rows of `countsTable` per queue. Each session adds its changes to the row
 * of its own shard (its backend pid modulo this), so that statements from
 * different connections seldom wait for each other on one counter row.
 */
const shards = 16

/**
 * The tables and indexes, created unless they exist. `seq` orders jobs
 * offered in the same statement (they share `now()`), so a queue is first in,
 * first out. `visible_at` is when a ready job may be claimed, or when a lease
 * runs out.
 *
 * Each object is looked up before it is created: `CREATE INDEX IF NOT EXISTS`
 * locks the table before it finds the index there, so a process starting
 * would wait for the running claims of the others, and stall them meanwhile.
 * The lookup also lets a role without the right to create run on a schema
 * made for it.
 */
const schema = `
DO $$
BEGIN
  -- Two processes starting at once would race on the catalog
  -- ("duplicate key value violates unique constraint pg_type_typname_nsp_index"):
  -- they take turns. The key is arbitrary, chosen for these tables.
  PERFORM pg_advisory_xact_lock(8190573319126450177);
  IF to_regclass('${table}') IS NULL THEN
    CREATE TABLE IF NOT EXISTS ${table} (
      queue text NOT NULL,
      id text NOT NULL,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      payload jsonb NOT NULL,
      state text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'leased', 'completed', 'buried')),
      attempts integer NOT NULL DEFAULT 0,
      visible_at timestamptz NOT NULL DEFAULT now(),
      token text,
      error text,
      -- The id first: no statement here reads a whole queue by this key,
      -- so the planner cannot pick that over a probe per id (see claimSql).
      PRIMARY KEY (id, queue)
    );
  END IF;
  -- What claim walks: only the rows that can still run, oldest first.
  IF to_regclass('${table}_claimable') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_claimable
      ON ${table} (queue, visible_at, seq) WHERE state IN ('ready', 'leased');
  END IF;
  -- Dead letters are few: this keeps listing them from reading the completed rows.
  IF to_regclass('${table}_buried') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_buried ON ${table} (queue, seq) WHERE state = 'buried';
  END IF;
  -- Updated in place all the time: room on each page for the new versions
  -- (heap-only updates, cleaned up without vacuum).
  IF to_regclass('${countsTable}') IS NULL THEN
    CREATE TABLE IF NOT EXISTS ${countsTable} (
      queue text NOT NULL,
      shard integer NOT NULL,
      ready bigint NOT NULL DEFAULT 0,
      leased bigint NOT NULL DEFAULT 0,
      completed bigint NOT NULL DEFAULT 0,
      buried bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (queue, shard)
    ) WITH (fillfactor = 50);
  END IF;
END
$$`

/** The time `param` milliseconds after `now()` (a `float8`: fractions of a millisecond are kept). */
const fromNow = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`

type State = "ready" | "leased" | "completed" | "buried"

/**
 * Adds to queue `$1`'s counters, in the statement that moved the jobs: one
 * job for each row of `source` (a `WITH` query) whose `filter` holds,
 * moving `from` one state (none for a new job) `to` another. Writes
 * nothing when no job moved, so an empty claim stays a read.
 */
const tally = (source: string, from: State | undefined, to: State, filter = "true") => {
  const columns = from === undefined ? [to] : [from, to]
  const deltas = from === undefined ? ["count(*)"] : ["-count(*)", "count(*)"]
  return `
INSERT INTO ${countsTable} AS counts (queue, shard, ${columns.join(", ")})
SELECT $1, pg_backend_pid() % ${shards}, ${deltas.join(", ")} FROM ${source} WHERE ${filter}
HAVING count(*) > 0
ON CONFLICT (queue, shard) DO UPDATE
SET ${columns.map((column) => `${column} = counts.${column} + excluded.${column}`).join(", ")}`
}

const offerSql = `
WITH offered AS (
  INSERT INTO ${table} (queue, id, payload)
  SELECT $1, job.id, job.payload::jsonb
  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS job(id, payload, n)
  ORDER BY job.n
  ON CONFLICT DO NOTHING
  RETURNING 1
)
${tally("offered", undefined, "ready")}`

/**
 * Leases the jobs, first in first out, and returns them in that order. Each
 * lease gets its own token, the claim's (fresh) followed by the job's `seq`,
 * so that a token alone names one lease. A lease that ran out is leased
 * again: only the jobs that were ready move in the counts.
 *
 * The picked ids reach the `UPDATE` as an array (`= ANY`), not a join, and
 * the primary key starts with the id: the only plan is a probe of the key per
 * job. A join, or a key starting with the queue, would leave the planner a
 * choice, and its guess of a queue's size is often wrong (a new queue, or
 * statistics from when it was small): it would read the whole queue per
 * statement, or once per job.
 */
const claimSql = `
WITH picked AS (
  SELECT id, state FROM ${table}
  WHERE queue = $1 AND state IN ('ready', 'leased') AND visible_at <= now()
  ORDER BY visible_at, seq
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE ${table}
  SET state = 'leased', attempts = attempts + 1, visible_at = ${fromNow("$3")}, token = $4 || seq
  WHERE queue = $1 AND id = ANY(ARRAY(SELECT id FROM picked))
  RETURNING id, payload, attempts, token, seq
), counted AS (${tally("picked", "ready", "leased", "state = 'ready'")}
)
SELECT id, payload, attempts, token FROM leased ORDER BY seq`

/**
 * The leased jobs among `$2` (ids) whose lease is one of `$3` (tokens): a
 * token names one lease of one job, so the two need not be paired. These
 * statements are planned with their values (see `unprepared`), so the
 * tokens are looked up in a hash table and the ids in the primary key.
 */
const heldBy = "WHERE queue = $1 AND id = ANY($2::text[]) AND token = ANY($3::text[])"

/** Ends the leases `$2`/`$3` that are still held (a job has a token only while leased), with `set`. */
const endLeases = (to: State, set: string) => `
WITH ended AS (
  UPDATE ${table}
  SET state = '${to}', token = NULL${set}
  ${heldBy}
  RETURNING 1
)
${tally("ended", "leased", to)}`

const completeSql = endLeases("completed", "")

const releaseSql = endLeases("ready", ", attempts = attempts - 1, visible_at = now()")

const extendSql = `UPDATE ${table} SET visible_at = ${fromNow("$4")} ${heldBy}`

/** Ends the lease `$2`/`$3` if it is still held, with `set`. */
const endLease = (to: State, set: string) => `
WITH ended AS (
  UPDATE ${table}
  SET state = '${to}', token = NULL, ${set}
  WHERE queue = $1 AND id = $2 AND token = $3
  RETURNING 1
)
${tally("ended", "leased", to)}`

const retrySql = endLease("ready", `visible_at = ${fromNow("$4")}`)

const burySql = endLease("buried", "error = $4")

const countsSql = `
SELECT coalesce(sum(ready), 0)::float8, coalesce(sum(leased), 0)::float8,
  coalesce(sum(completed), 0)::float8, coalesce(sum(buried), 0)::float8
FROM ${countsTable} WHERE queue = $1`

const buriedSql = `
SELECT id, payload, attempts, error FROM ${table}
WHERE queue = $1 AND state = 'buried'
ORDER BY seq
LIMIT $2`

/**
 * Milliseconds as a `float8` parameter, so each statement has one parameter
 * type whatever the duration (a JS number would bind as `int4`, `int8` or
 * `float8` and prepare three statements). An infinite duration becomes a
 * thousand years: `now() + infinity` is out of range for PostgreSQL.
 */
const millis = (duration: Duration.Duration) =>
  PgTypes.float8(Math.max(0, Math.min(Duration.toMillis(duration), 1000 * 365.25 * 24 * 3600 * 1000)))

/**
 * Text PostgreSQL cannot store: the NUL character, which neither `text` nor
 * `jsonb` holds, and half of a UTF-16 surrogate pair, which `jsonb` refuses
 * and `text` would turn into U+FFFD (an id that no longer matches). The
 * server would refuse the whole batch, or change it silently; found before
 * sending, the error names the job and says why.
 */
const NUL = "\u0000"
const nulReason = "the NUL character (\\u0000)"
const surrogateReason = "half of a UTF-16 surrogate pair"
const cannotStore = "which PostgreSQL cannot store"

/** Why PostgreSQL cannot store `text`, if it cannot. */
const unstorableText = (text: string): string | undefined =>
  text.includes(NUL) ? nulReason : /\p{Cs}/u.test(text) ? surrogateReason : undefined

/**
 * Why PostgreSQL cannot store JSON text, if it cannot. `JSON.stringify`
 * writes both as escapes: `\u0000`, and `\ud800` to `\udfff` (a whole pair
 * it writes as is). An escape counts after an even number of backslashes;
 * after an odd number it is a backslash and then plain text.
 */
const unstorableJson = (json: string): string | undefined => {
  if (!json.includes("\\u")) return undefined
  const escape = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/.exec(json)
  return escape === null ? undefined : escape[1] === "0000" ? nulReason : surrogateReason
}

/**
 * Up to this many leases, an ending statement runs prepared (planned once
 * per connection, with a plan that compares each row's token to each of the
 * batch's); above, it is planned with its values, which costs a parse and a
 * plan but hashes the tokens: a batch of thousands (an acknowledger that fell
 * behind) stays linear.
 */
const preparedBatch = 32

/** `leases` as two arrays, ids and tokens. */
const leaseArrays = (leases: ReadonlyArray<Lease>): [Array<string>, Array<string>] => {
  const ids = new Array<string>(leases.length)
  const tokens = new Array<string>(leases.length)
  for (let i = 0; i < leases.length; i++) {
    ids[i] = leases[i]!.id
    tokens[i] = leases[i]!.token
  }
  return [ids, tokens]
}

/**
 * The driver's message says what it was doing ("PgConnection: Query failed");
 * its cause says what went wrong (the server's message, `ECONNREFUSED`...).
 * A `StoreError` carries both.
 */
const storeError = (operation: string) => (error: SqlError): StoreError => {
  const cause = error.reason.cause
  const detail = cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)
  return new StoreError({
    operation,
    reason: detail === "" || error.message.includes(detail) ? error.message : `${error.message}: ${detail}`
  })
}

/** Between two attempts to reach a server at `make`. */
const retryConnectEvery = Duration.millis(100)

/**
 * Whether reaching the server may work if tried again: the connection failed
 * (refused, reset, timed out), or the server is starting, stopping or
 * recovering (57P03), or has no connection to spare (53300).
 */
const isTransient = (error: SqlError): boolean => {
  if (error.reason._tag === "ConnectionError") return true
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return code === "57P03" || code === "53300"
}

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
  return isInvalid(checked) ? new PoolConfigError(checked) : checked
}

/**
 * Connects to the server at `options.url` and creates the tables and indexes
 * that are missing. Fails with a `StoreError` ("connect") when the server
 * cannot be reached within `connectTimeout`, or refuses us, and with a
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
 * How long releasing the store waits for its connections to close. Closing
 * needs no answer from a server that is up, so it is quick; from one that
 * hangs, it would wait for statements being cancelled (the cancel request
 * waits as long as `connectTimeout`). Past this, they close in the
 * background, and releasing the store does not hold up a process that exits.
 */
const closeGrace = Duration.millis(250)

/** Closes `scope`, waiting for it at most `grace`; what is left finishes in the background. */
const closeWithin = (scope: Scope.Closeable, grace: Duration.Duration): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.forkDetach(Scope.close(scope, Exit.void)),
    (closing) => Effect.asVoid(Effect.timeoutOption(Fiber.await(closing), grace))
  )

const connect = ({ commandTimeout, connectTimeout, url }: Settings): Effect.Effect<Store, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    // The connections, and the statements that run on them, live in a scope
    // of the store's own, released with the caller's within `closeGrace`.
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => closeWithin(scope, closeGrace))
    const pool = yield* Scope.provide(scope)(PgPool.make({
      url: Redacted.make(url),
      connectTimeout,
      // Probes idle connections, so one that a failover or a NAT silently
      // dropped is found out and replaced rather than handed to a query.
      keepAlive: Duration.seconds(30),
      applicationName: "effect-worker-pool",
      // A claim must walk the claimable index in order and stop after `max`
      // rows. But a queue's name is often a value the statistics have not
      // seen (a new queue, or a table analyzed when it was small): guessing
      // a handful of rows, the planner would rather collect the whole queue
      // (a bitmap or sequential scan) and sort it, measured at 10-20 ms a
      // claim instead of 1, and a connection keeps a cached plan for as long
      // as it lives. For this pool's sessions only, those plans are off.
      startupParameters: {
        enable_seqscan: "off",
        enable_bitmapscan: "off"
      }
    })).pipe(Effect.mapError(storeError("connect")))

    /**
     * Runs one statement on a pooled connection, its failure as a `StoreError`,
     * and fails after `commandTimeout` without waiting for the statement to
     * give up: an interrupted statement sends a cancel request and drains its
     * connection, which takes seconds on a server that does not answer. It
     * does so in the background, in the store's scope.
     */
    const run = (operation: string, sql: string, params: ReadonlyArray<unknown>, prepare = true) =>
      Effect.flatMap(
        Effect.forkIn(
          Effect.mapError(
            pool.use((connection) => connection.queryValues(sql, params, prepare)),
            storeError(operation)
          ),
          scope
        ),
        (fiber) =>
          Fiber.join(fiber).pipe(
            Effect.timeoutOrElse({
              duration: commandTimeout,
              orElse: () =>
                Effect.andThen(
                  Effect.forkIn(Fiber.interrupt(fiber), scope),
                  Effect.fail(new StoreError({ operation, reason: `no answer within ${Duration.format(commandTimeout)}` }))
                )
            }),
            Effect.onInterrupt(() => Effect.forkIn(Fiber.interrupt(fiber), scope))
          )
      )

    // The first statement also proves the server is there. A server that is
    // still starting, or not listening yet, is tried again until the deadline;
    // one that refuses us (a password, a right) fails at once.
    let lastError: SqlError | undefined
    yield* pool.use((connection) => connection.query(schema, [], false)).pipe(
      Effect.tapError((error) => Effect.sync(() => lastError = error)),
      Effect.retry({ schedule: Schedule.spaced(retryConnectEvery), while: isTransient }),
      Effect.mapError(storeError("connect")),
      Effect.timeoutOrElse({
        duration: connectTimeout,
        orElse: () =>
          Effect.fail(
            new StoreError({
              operation: "connect",
              reason: `no answer within ${Duration.format(connectTimeout)}` +
                (lastError === undefined ? "" : ` (last: ${storeError("connect")(lastError).reason})`)
            })
          )
      })
    )

    const refuse = (reason: string) => Effect.fail(new StoreError({ operation: "offer", reason }))

    const store: Store = {
      offer: (queue, jobs: ReadonlyArray<Offered>) => {
        if (jobs.length === 0) return Effect.void
        const refused = Checks.nonStringId(jobs)
        if (refused !== undefined) return Effect.fail(new StoreError({ operation: "offer", reason: refused }))
        return Effect.suspend(() => {
          const ids = new Array<string>(jobs.length)
          const payloads = new Array<string>(jobs.length)
          for (let i = 0; i < jobs.length; i++) {
            const job = jobs[i]!
            const badId = unstorableText(job.id)
            if (badId !== undefined) return refuse(`the id ${JSON.stringify(job.id)} contains ${badId}, ${cannotStore}`)
            ids[i] = job.id
            let json: string | undefined
            try {
              json = JSON.stringify(job.payload)
            } catch (cause) {
              return refuse(`the payload of ${job.id} is not JSON: ${String(cause)}`)
            }
            const badPayload = json === undefined ? undefined : unstorableJson(json)
            if (badPayload !== undefined) {
              return refuse(`the payload of ${job.id} contains ${badPayload}, ${cannotStore}`)
            }
            // `undefined` (or a function) has no JSON form: store it as null rather than fail the batch.
            payloads[i] = json ?? "null"
          }
          return Effect.asVoid(run("offer", offerSql, [queue, ids, payloads]))
        })
      },

      claim: (queue, max, lease) => {
        if (max < 1) return Effect.succeed([])
        return Effect.suspend(() =>
          Effect.map(
            run("claim", claimSql, [queue, PgTypes.int4(Math.min(max, 2_147_483_647)), millis(lease), `${randomUUID()}/`]),
            (rows) =>
              rows.map((row): Claimed => ({
                id: row[0] as string,
                payload: row[1],
                attempt: row[2] as number,
                token: row[3] as string
              }))
          )
        )
      },

      complete: (queue, leases) =>
        leases.length === 0 ? Effect.void : Effect.asVoid(
          run("complete", completeSql, [queue, ...leaseArrays(leases)], leases.length <= preparedBatch)
        ),

      retry: (queue, lease, delay) =>
        Effect.asVoid(run("retry", retrySql, [queue, lease.id, lease.token, millis(delay)])),

      // The error is the handler's text: kept with its NUL shown, since a
      // refused burial would bring the job back for ever.
      bury: (queue, lease, error) =>
        Effect.asVoid(run("bury", burySql, [queue, lease.id, lease.token, error.replaceAll(NUL, "\\u0000")])),

      release: (queue, leases) =>
        leases.length === 0 ? Effect.void : Effect.asVoid(
          run("release", releaseSql, [queue, ...leaseArrays(leases)], leases.length <= preparedBatch)
        ),

      extend: (queue, leases, lease) =>
        leases.length === 0
          ? Effect.void
          : Effect.asVoid(
            run("extend", extendSql, [queue, ...leaseArrays(leases), millis(lease)], leases.length <= preparedBatch)
          ),

      counts: (queue) =>
        Effect.map(run("counts", countsSql, [queue]), ([row]): Counts => ({
          ready: row![0] as number,
          leased: row![1] as number,
          completed: row![2] as number,
          buried: row![3] as number
        })),

      buried: (queue, limit) =>
        limit < 1 ? Effect.succeed([]) : Effect.map(
          run("buried", buriedSql, [queue, PgTypes.int4(Math.min(limit, 2_147_483_647))]),
          (rows) =>
            rows.map((row): Buried => ({
              id: row[0] as string,
              payload: row[1],
              attempts: row[2] as number,
              error: row[3] as string
            }))
        )
    }
    return store
  })
