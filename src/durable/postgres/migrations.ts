/**
 * The versions of the PostgreSQL store's schema, and how a database is
 * brought to the newest one this code knows.
 *
 * Each migration is numbered, in order, and applied once per database, in
 * the transaction that records it in `effect_worker_pool_migrations`
 * (`version`, `name`, `applied_at`). `make` first reads the newest version
 * recorded there, a plain read that takes no lock: at the newest version it
 * stops, so reconnecting runs no DDL and waits for nobody. Otherwise one
 * statement, under a transaction-scoped advisory lock (processes connecting
 * at once take turns, and the next finds the work done), creates the
 * migrations table if it is missing, reads the version again and applies
 * each migration above it, waiting at most `lockWait` for a table's lock
 * (then it tries again). A database at a version above the newest this
 * code knows was migrated by a newer release: the store refuses it rather
 * than run statements on tables it does not know, unless each step above
 * says code of this version still runs right (`compatibleFrom`, recorded
 * in `effect_worker_pool_compatible`): then it takes the database
 * as it is, so that a release whose migrations allow it can be rolled back.
 *
 * A database made before versions existed has the tables of migration 1 and
 * no migrations table: migration 1 looks each object up before creating it,
 * so on such a database it only records the version. What a step allows
 * older code is recorded once: a database that lost its migrations table
 * keeps what it had.
 *
 * Internal: not an entry point of the package.
 */
import type * as PgPool from "@effect/sql-pg/PgPool"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { SqlError } from "effect/sql/SqlError"
import { latestOf, type MigrationStep } from "../migrationStep.ts"
import { StoreError } from "../Store.ts"
import { type Runner, runnerOf } from "./runner.ts"
import { countsTable, pausedTable, table } from "./statements.ts"

/** One step of the schema. `up` is PL/pgSQL statements, run inside the migrating block. */
export type Migration = MigrationStep

/** The table of the migrations applied. */
export const migrationsTable = "effect_worker_pool_migrations"

/**
 * The table of what the steps that allow older code allow (`version`,
 * `compatible_from`). A table of its own rather than a column of the
 * migrations table: adding a column to that table, which every start reads
 * (and the application's transaction keeps read, under `migrateClient`),
 * would wait for those reads, and deadlock with a migration waiting for
 * them.
 */
export const compatibleTable = "effect_worker_pool_compatible"

/**
 * The key of the advisory lock under which a database is migrated: two
 * processes creating the tables at once would race on the catalog
 * ("duplicate key value violates unique constraint pg_type_typname_nsp_index").
 * It is the key the schema was created under before versions existed, so
 * that an older process starting at the same time takes turns with a newer
 * one. The number is arbitrary, chosen for these tables.
 */
const lockKey = "8190573319126450177"

/**
 * Migration 1: the tables and indexes. `seq` orders jobs offered in the same
 * statement (they share `now()`), so a queue is first in, first out.
 * `visible_at` is when a ready job may be claimed, or when a lease runs out.
 *
 * Each object is looked up before it is created: `CREATE INDEX IF NOT EXISTS`
 * locks the table before it finds the index there, so a process starting
 * would wait for the running claims of the others, and stall them meanwhile.
 */
const initial = `
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
  END IF;`

/**
 * Migration 2, for retention and cancelling: a `cancelled` state; `ended_at`,
 * when a job completed, was buried or cancelled; and the index `purge` reads
 * the oldest ended jobs from. The column is added with `now()` as its
 * default, which PostgreSQL stores once (no row is rewritten): the jobs
 * that ended before the upgrade start their retention with it. The default
 * is then dropped: a job gets `ended_at` when it ends.
 *
 * The new check is not validated: every row already holds one of the old
 * states, a subset, and validating would read the whole table under the
 * migration's lock. Building the index does read it, once.
 */
const retention = `
  ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_state_check;
  ALTER TABLE ${table} ADD CONSTRAINT ${table}_state_check
    CHECK (state IN ('ready', 'leased', 'completed', 'buried', 'cancelled')) NOT VALID;
  IF NOT EXISTS (
    SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attname = 'ended_at' AND NOT attisdropped
  ) THEN
    ALTER TABLE ${table} ADD COLUMN ended_at timestamptz DEFAULT now();
    ALTER TABLE ${table} ALTER COLUMN ended_at DROP DEFAULT;
  END IF;
  IF to_regclass('${table}_ended') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_ended
      ON ${table} (queue, state, ended_at) WHERE state IN ('completed', 'buried', 'cancelled');
  END IF;`

/**
 * Migration 3, for jobs with a time of their own and a priority: the
 * columns `priority` (lower runs first; 0 for every job already there, a
 * default PostgreSQL stores once) and `settings` (the job's own, unread);
 * a state `scheduled` for the jobs that wait for their time (offered with a
 * delay or a run-at in the future, retried with a delay), counted as ready
 * in the counts table; and the claim's three indexes in place of
 * `_claimable`, one per kind of row a claim takes, each walked in the order
 * it takes them (see `claimSql`):
 *
 * - `_ready`: the jobs claimable now, by priority, then time, then offer;
 * - `_scheduled`: the jobs waiting, by time, so a claim reads only the due
 *   ones and `due` the first one;
 * - `_leased`: the leases, by when they run out, so a claim reads only the
 *   ones that ran out.
 *
 * A job retried with a delay before the upgrade is a ready row with a
 * future `visible_at`: it moves to `scheduled`, so that it still runs at
 * its time (a claim of the ready index does not wait for a time) and `due`
 * counts it. The counts do not move: both states count as ready. As for
 * migration 2, the new check is not validated (every row holds one of the
 * states it allows), and the indexes are built once, under the migration's
 * lock, after the rows have moved.
 */
const schedule = `
  ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_state_check;
  ALTER TABLE ${table} ADD CONSTRAINT ${table}_state_check
    CHECK (state IN ('ready', 'scheduled', 'leased', 'completed', 'buried', 'cancelled')) NOT VALID;
  IF NOT EXISTS (
    SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attname = 'priority' AND NOT attisdropped
  ) THEN
    ALTER TABLE ${table} ADD COLUMN priority integer NOT NULL DEFAULT 0;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attname = 'settings' AND NOT attisdropped
  ) THEN
    ALTER TABLE ${table} ADD COLUMN settings text;
  END IF;
  UPDATE ${table} SET state = 'scheduled' WHERE state = 'ready' AND visible_at > now();
  IF to_regclass('${table}_ready') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_ready
      ON ${table} (queue, priority, visible_at, seq) WHERE state = 'ready';
  END IF;
  IF to_regclass('${table}_scheduled') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_scheduled
      ON ${table} (queue, visible_at, seq) WHERE state = 'scheduled';
  END IF;
  IF to_regclass('${table}_leased') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_leased
      ON ${table} (queue, visible_at) WHERE state = 'leased';
  END IF;
  DROP INDEX IF EXISTS ${table}_claimable;`

/**
 * Migration 4, for the writes of a claim and a completion: the jobs table
 * fills its pages only half on insert (`fillfactor` 50), as the counts
 * table does. A claim and a completion each write a new version of the
 * job's row (`state` changes, and indexes' conditions read it, so neither
 * is a heap-only update). On a full page the new version goes to another
 * page, which PostgreSQL also logs as a lock of the old one, and writes
 * whole; with room on the page it stays there, and only the bytes that
 * changed are logged. Measured on 20,000 jobs (pg_walinspect): 855 bytes
 * of WAL a job claimed and completed, against 688 with half-full pages
 * (a claim 475 against 388, a completion 380 against 300; the queue's
 * name is in each index entry, so a longer one writes more on both).
 *
 * The cost is room: rows inserted from now on take up to twice the pages,
 * completed jobs kept for their retention too (measured: 20,000 jobs
 * offered, claimed and completed, then vacuumed, took 1,175 pages against
 * 967). The setting only applies to
 * pages filled from now on: no row is rewritten, and changing it takes a
 * lock that does not hold up reads or writes of the table.
 */
const halfFull = `
  ALTER TABLE ${table} SET (fillfactor = 50);`

/**
 * Migration 5, for listing dead letters a page at a time: an index of the
 * dead letters in the order `buriedSql` lists them (`ended_at`, then
 * `seq`), so that a page after a cursor begins at its place and reads only
 * its rows, ties of one `ended_at` (a transaction's burials) included.
 * Older code runs right on it: its listing reads `_ended`, kept for
 * `purge`. Building it holds the table's writes up while it reads the
 * table, once. `_buried` (`queue, seq`), which no
 * statement reads any more, is left: dropping it needs the table's
 * strongest lock, waited for while this build's lock holds the writes up,
 * for an index that holds the dead letters only.
 */
const deadLetterPages = `
  IF to_regclass('${table}_dead') IS NULL THEN
    CREATE INDEX IF NOT EXISTS ${table}_dead ON ${table} (queue, ended_at, seq) WHERE state = 'buried';
  END IF;`

/**
 * Migration 6, for pausing a queue: a row per queue ever paused, saying
 * whether it is paused now, which every claim reads (`notPaused`). A row is
 * turned off rather than deleted on resume, so the application's role needs
 * no right beyond the `SELECT`, `INSERT` and `UPDATE` it has on the other
 * tables. Code of version 5 runs on it, blind to it: during a rolling
 * deploy, a process of the release before claims from a paused queue, so
 * pause once every process runs this release.
 *
 * The new table is given the rights every role has on the jobs table (its
 * owner's aside): a role granted the tables of version 5 once (`GRANT ...
 * ON ALL TABLES`, no default privileges) would otherwise be refused every
 * claim, each of which reads this table, from the moment the deploy step
 * ran: every pool on every queue would stop.
 */
const pausedQueues = `
  IF to_regclass('${pausedTable}') IS NULL THEN
    CREATE TABLE IF NOT EXISTS ${pausedTable} (
      queue text PRIMARY KEY,
      paused boolean NOT NULL,
      changed_at timestamptz NOT NULL DEFAULT now()
    );
    DECLARE
      granted record;
    BEGIN
      FOR granted IN
        SELECT acl.privilege_type, acl.grantee FROM pg_class AS jobs, aclexplode(jobs.relacl) AS acl
        WHERE jobs.oid = '${table}'::regclass AND acl.grantee <> jobs.relowner
          AND acl.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
      LOOP
        EXECUTE format('GRANT %s ON ${pausedTable} TO %s', granted.privilege_type,
          CASE WHEN granted.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(granted.grantee)) END);
      END LOOP;
    END;
  END IF;`

/** The schema's versions, oldest first. */
export const migrations: ReadonlyArray<Migration> = [
  { version: 1, name: "initial", up: initial },
  { version: 2, name: "retention", up: retention },
  { version: 3, name: "schedule", up: schedule },
  { version: 4, name: "fillfactor", up: halfFull },
  { version: 5, name: "dead letter pages", up: deadLetterPages, compatibleFrom: 4 },
  { version: 6, name: "paused queues", up: pausedQueues, compatibleFrom: 5 }
]

/**
 * How long a migration waits for a lock on a table (its DDL takes the
 * strongest) per try. While it waits, every statement on that table queues
 * behind it, the running release's claims and acknowledgements too: behind
 * a transaction that holds the table for minutes, a migration that waited
 * on would stall the whole queue with it. So it gives up after this long,
 * pauses as long again still holding the advisory lock (so that another
 * process starting meanwhile waits on that lock, not on the table), and
 * lets its process try again (`connection.ts`'s `reach`), until the connect
 * deadline: the queue is held up at most this long at a time, and about
 * half of the time, however many processes start. A migration behind only
 * short transactions (a claim's, an offer's) gets its lock well within it.
 * The wait for the advisory lock (another process migrating, which holds
 * no table up) is bounded only by the session's own `lock_timeout` (none on
 * the store's connections; the application's, under `migrateClient`).
 *
 * Longer than PostgreSQL's `deadlock_timeout` (1 s by default): the server
 * cancels an autovacuum that holds a lock request up only when it checks
 * that request for deadlocks, once it has waited that long, so a shorter
 * wait gives up first, every time, on a table that autovacuum is working
 * through. An autovacuum run to prevent wraparound is not cancelled: a
 * migration then waits for it to end, try after try. A server whose
 * `deadlock_timeout` is above this wait does not cancel an autovacuum for a
 * migration either.
 */
export const lockWait = Duration.millis(1500)

/**
 * The refusal of a try that gave up its wait for a table's lock: retryable,
 * and the database left as it was (`migrateSql`).
 */
export const lockNotTaken = (latest: number) =>
  new StoreError({
    operation: "connect",
    reason: `the migration to schema version ${latest} gave up waiting ${Duration.toMillis(lockWait)} ms ` +
      "for a table's lock: another transaction holds the table"
  })

/** A string as an SQL literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`

/**
 * The statement that applies the migrations of `list` above the database's
 * version, in turns. A try that gives up its wait for a table's lock
 * (`lockWait`) is undone (the block's exception handler rolls back to
 * where it began), pauses, and ends without an error: the version read
 * after it tells the caller. An error would abort the application's
 * transaction (`migrateClient` inside `withTransaction`), and no later try
 * could run in it.
 */
const migrateSql = (list: ReadonlyArray<Migration>) => `
DO $$
DECLARE
  current_version integer;
  previous_lock_timeout text;
BEGIN
  -- First: with a statement before it, processes starting at once failed
  -- ("relation already exists"): the block then missed the tables that the
  -- process it waited for had made.
  PERFORM pg_advisory_xact_lock(${lockKey});
  previous_lock_timeout := current_setting('lock_timeout');
  PERFORM set_config('lock_timeout', '${Duration.toMillis(lockWait)}ms', true);
  BEGIN
    IF to_regclass('${migrationsTable}') IS NULL THEN
      CREATE TABLE ${migrationsTable} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
    END IF;
    IF to_regclass('${compatibleTable}') IS NULL THEN
      CREATE TABLE ${compatibleTable} (version integer PRIMARY KEY, compatible_from integer NOT NULL);
    END IF;
    SELECT coalesce(max(version), 0) INTO current_version FROM ${migrationsTable};
${
  list.map(({ compatibleFrom, name, up, version }) => `
    IF current_version < ${version} THEN
${up}
      INSERT INTO ${migrationsTable} (version, name) VALUES (${version}, ${literal(name)});${
    compatibleFrom === undefined ? "" : `
      INSERT INTO ${compatibleTable} (version, compatible_from) VALUES (${version}, ${compatibleFrom})
        ON CONFLICT (version) DO NOTHING;`
  }
    END IF;`).join("\n")
}
  EXCEPTION WHEN lock_not_available THEN
    PERFORM pg_sleep(${Duration.toSeconds(lockWait)});
  END;
  PERFORM set_config('lock_timeout', previous_lock_timeout, true);
END
$$`

/**
 * `read` if `name` is a table, else `absent`. The table is looked up first
 * rather than read and its absence caught: in the application's transaction
 * (`migrateClient`), the error would abort the transaction, and the
 * migration with it.
 */
const ifTable = <A>(
  runner: Runner,
  name: string,
  read: Effect.Effect<A, SqlError>,
  absent: A
): Effect.Effect<A, SqlError> =>
  Effect.flatMap(
    runner.run(`SELECT to_regclass('${name}') IS NOT NULL`, [], false),
    (rows) => rows[0]![0] === true ? read : Effect.succeed(absent)
  )

/** The newest version recorded; 0 when nothing is (a new database, or one made before versions). */
const versionOf = (runner: Runner): Effect.Effect<number, SqlError> =>
  ifTable(
    runner,
    migrationsTable,
    Effect.map(runner.run(`SELECT coalesce(max(version), 0)::int FROM ${migrationsTable}`, [], false), (rows) => rows[0]![0] as number),
    0
  )

/**
 * Whether this code, which knows versions up to `latest`, runs right on a
 * database a newer release migrated: every step recorded above `latest`
 * says that code of `latest` or older still does (`compatibleFrom`). A
 * database without the table of what steps allow (made before it existed)
 * has no step that says so.
 */
const compatibleAbove = (runner: Runner, latest: number): Effect.Effect<boolean, SqlError> =>
  ifTable(
    runner,
    compatibleTable,
    Effect.map(
      runner.run(
        `SELECT coalesce(bool_and(coalesce(allowed.compatible_from <= $1, false)), true)
         FROM ${migrationsTable} AS step LEFT JOIN ${compatibleTable} AS allowed USING (version)
         WHERE step.version > $1`,
        [latest],
        false
      ),
      (rows) => rows[0]![0] === true
    ),
    false
  )

/** Fails with `newerSchema` unless this code, which knows versions up to `latest`, runs right at version `found`. */
const runsAt = (runner: Runner, found: number, latest: number): Effect.Effect<void, SqlError | StoreError> =>
  found <= latest ? Effect.void : Effect.flatMap(compatibleAbove(runner, latest), (compatible) =>
    compatible ? Effect.void : Effect.fail(newerSchema(found, latest)))

/** The refusal of a database that a newer release migrated. */
export const newerSchema = (found: number, latest: number) =>
  new StoreError({
    operation: "connect",
    reason: `the database is at schema version ${found}, and this code knows versions up to ${latest}: ` +
      "a newer release of effect-worker-pool migrated it, and a step above this code's versions does not " +
      "allow older code; run that release or a later one",
    retryable: false
  })

/**
 * The refusal of a database below the newest version, by a store told not
 * to migrate at start (`migrate: false`).
 */
export const olderSchema = (found: number, latest: number) =>
  new StoreError({
    operation: "connect",
    reason: `the database is at schema version ${found}, and this code needs version ${latest}: ` +
      "run PostgresStore.migrate (as a role that may create tables) before starting with migrate: false",
    retryable: false
  })

/**
 * Brings the database to the newest version of `list` (the schema's
 * migrations, unless a test gives others), or fails if it is newer; fails
 * with `lockNotTaken` (retryable) when a table's lock was not to be had.
 * Fails with the driver's `SqlError` when the server does (the caller
 * decides whether to try again).
 */
export const migrate = (
  target: PgPool.PgPool | Runner,
  list: ReadonlyArray<Migration> = migrations
): Effect.Effect<void, SqlError | StoreError> => {
  const runner = runnerOf(target)
  const latest = latestOf(list)
  return Effect.flatMap(versionOf(runner), (found) =>
    found >= latest
      ? runsAt(runner, found, latest)
      : runner.run(migrateSql(list), [], false).pipe(
        Effect.andThen(versionOf(runner)),
        Effect.flatMap((found) => found < latest ? Effect.fail(lockNotTaken(latest)) : runsAt(runner, found, latest))
      ))
}

/**
 * Checks, without changing anything, that the database is at the newest
 * version of `list`: below it is a `StoreError` that is not retryable, and
 * so is above it, unless every step above allows this code (`compatibleFrom`).
 * Reads only, and needs no right but to read the migrations tables.
 */
export const verify = (
  target: PgPool.PgPool | Runner,
  list: ReadonlyArray<Migration> = migrations
): Effect.Effect<void, SqlError | StoreError> => {
  const runner = runnerOf(target)
  const latest = latestOf(list)
  return Effect.flatMap(versionOf(runner), (found) =>
    found < latest ? Effect.fail(olderSchema(found, latest)) : runsAt(runner, found, latest))
}
