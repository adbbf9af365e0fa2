/**
 * The Redis store's engine: each operation of the `Store` as one of
 * `scripts.ts`, its arguments encoded for the server and its reply decoded.
 * What every engine does around it (empty batches, counts, timeouts, spans)
 * is the store boundary's.
 *
 * Internal: not an entry point of the package.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import type * as Boundary from "../boundary.ts"
import * as Cursor from "../cursor.ts"
import type { Buried, Claimed, Counts, JobInfo, JobState, Lease, Offered, Refused, Upcoming } from "../Store.ts"
import { type StoreError, withDue } from "../Store.ts"
import * as Times from "../times.ts"
import type { Connection } from "./connection.ts"
import { messageOf } from "../../internal/options.ts"
import { storeError, UnexpectedReply } from "./errors.ts"
import * as Listener from "./listener.ts"
import * as Scripts from "./scripts.ts"

/** `""` stands for `undefined` (a payload with no JSON form), which JSON cannot say; no JSON text is empty. */
const decode = (json: unknown): unknown => typeof json === "string" && json !== "" ? JSON.parse(json) : undefined

/** Why a stored payload cannot be read back. */
class Undecodable {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/** The payload of job `id` from its stored text, or why it cannot be read (it is not JSON: changed by hand). */
const decodeJob = (id: string, json: unknown): unknown => {
  try {
    return decode(json)
  } catch (cause) {
    return new Undecodable(
      `the payload of ${id} is not JSON (${messageOf(cause)}): ` +
        "dead-lettered without running"
    )
  }
}

/** A dead letter's payload, or nothing for one that cannot be read (its error says why). */
const readable = (payload: unknown): unknown => payload instanceof Undecodable ? undefined : payload

/**
 * Whole milliseconds for the server, rounded up so that a short lease is not
 * zero. The store boundary gives no lease or delay past `Times.maxDelay`
 * (`../times.ts`); the `min` is only a guard that keeps the scores in range.
 */
const millis = (duration: Duration.Duration): string =>
  String(Math.max(0, Math.ceil(Math.min(Duration.toMillis(duration), Times.maxDelay))))

/**
 * A time of a job's own: `d<ms>` after the server's now, `a<ms>` an
 * instant, '' none. The store boundary gave no delay past `Times.maxDelay`
 * and no run-at past `Times.latestRunAt` (`../times.ts`): the `min`s are
 * only guards.
 */
const timeArg = (job: Offered): string =>
  job.delay !== undefined
    ? `d${Math.ceil(Math.min(job.delay, Times.maxDelay))}`
    : job.runAt !== undefined
    ? `a${Math.ceil(Math.min(job.runAt, Times.latestRunAt))}`
    : ""

/**
 * `offerScript`'s arguments: the plain shape (id, payload) when no job of
 * the batch has a time, priority or settings of its own, as most batches;
 * the full shape otherwise. A payload with no JSON form (`undefined`) is
 * stored empty, read back as `undefined`.
 */
const offerArgs = (jobs: ReadonlyArray<Offered>, texts: ReadonlyArray<string | undefined>): Array<string> => {
  const plain = jobs.every((job) =>
    job.delay === undefined && job.runAt === undefined && !job.priority && job.settings === undefined
  )
  const args: Array<string> = [plain ? Scripts.offerShape.plain : Scripts.offerShape.full]
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    args.push(job.id, texts[i] ?? "")
    if (!plain) args.push(String(job.priority ?? 0), timeArg(job), job.settings === undefined ? "" : `=${job.settings}`)
  }
  return args
}

const leaseArgs = (leases: ReadonlyArray<Lease>): Array<string> => {
  const args: Array<string> = []
  for (const lease of leases) args.push(lease.id, lease.token)
  return args
}

/** `upcomingScript`'s ARGV: the limit, then the place `after` names (a score and an id; empty for the first page). */
const upcomingArgs = (limit: number, after: string | undefined): Array<string> =>
  after === undefined ? [String(limit), "", ""] : [String(limit), Cursor.number(after), Cursor.idOf(Cursor.tail(after))]

const asArray = (reply: unknown): ReadonlyArray<unknown> => {
  if (!Array.isArray(reply)) throw new UnexpectedReply(`unexpected reply from Redis: ${String(reply)}`)
  return reply
}

/**
 * Decodes a reply with `read`; a reply it cannot read (not what the script
 * returns, or a payload that is not JSON) is not the connection's fault.
 */
const reading = <A>(read: (reply: unknown) => A, reply: unknown): A => {
  try {
    return read(reply)
  } catch (cause) {
    throw cause instanceof UnexpectedReply ? cause : new UnexpectedReply(`unreadable reply from Redis: ${String(cause)}`)
  }
}

/** `due`'s answer as the scripts give it: milliseconds, or nil for none. */
const untilDue = (reply: unknown): number | undefined => reply === null || reply === undefined ? undefined : Number(reply)

/**
 * The ids one script of `redrive` or `remove` takes. The server runs
 * nothing else while a script runs: a call of a million ids is a thousand
 * scripts of a few milliseconds each, not one that stalls every client of
 * the server for seconds. (Each id is independent of the others; one given
 * twice, in two slices, is taken by the first.)
 */
export const idsPerScript = 1_000

/** The engine on `connection`. */
export const makeEngine = (connection: Connection): Boundary.Engine => {
  const keysOf = Scripts.lastKeys()
  /** Runs `script` on `queue` and decodes its reply. */
  const run = <A>(
    operation: string,
    queue: string,
    script: Scripts.Script,
    args: () => ReadonlyArray<string>,
    read: (reply: unknown) => A
  ): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({
      try: async () => reading(read, await Scripts.evaluate(connection.client, script, keysOf(queue), args())),
      catch: (cause) => storeError(operation, connection, cause)
    })

  /** `script` on `ids`, `idsPerScript` at a time, one after another: how many it took in all. */
  const bySlices = (operation: string, script: Scripts.Script) => (queue: string, ids: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      let taken = 0
      for (let from = 0; from < ids.length; from += idsPerScript) {
        const slice = ids.length <= idsPerScript ? ids : ids.slice(from, from + idsPerScript)
        taken += yield* run(operation, queue, script, () => slice, Number)
      }
      return taken
    })

  const done = () => undefined
  /** A script that ends one lease answers 1 if it held it, 0 if not. */
  const tookLease = (reply: unknown): boolean => reply === 1
  const idList = (reply: unknown): ReadonlyArray<string> => asArray(reply).map(String)

  return {
    offer: (queue, jobs, texts) =>
      run("offer", queue, Scripts.offerScript, () => offerArgs(jobs, texts), (reply) => {
        const flat = asArray(reply)
        const refused: Array<Refused> = []
        for (let i = 0; i < flat.length; i += 2) {
          refused.push({ id: String(flat[i]), state: flat[i + 1] === "cancelled" ? "cancelled" : "buried" })
        }
        return refused
      }),

    claim: (queue, max, lease) =>
      Effect.suspend(() => {
        // One token for the batch: a lease is proved by id and token together.
        const token = randomUUID()
        return Effect.flatMap(
          run("claim", queue, Scripts.claimScript, () => [String(max), millis(lease), token], (reply) => {
            const flat = asArray(reply)
            // Four elements a job; one more when the claim was short: what `due` would say.
            const end = flat.length - (flat.length % 4)
            const claimed: Array<Claimed> = []
            const poisoned: Array<readonly [id: string, reason: string]> = []
            for (let i = 0; i < end; i += 4) {
              const id = String(flat[i])
              const payload = decodeJob(id, flat[i + 1])
              const settings = flat[i + 3]
              if (payload instanceof Undecodable) poisoned.push([id, payload.reason])
              else {
                claimed.push(
                  typeof settings === "string"
                    ? { id, payload, attempt: Number(flat[i + 2]), token, settings }
                    : { id, payload, attempt: Number(flat[i + 2]), token }
                )
              }
            }
            // Short: the script read what `due` says, so that an idle worker need not ask (`ClaimedJobs`).
            return { claimed: end < flat.length ? withDue(claimed, untilDue(flat[end])) : claimed, poisoned }
          }),
          ({ claimed, poisoned }) =>
            // A payload that is not JSON (changed by hand) is dead-lettered by itself; the rest of the claim goes on.
            poisoned.length === 0 ? Effect.succeed(claimed) : Effect.as(
              Effect.forEach(poisoned, ([id, reason]) =>
                run("claim", queue, Scripts.buryScript, () => [id, token, reason], done), { discard: true }),
              claimed
            )
        )
      }),

    complete: (queue, leases, completion) =>
      run(
        "complete",
        queue,
        completion?.keep === false ? Scripts.completeDeletingScript : Scripts.completeScript,
        () => leaseArgs(leases),
        done
      ),

    retry: (queue, lease, delay, retrying) =>
      run("retry", queue, Scripts.retryScript, () => [
        lease.id,
        lease.token,
        millis(delay),
        retrying?.attemptGivenBack === true ? "1" : "0"
      ], tookLease),

    bury: (queue, lease, error) => run("bury", queue, Scripts.buryScript, () => [lease.id, lease.token, error], tookLease),

    release: (queue, leases) => run("release", queue, Scripts.releaseScript, () => leaseArgs(leases), done),

    extend: (queue, leases, lease) =>
      run("extend", queue, Scripts.extendScript, () => [millis(lease), ...leaseArgs(leases)], idList),

    counts: (queue) =>
      run("counts", queue, Scripts.countsScript, () => [], (reply): Counts => {
        const [ready, leased, completed, buried] = asArray(reply).map(Number)
        return { ready: ready!, leased: leased!, completed: completed!, buried: buried! }
      }),

    buried: (queue, limit, maxPayloadBytes, after) =>
      run("buried", queue, Scripts.buriedScript, () => [String(limit), String(maxPayloadBytes ?? ""), after === undefined ? "" : Cursor.number(after)], (reply) => {
        const flat = asArray(reply)
        const out: Array<Buried> = []
        for (let i = 0; i < flat.length; i += 5) {
          out.push({
            id: String(flat[i]),
            // Left out by the script (over `maxPayloadBytes`): Redis answers a Lua `false` as a null.
            payload: flat[i + 1] === null ? undefined : readable(decodeJob(String(flat[i]), flat[i + 1])),
            attempts: Number(flat[i + 2] ?? 0),
            error: String(flat[i + 3] ?? ""),
            cursor: String(flat[i + 4])
          })
        }
        return out
      }),

    listen: (queue) => Listener.listen(connection, queue),

    upcoming: (queue, limit, after) =>
      run("upcoming", queue, Scripts.upcomingScript, () => upcomingArgs(limit, after), (reply) => {
        const flat = asArray(reply)
        const out: Array<Upcoming> = []
        for (let i = 0; i < flat.length; i += 3) {
          const id = String(flat[i])
          const score = String(flat[i + 1])
          out.push({ id, runAt: new Date(Number(score)), attempts: Number(flat[i + 2] ?? 0), cursor: Cursor.withId(score, id) })
        }
        return out
      }),

    due: (queue) => run("due", queue, Scripts.dueScript, () => [], untilDue),

    pause: (queue, paused) => run("pause", queue, Scripts.pauseScript, () => [paused ? "1" : ""], (reply) => reply === 1),

    paused: (queue) => run("paused", queue, Scripts.pausedScript, () => [], (reply) => reply === 1),

    lookup: (queue, id) =>
      run("lookup", queue, Scripts.lookupScript, () => [id], (reply): JobInfo | undefined => {
        const flat = asArray(reply)
        if (flat.length === 0) return undefined
        const [state, attempts, runAt, error, priority] = flat.map(String)
        return {
          id,
          state: state as JobState,
          attempts: Number(attempts),
          runAt: runAt === "" ? undefined : new Date(Number(runAt)),
          priority: Number(priority),
          error: state === "buried" ? error : undefined
        }
      }),

    redrive: bySlices("redrive", Scripts.redriveScript),

    remove: bySlices("remove", Scripts.removeScript),

    cancel: (queue, id) =>
      run("cancel", queue, Scripts.cancelScript, () => [id], (reply) => reply === null ? undefined : String(reply) as JobState),

    cancelWaiting: (queue, limit) => run("cancelWaiting", queue, Scripts.cancelWaitingScript, () => [String(limit)], Number),

    purge: (queue, retention, limit) =>
      run("purge", queue, Scripts.purgeScript, () => [millis(retention.completed), millis(retention.buried), String(limit)], Number)
  }
}
