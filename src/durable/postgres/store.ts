/**
 * The PostgreSQL store's engine: each operation of the `Store` as one of
 * `statements.ts` on a pooled connection, its parameters typed for the
 * server and its rows read back. What every engine does around it (empty
 * batches, counts, timeouts, spans) is the store boundary's.
 *
 * Internal: not an entry point of the package.
 */
import * as PgTypes from "@effect/sql-pg/PgTypes"
import * as Effect from "effect/Effect"
import { randomFillSync } from "node:crypto"
import type * as Boundary from "../boundary.ts"
import * as Cursor from "../cursor.ts"
import type { Buried, Claimed, Counts, JobInfo, JobState, Lease, Refused, Upcoming } from "../Store.ts"
import { StoreError, withDue } from "../Store.ts"
import { isUniqueViolation, storeError } from "./errors.ts"
import { type Limits, oversizedReason } from "./limits.ts"
import * as Listener from "./listener.ts"
import type { Runner } from "./runner.ts"
import * as Sql from "./statements.ts"
import { encodeJobs, textArray } from "./text.ts"

/** The random bytes of one claim's token. */
const tokenBytes = 12

/** How many claims' tokens are drawn at once. */
export const tokensPerDraw = 256

/**
 * Claim tokens, each the next `tokenBytes` of bytes that `draw` fills for
 * `tokensPerDraw` claims at a time, as 16 `base64url` characters and a
 * slash. Nothing is drawn until the first token is asked for.
 */
export const tokenSource = (draw: (bytes: Buffer) => void): () => string => {
  const bytes = Buffer.alloc(tokenBytes * tokensPerDraw)
  let used = bytes.length
  return () => {
    if (used === bytes.length) {
      draw(bytes)
      used = 0
    }
    const token = bytes.toString("base64url", used, used + tokenBytes)
    used += tokenBytes
    return `${token}/`
  }
}

/**
 * A claim's fresh token, which each lease extends with its job's `seq`
 * (`claimSql`): 96 random bits as 16 characters. Every claimed row and
 * every answer carries it, and a UUID's 36 characters wrote 30 bytes of WAL
 * more per claimed job (388 against 358 bytes, on half-full pages).
 *
 * The bits are drawn for many claims at once: `randomBytes(12)` at each
 * claim took 88-115 µs after a 20 ms pause (5-6 µs back to back), on the
 * way from a notification to its claim; a token cut from bytes drawn ahead,
 * 10-18 µs (0.2 µs back to back). `bench/results-durable.md`'s notes say
 * how this was measured.
 */
const claimToken = tokenSource(randomFillSync)

/**
 * A place past every job's time, in µs since the epoch: a run-at is at most
 * 8.64e18 µs (`Times.latestRunAt`), and the statements' arithmetic on a time
 * (an interval of µs, a timestamp) overflows a little past 9.2e18.
 */
const pastEveryTime = "9000000000000000000"

/**
 * A listing's `after` as the statement's two `int8` parameters (µs since the
 * epoch, `seq`): NULLs for none; a time past `pastEveryTime` read as that
 * place, after every job. (A cursor's `seq` has at most 18 digits, which
 * an `int8` always holds.)
 */
const placeOf = (after: string | undefined): readonly [string | null, string | null] => {
  if (after === undefined) return [null, null]
  const [micros, seq] = Cursor.parts(after)
  return [Cursor.atMost(micros, pastEveryTime), seq]
}

/** The engine on `runner`, refusing to send payloads over `limits`. */
export const makeEngine = (runner: Runner, limits: Limits): Boundary.Engine => {
  /**
   * Runs one statement, prepared, on the store's own connections, its
   * failure as a `StoreError`. Never in the application's transaction, even
   * when called inside one: there a cancel's or an acknowledgement's count
   * would hold its session's counter row (which the store's own sessions
   * write too) until the application commits, and a durable pool made
   * inside a transaction would claim in it, and after it.
   */
  const run = (operation: string, sql: string, params: ReadonlyArray<unknown>) =>
    Effect.mapError(runner.runOwn(sql, params, true), storeError(operation))

  /** An offer's statement: the one statement that joins the application's transaction, if one is open. */
  const offerRun = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.mapError(runner.run(sql, params, true), storeError("offer"))

  /** A statement that ends one lease answers a row if it held it, none if not. */
  const tookLease = (rows: Effect.Effect<ReadonlyArray<unknown>, StoreError>) => Effect.map(rows, (answered) => answered.length > 0)

  /** A payload from its JSON text; undefined for one too large to send (NULL instead). */
  const payloadOf = (text: unknown): unknown => typeof text === "string" ? JSON.parse(text) : undefined

  /**
   * An offer of ids the producer made, without looking for each first; one
   * stored after all (two random ids alike, a batch sent twice) fails that
   * statement, of which no job, count or notification comes, and the offer
   * is made as any other. Not in the client's transaction, which the
   * failure would abort.
   */
  const offerNew = (params: ReadonlyArray<unknown>) =>
    Effect.mapError(
      Effect.catchIf(runner.run(Sql.offerNewSql, params, true), isUniqueViolation, () => runner.run(Sql.offerSql, params, true)),
      storeError("offer")
    )

  /** Ends `leases` with `sql`, one prepared statement whatever the batch's size (see `holds` in `statements.ts`). */
  const endAll = (operation: string, sql: string, queue: string, leases: ReadonlyArray<Lease>) => {
    const [ids, tokens, places] = Sql.leaseParams(leases)
    return Effect.asVoid(run(operation, sql, [queue, textArray(ids), tokens, textArray(places)]))
  }

  return {
    offer: (queue, jobs, texts, options) =>
      Effect.suspend(() => {
        const encoded = encodeJobs(jobs, texts, limits.deliverable)
        if (typeof encoded === "string") {
          return Effect.fail(new StoreError({ operation: "offer", reason: encoded, retryable: false }))
        }
        const { delays, ids, payloads, priorities, runAts, settings } = encoded
        const params = [queue, ids, payloads, delays, runAts, priorities, settings]
        return Effect.flatMap(runner.inTransaction, (inTransaction) =>
          Effect.map(
            // The transaction first: there the plain insert's failure would abort the client's transaction.
            inTransaction
              ? offerRun(Sql.offerInTransactionSql, params)
              : options?.newIds === true
              ? offerNew(params)
              : offerRun(Sql.offerSql, params),
            // A row of NULLs says the offer notified the listeners.
            (rows) =>
              rows.flatMap((row): Array<Refused> =>
                row[0] === null ? [] : [{ id: row[0] as string, state: row[1] as Refused["state"] }]
              )
          ))
      }),

    claim: (queue, max, lease, options) =>
      Effect.suspend(() =>
        Effect.flatMap(
          run("claim", options?.readyOnly === true ? Sql.claimReadySql : Sql.claimSql, [
            queue,
            PgTypes.int4(max),
            Sql.millis(lease),
            claimToken(),
            PgTypes.int4(limits.deliverable)
          ]),
          (rows) => {
            const jobs: Array<Claimed> = []
            const poisoned: Array<{ readonly lease: Lease; readonly reason: string }> = []
            for (const row of rows) {
              // No job: the row that carries only the reading of `due`, when nothing was leased.
              if (row[0] === null) continue
              const id = row[0] as string
              const token = row[3] as string
              if (row[1] === null) {
                poisoned.push({ lease: { id, token }, reason: oversizedReason(id, row[4] as number, limits.deliverable) })
              } else {
                const payload = payloadOf(row[1])
                const attempt = row[2] as number
                const settings = row[5] as string | null
                // Two literals rather than spreads: a claim makes one a job, and a spread costs a fifth more.
                jobs.push(settings === null ? { id, token, payload, attempt } : { id, token, payload, attempt, settings })
              }
            }
            // Short: the claim read what `due` says (every row carries it), so that an idle worker need not ask.
            const claimed = jobs.length + poisoned.length < max
              ? withDue(jobs, (rows[0]?.[6] ?? undefined) as number | undefined)
              : jobs
            // A row too large to deliver is dead-lettered by itself; the rest of the claim goes on.
            return poisoned.length === 0 ? Effect.succeed(claimed) : Effect.as(
              Effect.forEach(poisoned, ({ lease, reason }) =>
                run("claim", Sql.burySql, [queue, lease.id, Sql.splitToken(lease.token).stored, reason]), { discard: true }),
              claimed
            )
          }
        )
      ),

    complete: (queue, leases, completion) =>
      endAll("complete", completion?.keep === false ? Sql.completeDeletingSql : Sql.completeSql, queue, leases),

    retry: (queue, lease, delay, retrying) =>
      tookLease(run("retry", retrying?.attemptGivenBack === true ? Sql.snoozeSql : Sql.retrySql, [
        queue,
        lease.id,
        Sql.splitToken(lease.token).stored,
        Sql.millis(delay)
      ])),

    bury: (queue, lease, error) =>
      tookLease(run("bury", Sql.burySql, [queue, lease.id, Sql.splitToken(lease.token).stored, error])),

    release: (queue, leases) => endAll("release", Sql.releaseSql, queue, leases),

    extend: (queue, leases, lease) => {
      const [ids, tokens] = Sql.leaseParams(leases)
      return Effect.map(run("extend", Sql.extendSql, [queue, textArray(ids), tokens, Sql.millis(lease)]), (rows) => {
        const renewed = new Set<unknown>()
        for (const row of rows) renewed.add(row[0])
        return renewed.size === ids.length ? [] : Array.from(new Set(ids)).filter((id) => !renewed.has(id))
      })
    },

    counts: (queue) =>
      Effect.map(run("counts", Sql.countsSql, [queue]), ([row]): Counts => ({
        ready: row![0] as number,
        leased: row![1] as number,
        completed: row![2] as number,
        buried: row![3] as number
      })),

    pause: (queue, paused) =>
      paused
        ? Effect.map(run("pause", Sql.pauseSql, [queue]), (rows) => rows.length > 0)
        : Effect.map(run("pause", Sql.resumeSql, [queue]), ([row]) => row![0] === true),

    paused: (queue) => Effect.map(run("paused", Sql.pausedSql, [queue]), ([row]) => row![0] === true),

    buried: (queue, limit, maxPayloadBytes = limits.deliverable, after) => {
      const [endedAt, seq] = placeOf(after)
      const most = PgTypes.int4(Math.min(maxPayloadBytes, limits.deliverable))
      return Effect.map(
        run("buried", Sql.buriedSql, [queue, PgTypes.int4(limit), most, endedAt, seq]),
        (rows) =>
          rows.map((row): Buried => ({
            id: row[0] as string,
            payload: payloadOf(row[1]),
            attempts: row[2] as number,
            error: row[3] as string,
            cursor: row[4] as string
          }))
      )
    },

    listen: (queue) => Listener.listen(runner, queue),

    // A second claim in flight reads past the rows the first one holds locked (`claimSql`).
    overlappingClaimsCostly: true,

    upcoming: (queue, limit, after) =>
      Effect.map(
        run("upcoming", Sql.upcomingSql, [queue, PgTypes.int4(limit), ...placeOf(after)]),
        (rows) =>
          rows.map((row): Upcoming => ({
            id: row[0] as string,
            runAt: new Date(row[1] as number),
            attempts: row[2] as number,
            cursor: row[3] as string
          }))
      ),

    due: (queue) => Effect.map(run("due", Sql.dueSql, [queue]), ([row]) => row === undefined ? undefined : row[0] as number),

    lookup: (queue, id) =>
      Effect.map(run("lookup", Sql.lookupSql, [queue, id]), ([row]): JobInfo | undefined =>
        row === undefined ? undefined : {
          id,
          state: row[0] as JobState,
          attempts: row[1] as number,
          priority: row[4] as number,
          runAt: row[2] === null ? undefined : new Date(row[2] as number),
          error: row[0] === "buried" ? (row[3] as string | null) ?? "" : undefined
        }),

    redrive: (queue, ids) => Effect.map(run("redrive", Sql.redriveSql, [queue, ids]), ([row]) => row![0] as number),

    remove: (queue, ids) => Effect.map(run("remove", Sql.removeSql, [queue, ids]), ([row]) => row![0] as number),

    cancel: (queue, id) =>
      Effect.map(run("cancel", Sql.cancelSql, [queue, id]), ([row]) => row === undefined ? undefined : row[0] as JobState),

    cancelWaiting: (queue, limit) =>
      Effect.map(run("cancelWaiting", Sql.cancelWaitingSql, [queue, PgTypes.int4(limit)]), ([row]) => row![0] as number),

    purge: (queue, retention, limit) =>
      Effect.gen(function*() {
        // The counts of committed transactions' offers first, a batch at a time while batches come back full.
        for (let batch = 0; batch < Sql.foldBatchesAPurge; batch++) {
          const [folded] = yield* run("purge", Sql.foldSql, [queue, PgTypes.int4(Sql.foldBatch)])
          if ((folded![0] as number) < Sql.foldBatch) break
        }
        // Completed, then cancelled, then dead letters: a statement each, while the batch has room.
        const ages = [
          ["completed", retention.completed],
          ["cancelled", retention.completed],
          ["buried", retention.buried]
        ] as const
        let purged = 0
        for (const [state, age] of ages) {
          if (purged >= limit) break
          const [row] = yield* run("purge", Sql.purgeSql[state], [queue, Sql.millis(age), PgTypes.int4(limit - purged)])
          purged += row![0] as number
        }
        return purged
      })
  }
}
