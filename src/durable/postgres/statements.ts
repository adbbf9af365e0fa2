/**
 * The PostgreSQL store's statements: one per operation (an offer of new
 * ids may take two: see `offerNewSql`), each its own transaction, on the
 * tables of `migrations.ts` (version 5). How each works (`unnest`, `SKIP
 * LOCKED`, the counts kept by the statements that move jobs) is said where
 * `PostgresStore.ts` describes the store.
 *
 * Internal: not an entry point of the package.
 */
import * as PgTypes from "@effect/sql-pg/PgTypes"
import * as Duration from "effect/Duration"
import type { Lease } from "../Store.ts"
import * as Times from "../times.ts"
import { unstorableText } from "./text.ts"

/** The one table of jobs every queue shares. */
export const table = "effect_worker_pool_jobs"

/** How many jobs of each queue are in each state, kept by the statements that move them. */
export const countsTable = "effect_worker_pool_counts"

/** Whether each queue ever paused is paused now (`Store.pause`), by name. */
export const pausedTable = "effect_worker_pool_paused"

/**
 * Whether queue `$1` is not paused: a condition of every scan a claim
 * reads candidates with, and of its reading of `due`. Uncorrelated, it is
 * planned as a one-time filter: a probe of the paused table's key, before
 * the scan it guards (which then reads nothing while paused).
 */
const notPaused = `NOT EXISTS (SELECT FROM ${pausedTable} WHERE queue = $1 AND paused)`

/**
 * Rows of `countsTable` per queue. Each session adds its changes to the row
 * of its own shard (its backend pid modulo this), so that statements from
 * different connections seldom wait for each other on one counter row.
 */
const shards = 16

/** The counters' row of the session's own shard. */
const sessionShard = `pg_backend_pid() % ${shards}`

/**
 * The first of the counter rows that each belong to one transaction: an
 * offer inside the application's transaction (`offerInTransactionSql`)
 * adds to a row of its own, numbered from here by the transaction's id,
 * and `foldSql` later moves what committed ones hold into the sessions'
 * rows. (Rows from `shards` up to here were shared by open transactions
 * in earlier versions: `countsSql` still adds them up, `foldSql` folds
 * them too once nobody holds them.)
 */
const transactionRowsFrom = 256

/**
 * How many transactions' row numbers there are before they come round
 * again (an `integer` holds them): a transaction meets an earlier one's
 * row only if that row stayed unfolded for over two billion transactions,
 * and then it adds to it, as it should.
 */
const transactionRows = 2_147_483_647 - transactionRowsFrom

/** The time `param` milliseconds after `now()` (a `float8`: fractions of a millisecond are kept). */
const fromNow = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`

/**
 * The counters of `countsTable`. A job waiting for its time (state
 * `scheduled`) counts as ready: its promotion to `ready` moves no counter.
 */
type State = "ready" | "leased" | "completed" | "buried"

/** A job's state as the store's callers know it: a scheduled job is ready to them (`lookup`, `cancel`). */
const shownState = "CASE WHEN state = 'scheduled' THEN 'ready' ELSE state END"

/**
 * The state of a job that may be claimed from `visible_at` on: `scheduled`
 * while that is in the future, `ready` once it is not. So the ready index
 * holds only jobs that may run now, and the scheduled index only jobs that
 * wait.
 */
const stateFrom = (visibleAt: string) => `CASE WHEN ${visibleAt} > now() THEN 'scheduled' ELSE 'ready' END`

/**
 * `condition` in a form no index can serve and no partial index's predicate
 * can be proven from (a `CASE`), so that the rows are found only the way the
 * statement finds them (by place, or by key). A plan is made once per
 * connection, often while the queue is small or empty, when walking a whole
 * index looks cheaper than ten places or ten keys, and kept as the queue
 * grows (until the table is next analyzed).
 */
const unindexed = (condition: string) => `CASE WHEN ${condition} THEN true ELSE false END`

/**
 * A `FROM` list: each id of `ids` (a query of one column) looked up in
 * queue `$1` by the primary key, in a subquery of its own (`found`: its id
 * and state, where `condition` holds; `FOR UPDATE` with `lock`). With
 * `id = ANY(...)` and a test of the state beside it, a plan made while the
 * queue was small walked an index of the queue's ended jobs instead: for an
 * offer of a taken id among 300,000 completed jobs, 31 ms against 0.1; for
 * a redrive of one id among 300,000 dead letters, 39 ms against 0.8.
 */
const eachByKey = (ids: string, condition: string, lock = "") => `(${ids}) AS asked (id),
  LATERAL (
    SELECT id, state FROM ${table}
    WHERE id = asked.id AND queue = $1 AND ${unindexed(condition)}
    LIMIT 1${lock === "" ? "" : `
    ${lock}`}
  ) AS found`

/**
 * Adds to queue `$1`'s counters, in the statement that moved the jobs: one
 * job for each row of `source` (a `WITH` query) whose `filter` holds,
 * moving `from` one state (none for a new job) `to` another. Writes
 * nothing when no job moved, so an empty claim stays a read.
 */
const tally = (source: string, from: State | undefined, to: State, filter = "true", shard = sessionShard) => {
  const columns = from === undefined ? [to] : [from, to]
  const deltas = from === undefined ? ["count(*)"] : ["-count(*)", "count(*)"]
  return `
INSERT INTO ${countsTable} AS counts (queue, shard, ${columns.join(", ")})
SELECT $1, ${shard}, ${deltas.join(", ")} FROM ${source} WHERE ${filter}
HAVING count(*) > 0
ON CONFLICT (queue, shard) DO UPDATE
SET ${columns.map((column) => `${column} = counts.${column} + excluded.${column}`).join(", ")}`
}

/**
 * The channel the statements that make jobs ready at once notify, with the
 * queue's name (its first `wakeupPayloadLength` characters: a notification
 * holds at most 8,000 bytes) as the payload. `pg_notify` is transactional:
 * an offer inside a transaction notifies when it commits, and not if it
 * rolls back.
 */
export const wakeupChannel = "effect_worker_pool_wakeup"

/**
 * How much of a queue's name a notification carries: two queues that share
 * this much would wake each other, harmlessly. Moot since queue names are
 * held to 512 bytes of UTF-8 (`maxQueueBytes`, checked by the options and
 * the store boundary): no name reaches 1,000 characters, so the whole name
 * is sent. Kept as the bound on the payload (8,000 bytes) all the same.
 */
export const wakeupPayloadLength = 1_000

/** Notifies queue `$1`'s listeners (at commit). */
const notifyQueue = `pg_notify('${wakeupChannel}', left($1, ${wakeupPayloadLength}))`

/**
 * What follows `WITH source AS (...)`, the query that moved jobs `from` a
 * state `to` another: the counters' update (`tally`) and, if `notifyWhen`
 * is given, a final `SELECT` that notifies queue `$1`'s listeners when a job
 * moved and `notifyWhen` holds.
 */
const tallied = (source: string, from: State | undefined, to: State, notifyWhen?: string) =>
  notifyWhen === undefined ? `\n${tally(source, from, to)}` : `, counted AS (${tally(source, from, to)}
)
SELECT ${notifyQueue} WHERE ${notifyWhen} AND EXISTS (SELECT 1 FROM ${source})`

/**
 * Adds `deltas` (a counter column and its change, an aggregate over
 * `source`) to queue `$1`'s counters, when `having` holds: the statements
 * that move jobs between several states at once (a redrive, a removal, a
 * cancel, a purge).
 */
const shift = (source: string, deltas: ReadonlyArray<readonly [State, string]>, having: string) => `
INSERT INTO ${countsTable} AS counts (queue, shard, ${deltas.map(([column]) => column).join(", ")})
SELECT $1, ${sessionShard}, ${deltas.map(([, delta]) => delta).join(", ")} FROM ${source}
HAVING ${having}
ON CONFLICT (queue, shard) DO UPDATE
SET ${deltas.map(([column]) => `${column} = counts.${column} + excluded.${column}`).join(", ")}`

/**
 * When an offered job may first be claimed, from its `delay` (milliseconds
 * from now) or `run_at` (milliseconds since the epoch; one in the past is
 * now, so the job keeps its place among the jobs offered ready), or now.
 * The store boundary bounds both (`../times.ts`); the engine's guards
 * (`postgres/text.ts`) keep them to times PostgreSQL holds.
 */
const offeredAt = `CASE
    WHEN job.delay IS NOT NULL THEN ${fromNow("job.delay")}
    WHEN job.run_at IS NOT NULL THEN greatest(now(), to_timestamp(job.run_at / 1000))
    ELSE now()
  END`

/**
 * Inserts the new ids, counted in the counters' row `shard`, and notifies
 * the queue's listeners if there were any; returns the ids skipped as dead
 * letters or cancelled, and a row of NULL ids when it notified. `$4` to
 * `$7` are the jobs' delays, run-ats, priorities and settings, each array
 * NULL when no job of the batch has one (most batches: nothing more is
 * sent). A job with a time in the future is stored `scheduled`. Only when
 * some id was not inserted (a condition PostgreSQL checks once, before
 * anything else) are those ids looked up, each by the primary key
 * (`eachByKey`): the statement reads the table as it was before, so it
 * finds each where the conflict did. (The notification is a branch of the
 * result, not a `WITH` query: a `WITH` query that only reads runs only if
 * the statement reads it.) With `onConflict` empty, an id already stored
 * fails the whole statement instead (`offerNewSql`).
 */
const offer = (shard: string, onConflict = "ON CONFLICT DO NOTHING") => `
WITH offered AS (
  INSERT INTO ${table} (queue, id, payload, priority, settings, state, visible_at)
  SELECT $1, job.id, job.payload::jsonb, coalesce(job.priority, 0), job.settings, ${stateFrom("at.time")}, at.time
  FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::int4[], $7::text[])
    WITH ORDINALITY AS job(id, payload, delay, run_at, priority, settings, n),
    LATERAL (SELECT ${offeredAt} AS time) AS at
  ORDER BY job.n
  ${onConflict}
  RETURNING id
), counted AS (${tally("offered", undefined, "ready", "true", shard)}
)
SELECT found.id, found.state
FROM ${eachByKey("SELECT unnest($2::text[]) EXCEPT SELECT id FROM offered", "state IN ('buried', 'cancelled')")}
WHERE (SELECT count(*) FROM offered) < cardinality($2::text[])
UNION ALL
SELECT NULL, ${notifyQueue}::text WHERE EXISTS (SELECT 1 FROM offered)`

export const offerSql = offer(sessionShard)

/**
 * `offerSql` for ids the producer made (`OfferOptions.newIds`): a plain
 * insert, without the `ON CONFLICT` that would first look for each id in
 * the primary key and write each row as a speculative insertion, confirmed
 * after. Offers of 100 such jobs (`EXPLAIN (ANALYZE, BUFFERS, WAL)` on an
 * idle server, 12 each): the insert took 1.31 ms at the median, 500-740
 * buffers and 305 WAL records, against 1.99 ms, 900-1,130 buffers and 404.
 * An id stored after all fails the statement with a unique violation (an
 * `ERROR` in the server's log; the rows it had inserted are dead, as after
 * any rollback), and the store makes the offer again with `offerSql`: no
 * job, count or notification comes of the failed one.
 */
export const offerNewSql = offer(sessionShard, "")

/**
 * The offer inside the application's transaction (`PostgresStore.fromClient`
 * under `withTransaction`): the counter row it adds to stays locked until
 * that transaction ends, so it is not the session's shard, which every
 * claim and acknowledgement of the session's backend writes (a worker's
 * claim would wait for the application's transaction), nor one another
 * open transaction may write (the two would wait for each other, or
 * deadlock through a row of the application's), but a row of the
 * transaction's own, a new key that nothing else locks. Maintenance folds
 * it in once the transaction has committed (`foldSql`).
 */
export const offerInTransactionSql = offer(
  `${transactionRowsFrom} + (txid_current() % ${transactionRows})::int`
)

/**
 * Moves up to `$2` of queue `$1`'s counter rows of committed transactions
 * (rows above the sessions' shards that nobody holds: `SKIP LOCKED` passes
 * over a shared row of an earlier version that an open transaction holds)
 * into the session's shard, in one statement, so that `countsSql` reads the
 * same sums before and after; returns how many it moved. A transaction
 * still open has inserted its row where nobody else sees it. Run in batches
 * with each purge (`postgres/store.ts`): one statement for every row of a
 * long backlog would outlast the command timeout, and be undone.
 */
export const foldSql = `
WITH picked AS (
  SELECT shard FROM ${countsTable} WHERE queue = $1 AND shard >= ${shards}
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), folded AS (
  DELETE FROM ${countsTable} WHERE queue = $1 AND shard IN (SELECT shard FROM picked)
  RETURNING ready, leased, completed, buried
), added AS (
  INSERT INTO ${countsTable} AS counts (queue, shard, ready, leased, completed, buried)
  SELECT $1, ${sessionShard}, sum(ready)::bigint, sum(leased)::bigint, sum(completed)::bigint, sum(buried)::bigint
  FROM folded
  HAVING count(*) > 0
  ON CONFLICT (queue, shard) DO UPDATE
  SET ready = counts.ready + excluded.ready, leased = counts.leased + excluded.leased,
    completed = counts.completed + excluded.completed, buried = counts.buried + excluded.buried
)
SELECT count(*)::int FROM folded`

/**
 * How many transactions' counter rows one `foldSql` moves (a small part of
 * the purge's command timeout), and how many such batches one purge runs
 * at most: a queue folds up to 100,000 transactions' rows per maintenance
 * run, and a backlog longer than that (no pool of this version worked the
 * queue for a while) over several runs.
 */
export const foldBatch = 5_000
export const foldBatchesAPurge = 20

/**
 * How many jobs waiting for their time a claim takes in at most, beyond
 * the `max` it may lease: those not leased are promoted to `ready`. A
 * bounded batch per claim, however many jobs came due at once.
 */
export const dueBatch = 100

/** A claim's update of the rows it `picked`: leased, an attempt more, each with its token. */
const leasePicked = `
  UPDATE ${table}
  SET state = 'leased', attempts = attempts + 1, visible_at = ${fromNow("$3")}, token = $4 || seq
  WHERE ctid = ANY(ARRAY(SELECT ctid FROM picked))
  RETURNING id, payload::text AS text, attempts, token, settings, ctid`

/**
 * A claim's reading of `due` (NULL when it leased `$2`): the milliseconds
 * until the first scheduled job (that `also` holds for, if given) is due, 0 if it is.
 */
const untilDue = (also?: string) => `
    SELECT extract(epoch FROM greatest(first.at, now()) - now())::float8 * 1000
    FROM (
      SELECT visible_at AS at FROM ${table}
      WHERE queue = $1 AND state = 'scheduled'${also === undefined ? "" : ` AND ${also}`}
      ORDER BY visible_at LIMIT 1
    ) AS first
    WHERE (SELECT count(*) FROM leased) < $2 AND ${notPaused}`

/** A claim's answer: a row per job `leased`, in `order`, each with the reading; one row of NULL jobs if none. */
const claimedRows = (order: string) => `
SELECT id, CASE WHEN octet_length(text) <= $5 THEN text END, attempts, token || '@' || leased.ctid::text,
  octet_length(text), settings, reading.until_due
FROM reading LEFT JOIN (leased JOIN picked USING (id)) ON true
ORDER BY ${order}`

/**
 * Leases up to `$2` jobs and returns them in the order they were taken:
 * first the leases that ran out (their worker died), oldest first; then by
 * priority, lower first, then by time (when each was offered, or when its
 * delay ended), then by order of offer. Each lease gets its own token, the
 * claim's (fresh) followed by the job's `seq`, so that a token alone names
 * one lease; the holder is given it followed by `@` and where the leased
 * row is (its `ctid`), so that ending the lease can go straight to the row
 * (see `endLeases`). A lease that ran out is leased again: only the jobs
 * that were ready (or scheduled: counted as ready) move in the counts.
 *
 * The candidates come from three index scans, each stopping at its `LIMIT`
 * (or at the first row past now), so a claim reads a bounded number of rows
 * whatever the queue holds, an empty claim too (a million jobs waiting for
 * their time, none ready: three index probes):
 *
 * - `expired`: the leases that ran out, from `_leased` by `visible_at`;
 * - `ready`: the best `$2` ready jobs, from `_ready` in claim order;
 * - `due`: the oldest scheduled jobs whose time has come, from `_scheduled`,
 *   at most `dueBatch` or `$2`.
 *
 * `picked` is the best `$2` of them, leased; the due jobs not picked are
 * promoted to `ready` (their `visible_at`, their time, keeps their place),
 * for a later claim to take by priority: each row is changed by exactly one
 * of the two updates (the second skipped at once, before its set
 * difference, when no job was due). With more than a batch due at once, a claim sees only
 * the oldest batch of them: a due job of a low priority number can then
 * wait a claim or two behind ready jobs of a higher one. Candidates are
 * locked with `SKIP LOCKED`, so two claimers never wait for each other nor
 * get the same row; those not taken are unlocked when the statement ends.
 * Ready jobs still read `visible_at <= now()`: a ready row with a future
 * time (a retry waiting, written by a process of a release before this
 * schema, still running during a rolling upgrade) is not taken before its
 * time.
 *
 * Each payload comes back as its JSON text and the text's size in bytes;
 * one over `$5` (what the driver can read in one row) comes back as NULL:
 * sent, it would fail the whole claim, and every claim after it. The text
 * is made once per job, by `leased`'s `RETURNING`, whose rows are stored
 * as they are: a subquery of the last `SELECT` would be folded into it,
 * its `payload::text` written out at each of its three uses, and made
 * three times (a claim of 256 payloads of about 1 kB: 7.9-10.6 ms against
 * 4.5-5.0; the buffers and WAL the same).
 *
 * The updates find the picked rows by their `ctid` (an array, `= ANY`): a
 * TID scan goes straight to each row's page, where a probe of the primary
 * key per job cost about a third of a claim of 256 (1.0 of 3.4 ms, 975 of
 * 3,585 buffers). The `ctid` read by the `FOR UPDATE` scans still names
 * the row when the updates run: the row is locked by this statement, so no
 * one else can move it meanwhile. Not a join: a join would leave the
 * planner a choice, and its guess of a queue's size is often wrong (a new
 * queue, or statistics from when it was small): it would read the whole
 * queue per statement, or once per job.
 *
 * A claim that leases fewer than `$2` also answers what `due` (`dueSql`)
 * would say once it commits, in a seventh column (NULL: none waits), so
 * that an idle worker need not ask: the first scheduled job this claim did
 * not take, one probe of `_scheduled` (skipped when the claim is full).
 * Every row carries it; with no job leased, one row of NULL jobs does.
 *
 * A claim that locked candidates it did not take (more leases ran out, or
 * more jobs came due, than it could lease, so ready jobs were locked and
 * left) notifies the queue's listeners when it commits: a claim running
 * at the same time skipped them as locked and may have come back short,
 * and its worker would otherwise wait for its next poll while they are
 * ready (`woke`; `reading` is computed whole, a query that calls a
 * volatile function is never folded into the one that reads it).
 */
export const claimSql = `
WITH expired AS (
  SELECT ctid, id, state, 0 AS tier, 0 AS priority, visible_at, seq FROM ${table}
  WHERE queue = $1 AND state = 'leased' AND visible_at <= now() AND ${notPaused}
  ORDER BY visible_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), ready AS (
  SELECT ctid, id, state, 1 AS tier, priority, visible_at, seq FROM ${table}
  WHERE queue = $1 AND state = 'ready' AND visible_at <= now() AND ${notPaused}
  ORDER BY priority, visible_at, seq
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), due AS (
  SELECT ctid, id, state, 1 AS tier, priority, visible_at, seq FROM ${table}
  WHERE queue = $1 AND state = 'scheduled' AND visible_at <= now() AND ${notPaused}
  ORDER BY visible_at, seq
  LIMIT greatest($2, ${dueBatch})
  FOR UPDATE SKIP LOCKED
), picked AS (
  SELECT ctid, id, state, tier, priority, visible_at, seq
  FROM (SELECT * FROM expired UNION ALL SELECT * FROM ready UNION ALL SELECT * FROM due) AS candidate
  ORDER BY tier, priority, visible_at, seq
  LIMIT $2
), leased AS (${leasePicked}
), promoted AS (
  UPDATE ${table} SET state = 'ready'
  WHERE EXISTS (SELECT 1 FROM due) AND ctid = ANY(ARRAY(SELECT ctid FROM due EXCEPT ALL SELECT ctid FROM picked))
), counted AS (${tally("picked", "ready", "leased", "state <> 'leased'")}
), reading AS (
  SELECT (
${untilDue("ctid <> ALL(ARRAY(SELECT ctid FROM due))")}
  ) AS until_due, (
    SELECT ${notifyQueue}
    WHERE (SELECT count(*) FROM picked) < (SELECT count(*) FROM expired) + (SELECT count(*) FROM ready) + (SELECT count(*) FROM due)
  ) AS woke
)
${claimedRows("picked.tier, picked.priority, picked.visible_at, picked.seq")}`

/**
 * `claimSql` for ready jobs only (`ClaimOptions.readyOnly`): the `ready`
 * tier alone, its jobs leased and counted as there, and the same seventh
 * column, what `due` would say (here the first scheduled job, due or not:
 * one due now reads 0, and the worker's next claim is full). The
 * leases that ran out and the jobs whose time came are left to the full
 * claim. Every candidate it locks it takes, so it never notifies. After an
 * idle pause its plan (22 nodes against the full one's 55) executes sooner,
 * and so does the idle pickup it serves (`bench/durable/pickupVersus.ts`;
 * the design notes).
 */
export const claimReadySql = `
WITH picked AS (
  SELECT ctid, id, priority, visible_at, seq FROM ${table}
  WHERE queue = $1 AND state = 'ready' AND visible_at <= now() AND ${notPaused}
  ORDER BY priority, visible_at, seq
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), leased AS (${leasePicked}
), counted AS (${tally("picked", "ready", "leased")}
), reading AS (
  SELECT (
${untilDue()}
  ) AS until_due
)
${claimedRows("picked.priority, picked.visible_at, picked.seq")}`

/**
 * Whether a row's lease is one of `$3`, the batch's tokens as the keys of a
 * JSON object (`leaseParams`): a token names one lease of one job, so the
 * batch's ids and tokens need not be paired. Each row's token is looked up
 * among the object's keys, which PostgreSQL keeps sorted: a binary search,
 * under any plan. (As a `text[]`, `token = ANY($3)` is a hash lookup only
 * in a plan made with the batch's values; in a plan made once for any value
 * it compares each row's token to every token of the batch: 15,000 leases
 * completed in 2.5-2.8 s instead of 0.3-0.5.) So every batch runs prepared,
 * planned once per connection, whatever its size.
 */
const holds = "$3::jsonb ? token"

/**
 * Ends the leases `$2`/`$3` that are still held (a job has a token only
 * while leased) with `change`, the head of an `UPDATE` (`moving`) or a
 * `DELETE` whose `WHERE` follows, counted as moved from `leased` to `to`;
 * notifies the queue's listeners if `notifyWhen` is given and holds.
 *
 * Each lease is first looked for where its claim left the row, `$4` (the
 * `ctid`s its holder was given with the tokens; see `claimSql`): a TID
 * scan, a third fewer buffers than a probe of the primary key per job (1,850
 * against 2,700 for a batch of 168). The row is there unless it moved since
 * (an `extend`, or a `VACUUM FULL`): the ids not found there are then probed
 * in the primary key, as before. Whatever is at a place, a row counts only
 * if it is visible, of the queue and holds one of the tokens, which name one
 * lease each. The queue is tested `unindexed`: a plan made while the queue
 * was small walked the primary key for it instead of going to the places,
 * the whole queue per batch (120 ms a batch on average, 3.4 s at most, once
 * a burst of 100,000 jobs followed a trickle). The two updates never meet
 * on a row: the second reads only ids the first did not end, and nothing
 * at all when the first ended as many leases as the batch holds (a
 * condition PostgreSQL checks once, before the rest: most batches then
 * skip the key entirely).
 */
const endLeases = (to: State, change: string, notifyWhen?: string) => `
WITH at_place AS (
  ${change}
  WHERE ctid = ANY($4::tid[]) AND ${unindexed("queue = $1")} AND ${holds}
  RETURNING id
), moved AS (
  ${change}
  WHERE (SELECT count(*) FROM at_place) < cardinality($2::text[])
    AND queue = $1 AND id = ANY(ARRAY(SELECT unnest($2::text[]) EXCEPT SELECT id FROM at_place)) AND ${holds}
  RETURNING id
), ended AS (
  SELECT id FROM at_place UNION ALL SELECT id FROM moved
)${tallied("ended", "leased", to, notifyWhen)}`

/** The head of `endLeases`' change that moves the rows to `to`, its token cleared, with `set`. */
const moving = (to: State, set: string) => `UPDATE ${table}
  SET state = '${to}', token = NULL${set}`

/**
 * A completed job keeps its id (no offer stores it again until it is
 * purged), its priority and attempts (`lookup`), not its payload nor its
 * settings, which nothing reads again: the row written is smaller (the
 * update writes a whole new version of it), and so is the table kept for
 * the retention. (`'null'`: the column holds JSON, never SQL's NULL.)
 */
export const completeSql = endLeases("completed", moving("completed", ", ended_at = now(), payload = 'null', settings = NULL"))

/**
 * Completes the leases still held without keeping the jobs (the caller
 * keeps no completed job: `Completion.keep` false): their rows are deleted,
 * as a purge would delete them at once, and counted completed all the same.
 * A delete writes no new row version nor index entry (the rewrite of
 * `completeSql` writes both, `state` being indexed), and leaves nothing for
 * a purge to delete later.
 *
 * It finds the rows as `completeSql` does, and each race ends as one order
 * or the other of the two statements would (PostgreSQL's read committed:
 * a row changed by a transaction that committed meanwhile is read again,
 * its latest version, and the conditions checked on it):
 *
 * - An offer of the same id at the same time: its `ON CONFLICT DO NOTHING`
 *   waits for the deleting transaction to end. Deleted: the id is free and
 *   the offer stores a new job (as after a purge); not (the token did not
 *   match): the offer skips it, a known id.
 * - A cancel at the same time: whichever locks the row first goes first.
 *   The cancel first: it clears the token, and the delete, reading the
 *   row again, finds no lease it holds and does nothing (the job stays
 *   cancelled, uncounted). The delete first: the cancel finds no row and
 *   answers an unknown id, as after a purge.
 * - An `extend` at the same time: first, it moves the row (a new version,
 *   the same token), which the delete follows by id (`moved`); after, it
 *   finds no row, renews nothing and reports nothing cancelled. A `lookup`
 *   reads the job leased or not at all.
 * - A claim of the lease, run out, by another worker: its `FOR UPDATE SKIP
 *   LOCKED` passes over a row the delete holds; one it locked first gets a
 *   new token, and the delete, reading it again, finds the old token no
 *   longer held and leaves the new holder's job alone. A stale holder's
 *   token matches no row either way.
 */
export const completeDeletingSql = endLeases("completed", `DELETE FROM ${table}`)

export const releaseSql = endLeases("ready", moving("ready", ", attempts = attempts - 1, visible_at = now()"), "true")

/**
 * Renews the leases still held, returning their ids: the store answers the
 * others (`Store.extend`). One plain `UPDATE`: a `WITH` around it, to
 * return the others' ids from the server, cost about half as much again
 * per call.
 */
export const extendSql = `
UPDATE ${table} SET visible_at = ${fromNow("$4")}
WHERE queue = $1 AND id = ANY($2::text[]) AND ${holds}
RETURNING id`

/**
 * Ends the lease `$2`/`$3` if it is still held, moving the job to `state`
 * (an SQL expression) with `set`, counted in `to`; notifies the queue's
 * listeners if `notify` says so. Answers one row if it ended the lease,
 * none if the lease was no longer held (`Store.Taken`): at most one row
 * holds an id in a queue.
 */
const endLease = (to: State, set: string, notify: boolean, state = `'${to}'`) => `
WITH ended AS (
  UPDATE ${table}
  SET state = ${state}, token = NULL, ${set}
  WHERE queue = $1 AND id = $2 AND token = $3
  RETURNING 1
), counted AS (${tally("ended", "leased", to)}
)
SELECT ${notify ? notifyQueue : "1"} FROM ended`

/** Pauses queue `$1` (`Store.pause`): a row if it was running, none if it was paused already. */
export const pauseSql = `
INSERT INTO ${pausedTable} AS queue (queue, paused) VALUES ($1, true)
ON CONFLICT (queue) DO UPDATE SET paused = true, changed_at = now() WHERE NOT queue.paused
RETURNING 1`

/** Resumes queue `$1`: whether it was paused; its listeners are notified if it was, their claims refused meanwhile. */
export const resumeSql = `
WITH resumed AS (UPDATE ${pausedTable} SET paused = false, changed_at = now() WHERE queue = $1 AND paused RETURNING 1)
SELECT count(*) > 0, CASE WHEN count(*) > 0 THEN ${notifyQueue}::text END FROM resumed`

/** Whether queue `$1` is paused. */
export const pausedSql = `SELECT EXISTS (SELECT FROM ${pausedTable} WHERE queue = $1 AND paused)`

/**
 * A retry is ready again after its delay: scheduled until then (ready at
 * once with no delay). It notifies either way, so that a worker sleeping
 * until a later time (`due`) wakes to read it again.
 */
export const retrySql = endLease("ready", `visible_at = ${fromNow("$4")}`, true, stateFrom(fromNow("$4")))

/** A retry whose delivery is not counted (`Retrying.attemptGivenBack`): its attempt given back, as a release's is. */
export const snoozeSql = endLease("ready", `visible_at = ${fromNow("$4")}, attempts = attempts - 1`, true, stateFrom(fromNow("$4")))

export const burySql = endLease("buried", "error = $4, ended_at = now()", false)

export const countsSql = `
SELECT coalesce(sum(ready), 0)::float8, coalesce(sum(leased), 0)::float8,
  coalesce(sum(completed), 0)::float8, coalesce(sum(buried), 0)::float8
FROM ${countsTable} WHERE queue = $1`

/**
 * The time of a cursor's place, from the parameter `param`, µs since the
 * epoch (NULL: before every time), exactly. An interval's product is
 * computed in floating point, which holds every µs only up to 2^53 (the
 * year 2255) where a run-at may be as late as the year 275760: off by a few
 * µs, a page after a job would begin before it, and give it again. So whole
 * days (a day field, added to a \`timestamp\`, which no time zone moves),
 * then the µs of the last day, below 2^37.
 */
const placeTime = (param: string) =>
  `CASE WHEN ${param}::int8 IS NULL THEN '-infinity' ELSE (timestamp 'epoch' + ` +
  `(${param}::int8 / 86400000000) * interval '1 day' + (${param}::int8 % 86400000000) * interval '1 microsecond'` +
  `) AT TIME ZONE 'UTC' END`

/**
 * Dead letters in the order they were buried, as the other stores list
 * them: one redriven, failing and buried again comes last, not back in the
 * next batch of `redrive()`. The order is `(ended_at, seq)`, the index
 * `_dead`'s, so that the scan stops at `$2` rows and a page after the
 * cursor `$4`, `$5` (`ended_at` in µs since 1970, `seq`; none for the
 * first page) begins at its place: ties of one `ended_at` (the burials of
 * one transaction) are cut between pages by `seq`, never skipped. Each
 * row's cursor is those two keys as `<µs>.<seq>` (`cursor.ts`). Their
 * payloads as in `claimSql`: one over `$3` bytes as NULL; with `$3` 0
 * (ids only, as `redrive()` lists them) no payload is read at all. Each
 * payload's text is made in the limited subquery, which the planner keeps
 * whole: written in the outer select, it would be folded into each of its
 * uses, made several times a row.
 */
export const buriedSql = `
SELECT id, CASE WHEN octet_length(text) <= $3 THEN text END, attempts, error,
  (extract(epoch FROM ended_at) * 1000000)::int8 || '.' || seq
FROM (
  SELECT ended_at, seq, id, CASE WHEN $3 > 0 THEN payload::text END AS text, attempts, error FROM ${table}
  WHERE queue = $1 AND state = 'buried' AND (ended_at, seq) > (
    ${placeTime("$4")},
    coalesce($5::int8, 0)
  )
  ORDER BY ended_at, seq
  LIMIT $2
) AS buried
ORDER BY ended_at, seq`

/**
 * The job `$2`: state (a scheduled job is ready), attempts, run-at (ms
 * since the epoch, for a ready, scheduled or leased job), error, priority.
 */
export const lookupSql = `
SELECT ${shownState}, attempts,
  CASE WHEN state IN ('ready', 'scheduled', 'leased') THEN extract(epoch FROM visible_at)::float8 * 1000 END,
  error, priority
FROM ${table} WHERE queue = $1 AND id = $2`

/**
 * Milliseconds until the earliest scheduled job of queue `$1` may be
 * claimed (0 if it may be now), or no row if none waits: the first entry
 * of the scheduled index.
 */
export const dueSql = `
SELECT extract(epoch FROM greatest(first.at, now()) - now())::float8 * 1000
FROM (
  SELECT visible_at AS at FROM ${table} WHERE queue = $1 AND state = 'scheduled'
  ORDER BY visible_at LIMIT 1
) AS first
WHERE ${notPaused}`

/**
 * The scheduled jobs of queue `$1`, soonest first, at most `$2`, after the
 * place `($3, $4)` (µs since the epoch, `seq`; NULL: from the first): id,
 * run-at (ms since the epoch), attempts, cursor (`<µs>.<seq>`). Jobs due at
 * one instant (a batch offered with one delay) come in the scheduled
 * index's order, the offer's, which the cursor follows: ordered by id
 * instead, every job of the tie is read and sorted to list the first few
 * (10,000 tied jobs: 11.7 ms to list the first 100, against 0.36 ms).
 */
export const upcomingSql = `
SELECT id, extract(epoch FROM visible_at)::float8 * 1000, attempts,
  (extract(epoch FROM visible_at) * 1000000)::int8 || '.' || seq
FROM ${table} WHERE queue = $1 AND state = 'scheduled' AND (visible_at, seq) > (
  ${placeTime("$3")},
  coalesce($4::int8, 0)
)
ORDER BY visible_at, seq LIMIT $2`

/**
 * The dead letters and cancelled jobs among `$2`, locked: a redrive or a
 * removal reads their states here (to move the counts) and changes them in
 * the same statement. Each id is looked up by the primary key
 * (`eachByKey`), and they are locked in their order, as a scan of the key
 * locked them: in the order of a hash of the batch, two calls naming some
 * of the same ids could each hold one the other waits for (a deadlock).
 */
const parkedAmong = `
SELECT found.id, found.state
FROM ${eachByKey("SELECT DISTINCT unnest($2::text[]) ORDER BY 1", "state IN ('buried', 'cancelled')", "FOR UPDATE")}`

/** Ready again now, attempts from 0, error cleared, the queue's listeners notified; returns how many. */
export const redriveSql = `
WITH parked AS (${parkedAmong}
), redriven AS (
  UPDATE ${table}
  SET state = 'ready', attempts = 0, error = NULL, visible_at = now(), ended_at = NULL
  WHERE queue = $1 AND id = ANY(ARRAY(SELECT id FROM parked))
  RETURNING 1
), counted AS (${shift("parked", [["buried", "-count(*) FILTER (WHERE state = 'buried')"], ["ready", "count(*)"]], "count(*) > 0")}
)
SELECT count(*)::int, CASE WHEN count(*) > 0 THEN ${notifyQueue}::text END FROM parked`

/** Deletes them; returns how many. */
export const removeSql = `
WITH parked AS (${parkedAmong}
), removed AS (
  DELETE FROM ${table} WHERE queue = $1 AND id = ANY(ARRAY(SELECT id FROM parked))
  RETURNING 1
), counted AS (${shift("parked", [["buried", "-count(*) FILTER (WHERE state = 'buried')"]], "count(*) FILTER (WHERE state = 'buried') > 0")}
)
SELECT count(*)::int FROM parked`

/**
 * Cancels the job `$2` if it is ready, scheduled or leased (its token
 * cleared: its holder can no longer end it); returns the state it was found
 * in (a scheduled job was ready). Cancelled jobs are not counted: they leave
 * the counts.
 */
export const cancelSql = `
WITH found AS (
  SELECT ${shownState} AS state FROM ${table} WHERE queue = $1 AND id = $2 FOR UPDATE
), cancelled AS (
  UPDATE ${table} SET state = 'cancelled', token = NULL, ended_at = now()
  WHERE queue = $1 AND id = $2 AND state IN ('ready', 'scheduled', 'leased')
  RETURNING 1
), counted AS (${
  shift(
    "found",
    [["ready", "-count(*) FILTER (WHERE state = 'ready')"], ["leased", "-count(*) FILTER (WHERE state = 'leased')"]],
    "count(*) FILTER (WHERE state IN ('ready', 'leased')) > 0"
  )
}
)
SELECT state FROM found`

/**
 * Cancels up to `$2` jobs of queue `$1` that wait, as `cancelSql` does
 * each: the first ready ones in the order claims take them, then the
 * earliest scheduled ones (the contract promises no order: this one reads
 * each state from the front of its own partial index, so that the work is
 * the batch's). Rows a claim has locked are skipped. Returns how many.
 * (A locking clause cannot apply to a `UNION`: each state is picked by a
 * query of its own.)
 */
export const cancelWaitingSql = `
WITH ready AS (
  SELECT ctid FROM ${table} WHERE queue = $1 AND state = 'ready'
  ORDER BY priority, visible_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
), scheduled AS (
  SELECT ctid FROM ${table} WHERE queue = $1 AND state = 'scheduled'
  ORDER BY visible_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
), cancelled AS (
  UPDATE ${table} SET state = 'cancelled', token = NULL, ended_at = now()
  WHERE ctid = ANY(ARRAY(SELECT ctid FROM ready UNION ALL SELECT ctid FROM scheduled LIMIT $2))
    AND queue = $1 AND state IN ('ready', 'scheduled')
  RETURNING 1
), counted AS (${shift("cancelled", [["ready", "-count(*)"]], "count(*) > 0")}
)
SELECT count(*)::int FROM cancelled`

/** The states a purge deletes, each with a statement of its own (`purgeSql`). */
export type Ended = "completed" | "cancelled" | "buried"

/**
 * Deletes up to `$3` jobs in state `state` that ended at least `$2`
 * milliseconds ago, oldest first, from the index of ended jobs: the work is
 * the batch's, whatever the table holds. Rows another purge has locked are
 * skipped (`SKIP LOCKED`), so purges run at once delete each row once.
 * Returns how many.
 *
 * The state is written in the text, one statement per state, not a
 * parameter: the index of ended jobs is partial, and a plan made once for
 * every value of a parameter (the store's own sessions plan statements once,
 * see `connection.ts`) cannot prove that the parameter is one of its states,
 * so it would walk the whole queue (measured: 21,775 buffers read for a
 * batch of 100 on a queue of 100,000, against 202).
 */
const purge = (state: Ended) => `
WITH picked AS (
  SELECT id FROM ${table}
  WHERE queue = $1 AND state = '${state}' AND ended_at <= now() - $2::float8 * interval '1 millisecond'
  ORDER BY ended_at
  LIMIT $3
  FOR UPDATE SKIP LOCKED
), purged AS (
  DELETE FROM ${table} WHERE queue = $1 AND id = ANY(ARRAY(SELECT id FROM picked))
  RETURNING 1
)${state === "buried" ? `, counted AS (${shift("picked", [["buried", "-count(*)"]], "count(*) > 0")}
)` : ""}
SELECT count(*)::int FROM picked`

/** The purge of each ended state (see `purge`). */
export const purgeSql: { readonly [state in Ended]: string } = {
  completed: purge("completed"),
  cancelled: purge("cancelled"),
  buried: purge("buried")
}

/**
 * Milliseconds as a `float8` parameter, so each statement has one parameter
 * type whatever the duration (a JS number would bind as `int4`, `int8` or
 * `float8` and prepare three statements). The store boundary gives no lease
 * or delay past `Times.maxDelay` (`../times.ts`, a thousand years); the
 * `min` is only a guard: `now() + infinity` is out of range for PostgreSQL.
 */
export const millis = (duration: Duration.Duration) =>
  PgTypes.float8(Math.max(0, Math.min(Duration.toMillis(duration), Times.maxDelay)))

/**
 * The number written in `text` from `from` to `to` (excluded): 1 to `most`
 * decimal digits, or none.
 */
const digitsIn = (text: string, from: number, to: number, most: number): number | undefined => {
  if (to <= from || to - from > most) return undefined
  let value = 0
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return undefined
    value = value * 10 + digit
  }
  return value
}

/**
 * Whether `token` ends, after the `@` at `at`, with a row's place as
 * `claimSql` writes it: `(block,offset)`, 1 to 10 and 1 to 5 digits, each
 * in its range. Read a character at a time: a completion reads one per
 * lease, and a pattern's match took about half of `leaseParams`' time.
 */
const isPlaceAfter = (token: string, at: number): boolean => {
  const open = at + 1
  const close = token.length - 1
  if (token.charCodeAt(open) !== 40 || token.charCodeAt(close) !== 41) return false
  const comma = token.indexOf(",", open)
  if (comma < 0) return false
  const block = digitsIn(token, open + 1, comma, 10)
  const offset = digitsIn(token, comma + 1, close, 5)
  return block !== undefined && block <= 4_294_967_295 && offset !== undefined && offset <= 65_535
}

/**
 * A lease's token as its holder has it, split into the token stored in the
 * row and where the row was leased (`claimSql`), or no place: a token not
 * of that form is stored as it is (and matches nothing the store gave out).
 */
export const splitToken = (token: string): { readonly stored: string; readonly place: string | undefined } => {
  const at = token.lastIndexOf("@")
  return at < 0 || !isPlaceAfter(token, at)
    ? { stored: token, place: undefined }
    : { stored: token.slice(0, at), place: token.slice(at + 1) }
}

/**
 * Whether `text` has only the characters of the tokens `claimSql` gives
 * out (the claim's, base64url and a slash, then the job's `seq`): as a
 * JSON string it is itself in quotes, and PostgreSQL can hold it, so
 * neither needs a look of its own.
 */
const isPlainToken = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (!((c >= 47 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95)) return false
  }
  return true
}

/**
 * A stored token as a key of `leaseParams`' JSON object, or none: a token
 * PostgreSQL cannot hold (NUL, half a surrogate pair) is none the store gave
 * out; left out, it matches no lease, rather than fail the batch.
 */
const tokenKey = (stored: string): string | undefined =>
  isPlainToken(stored)
    ? `"${stored}":0`
    : unstorableText(stored) === undefined
    ? `${JSON.stringify(stored)}:0`
    : undefined

/**
 * `leases` as the parameters of `endLeases` (the first two: of
 * `extendSql`): their ids, an array; their stored tokens, the keys of a
 * JSON object (its values mean nothing); and the places of their rows, an
 * array. The store sends both arrays typed (`textArray` in `text.ts`).
 */
export const leaseParams = (leases: ReadonlyArray<Lease>): [Array<string>, string, Array<string>] => {
  const ids = new Array<string>(leases.length)
  const keys: Array<string> = []
  const places: Array<string> = []
  for (let i = 0; i < leases.length; i++) {
    const { stored, place } = splitToken(leases[i]!.token)
    ids[i] = leases[i]!.id
    const key = tokenKey(stored)
    if (key !== undefined) keys.push(key)
    if (place !== undefined) places.push(place)
  }
  return [ids, `{${keys.join(",")}}`, places]
}

