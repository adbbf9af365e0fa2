/**
 * A `Store` on PostgreSQL: every queue in one table, `effect_worker_pool_jobs`,
 * created (idempotently) by `make`. Each operation is one statement in its own
 * transaction, so nothing is half done when a process or the server dies.
 *
 * - `offer` inserts a batch in one statement (`unnest` of arrays,
 *   `ON CONFLICT DO NOTHING`: an id already stored, in any state, is skipped).
 * - `claim` picks the oldest visible rows with `FOR UPDATE SKIP LOCKED` (two
 *   claimers never wait for each other nor get the same row) and leases them
 *   in the same statement, under one fresh token for the batch.
 * - The ending operations match on `(queue, id, token)`. The token is cleared
 *   whenever a lease ends, so a stale holder's call matches nothing.
 * - Completed and buried rows stay in the table (`state` says which), so
 *   `counts` is exact. Nothing purges them: delete old `completed` rows
 *   yourself if the table grows too large.
 *
 * Times are the database's clock (`now()`), never this process's, so several
 * processes with skewed clocks agree on when a lease runs out.
 *
 * Connections come from `@effect/sql-pg`'s native pool (`PgPool`), which
 * replaces dead connections on the next checkout: while the server is down
 * each operation fails with a `StoreError`, and once it is back they succeed
 * again with the same store.
 */
import * as PgPool from "@effect/sql-pg/PgPool"
import * as PgTypes from "@effect/sql-pg/PgTypes"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { SqlError } from "effect/sql/SqlError"
import { randomUUID } from "node:crypto"
import type { Buried, Claimed, Counts, Lease, Offered, Store } from "./Store.ts"
import { StoreError } from "./Store.ts"

/** How to reach the server. */
export interface Options {
  /** `postgres://user:password@host:port/database`, libpq style (`?sslmode=require`...). */
  readonly url: string
  /**
   * How long opening a connection may take (TCP, TLS, authentication).
   * `make` fails with a `StoreError` ("connect") after this. Default 5 seconds.
   */
  readonly connectTimeout?: Duration.Input | undefined
}

/** The one table every queue shares. */
export const table = "effect_worker_pool_jobs"

/**
 * `seq` orders jobs offered in the same statement (they share `now()`), so a
 * queue is first in, first out. `visible_at` is when a ready job may be
 * claimed, or when a lease runs out.
 */
const schema = `
DO $$
BEGIN
  -- Two processes starting at once would race on the catalog
  -- ("duplicate key value violates unique constraint pg_type_typname_nsp_index"):
  -- take turns. The key is arbitrary, chosen for this table.
  PERFORM pg_advisory_xact_lock(8190573319126450177);
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
    PRIMARY KEY (queue, id)
  );
  -- What claim scans: only the rows that can still run, oldest first.
  CREATE INDEX IF NOT EXISTS ${table}_claimable
    ON ${table} (queue, visible_at, seq) WHERE state IN ('ready', 'leased');
  -- Dead letters are few; this keeps listing them from scanning the completed rows.
  CREATE INDEX IF NOT EXISTS ${table}_buried
    ON ${table} (queue, seq) WHERE state = 'buried';
END
$$`

/** Ready `$2` milliseconds from now: a fraction of a millisecond is kept. */
const fromNow = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`

const offerSql = `
INSERT INTO ${table} (queue, id, payload)
SELECT $1, job.id, job.payload::jsonb
FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS job(id, payload, n)
ORDER BY job.n
ON CONFLICT DO NOTHING`

const claimSql = `
WITH picked AS (
  SELECT id FROM ${table}
  WHERE queue = $1 AND state IN ('ready', 'leased') AND visible_at <= now()
  ORDER BY visible_at, seq
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE ${table} AS job
  SET state = 'leased', attempts = job.attempts + 1, visible_at = ${fromNow("$3")}, token = $4
  FROM picked
  WHERE job.queue = $1 AND job.id = picked.id
  RETURNING job.id, job.payload, job.attempts, job.seq
)
SELECT id, payload, attempts FROM leased ORDER BY seq`

/** The rows whose lease is one of `($2[i], $3[i])`: still held, by that token. */
const heldBy = `
FROM unnest($2::text[], $3::text[]) AS lease(id, token)
WHERE job.queue = $1 AND job.id = lease.id AND job.token = lease.token`

const completeSql = `UPDATE ${table} AS job SET state = 'completed', token = NULL ${heldBy}`

const releaseSql = `
UPDATE ${table} AS job
SET state = 'ready', token = NULL, attempts = job.attempts - 1, visible_at = now() ${heldBy}`

const extendSql = `UPDATE ${table} AS job SET visible_at = ${fromNow("$4")} ${heldBy}`

const retrySql = `
UPDATE ${table}
SET state = 'ready', token = NULL, visible_at = ${fromNow("$4")}
WHERE queue = $1 AND id = $2 AND token = $3`

const burySql = `
UPDATE ${table}
SET state = 'buried', token = NULL, error = $4
WHERE queue = $1 AND id = $2 AND token = $3`

const countsSql = `SELECT state, count(*) FROM ${table} WHERE queue = $1 GROUP BY state`

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

/** `leases` as two parallel arrays, for `unnest`. */
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

/**
 * Connects to the server at `options.url` and creates the table and its
 * indexes if they are missing. Fails with a `StoreError` ("connect") when the
 * server cannot be reached within `connectTimeout`; the connections are closed
 * when the scope closes.
 */
export const make = (options: Options): Effect.Effect<Store, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const connectTimeout = Duration.fromInputUnsafe(options.connectTimeout ?? Duration.seconds(5))
    const pool = yield* PgPool.make({
      url: Redacted.make(options.url),
      connectTimeout,
      // Probes idle connections, so one that a failover or a NAT silently
      // dropped is found out and replaced rather than handed to a query.
      keepAlive: Duration.seconds(30),
      applicationName: "effect-worker-pool",
      startupParameters: { plan_cache_mode: "force_custom_plan" }
    }).pipe(Effect.mapError(storeError("connect")))

    /** Runs one statement on a pooled connection, its failure as a `StoreError`. */
    const run = (operation: string, sql: string, params: ReadonlyArray<unknown>) =>
      pool.use((connection) => connection.queryValues(sql, params)).pipe(
        Effect.mapError(storeError(operation))
      )

    // The first statement also proves the server is there. The pool's connect
    // timeout covers a server that does not answer; this one also covers a
    // server that answers but never lets us in (a full backlog, a stuck lock).
    yield* pool.use((connection) => connection.query(schema, [], false)).pipe(
      Effect.mapError(storeError("connect")),
      Effect.timeoutOrElse({
        duration: Duration.sum(connectTimeout, Duration.seconds(1)),
        orElse: () =>
          Effect.fail(
            new StoreError({ operation: "connect", reason: `no answer within ${Duration.format(connectTimeout)}` })
          )
      })
    )

    const store: Store = {
      offer: (queue, jobs: ReadonlyArray<Offered>) => {
        if (jobs.length === 0) return Effect.void
        return Effect.suspend(() => {
          const ids = new Array<string>(jobs.length)
          const payloads = new Array<string>(jobs.length)
          for (let i = 0; i < jobs.length; i++) {
            const job = jobs[i]!
            ids[i] = job.id
            let json: string | undefined
            try {
              json = JSON.stringify(job.payload)
            } catch (cause) {
              return Effect.fail(
                new StoreError({ operation: "offer", reason: `the payload of ${job.id} is not JSON: ${String(cause)}` })
              )
            }
            // `undefined` (or a function) has no JSON form: store it as null rather than fail the batch.
            payloads[i] = json ?? "null"
          }
          return Effect.asVoid(run("offer", offerSql, [queue, ids, payloads]))
        })
      },

      claim: (queue, max, lease) => {
        if (max < 1) return Effect.succeed([])
        return Effect.suspend(() => {
          // One token for the batch: a lease is named by (id, token), and a
          // job gets a new one on every claim.
          const token = randomUUID()
          return Effect.map(
            run("claim", claimSql, [queue, PgTypes.int4(Math.min(max, 2_147_483_647)), millis(lease), token]),
            (rows) =>
              rows.map((row): Claimed => ({
                id: row[0] as string,
                payload: row[1],
                attempt: row[2] as number,
                token
              }))
          )
        })
      },

      complete: (queue, leases) =>
        leases.length === 0 ? Effect.void : Effect.asVoid(run("complete", completeSql, [queue, ...leaseArrays(leases)])),

      retry: (queue, lease, delay) =>
        Effect.asVoid(run("retry", retrySql, [queue, lease.id, lease.token, millis(delay)])),

      bury: (queue, lease, error) => Effect.asVoid(run("bury", burySql, [queue, lease.id, lease.token, error])),

      release: (queue, leases) =>
        leases.length === 0 ? Effect.void : Effect.asVoid(run("release", releaseSql, [queue, ...leaseArrays(leases)])),

      extend: (queue, leases, lease) =>
        leases.length === 0
          ? Effect.void
          : Effect.asVoid(run("extend", extendSql, [queue, ...leaseArrays(leases), millis(lease)])),

      counts: (queue) =>
        Effect.map(run("counts", countsSql, [queue]), (rows) => {
          const counts = { ready: 0, leased: 0, completed: 0, buried: 0 }
          for (const [state, count] of rows) counts[state as keyof Counts] = Number(count)
          return counts
        }),

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
