/**
 * Where a durable pool keeps its jobs: the few operations a queue engine must
 * offer so that jobs survive a crash or a deploy and several processes can
 * share one queue. Implemented on Redis (`RedisStore`), on PostgreSQL
 * (`PostgresStore`) and in memory (`MemoryStore`, for tests and embedding).
 *
 * The model is a lease (a visibility timeout):
 *
 * - `offer` stores jobs as ready, now or from a time of their own (a
 *   `delay` from the store's now, or a `runAt` instant, both read by the
 *   store's clock, never the caller's). An id already in the queue (in any
 *   state) is not stored twice; the ids it skips because the queue keeps
 *   them as dead letters or cancelled jobs are returned (`Refused`), so that
 *   a caller can say so instead of reporting them accepted.
 * - `claim` takes up to `max` jobs whose time has come, counts an attempt on
 *   each, and leases them to the caller until `lease` from now, under a
 *   fresh `token`. It takes first the jobs whose lease ran out (their worker
 *   died), oldest first; then the ready ones by `priority`, lower first,
 *   strictly (a lower number always goes first: a steady stream of urgent
 *   jobs can hold back the others, by design); and within one priority,
 *   first in first out: jobs offered ready keep their order of offer, and
 *   a job whose time came (a delay, a retry) goes behind those of its
 *   priority that were ready before it. (Where it goes among jobs that
 *   became ready after its time and before the claim that found it is the
 *   engine's: by its time, or by when the claim found it due.)
 * - The holder of a lease then ends it with exactly one of `complete`
 *   (acknowledged: done for good), `retry` (ready again after `delay`),
 *   `bury` (dead-lettered: kept, listed by `buried`) or `release` (cut off:
 *   ready again now, and the attempt is not counted). `extend` renews leases
 *   while jobs run, and answers which of them are no longer held (cancelled
 *   meanwhile, or taken over).
 * - Each of these takes the `token` the job was claimed with and does nothing
 *   if the lease has since passed to someone else: a worker that was
 *   presumed dead cannot undo the work of the one that took over. (A lease
 *   that ran out but was not claimed again yet still belongs to its holder.)
 *   `retry` and `bury` answer whether they took the lease (`Taken`), so
 *   that their caller counts and logs only the endings that happened.
 * - Ended jobs are kept for a while: `purge` removes, in bounded batches,
 *   the completed and cancelled jobs older than one retention and the dead
 *   letters older than another. Until then an id is not stored twice; after,
 *   it is a new job. The completed count is a counter, so it stays exact
 *   when completed jobs are purged.
 * - A caller that keeps no completed jobs (a retention of zero) says so to
 *   `complete` (`{ keep: false }`, `Completion`): the jobs are then deleted
 *   as they complete, as if purged at once (`lookup` no longer finds them,
 *   an offer of the same id stores a new job), and still counted. A store
 *   may ignore it and keep them: `purge` then removes them.
 * - A job can be looked up by id (`lookup`); dead letters and cancelled jobs
 *   can be made ready again with fresh attempts (`redrive`) or deleted
 *   (`remove`); `cancel` stops a job that has not ended: a ready or delayed
 *   one at once, a leased one too (its holder learns it from its next
 *   `extend`, and its ending operations then do nothing).
 * - `listen` (optional) tells a waiting worker that jobs were stored or
 *   made ready, so that it claims them at once instead of at its next poll:
 *   `offer` (delayed jobs too), `release`, `retry` and `redrive` notify a
 *   queue's listeners once they are stored (on PostgreSQL, when their
 *   transaction commits). A notification only hastens a claim: one that is
 *   lost (a listener reconnecting) costs a poll's wait, never a job. Time
 *   notifies no one (a delay over, a lease run out): `due` (optional) says
 *   how long until the earliest job waiting for its time may be claimed, so
 *   that an idle worker sleeps until then, and not a poll longer; a claim
 *   that comes back short says it too (`ClaimedJobs`), without a round trip
 *   of its own.
 *
 * So a job is delivered at least once: it is acknowledged only after its
 * handler ended, and a worker that dies mid-job gives it back when its lease
 * runs out.
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"

/**
 * The store could not be reached, did not answer in time, or refused an
 * operation. The operation may or may not have happened, and every operation
 * is safe to retry: offers skip known ids, ending operations check their
 * token, and a claim whose answer was lost just waits out its lease.
 *
 * Safe is not useful, though: `retryable` says whether trying again can
 * help. It is true for a passing outage (the connection was lost or refused,
 * no answer in time, a server starting, busy or out of connections), false
 * for a refusal that the same call would meet again (text PostgreSQL cannot
 * store, an id that is not a string, a queue's name no store can keep, a
 * key of the wrong type in Redis, a right the role lacks, at a store's
 * start TLS the settings cannot have (a server without it, a certificate
 * this process does not trust), a store at a schema version newer than this
 * code knows). An error
 * constructed without saying is retryable, as every `StoreError` was taken
 * to be before the distinction. `cause` keeps what
 * the engine's client failed with, when there was one.
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  /** What was being done: "connect", "offer", "claim"... */
  operation: Schema.String,
  reason: Schema.String,
  /** Whether the same operation, tried again later, can succeed. */
  retryable: Schema.Boolean.pipe(Schema.withConstructorDefault(Effect.succeed(true))),
  /** The engine client's own error, if any. */
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `the job store failed to ${doing[this.operation] ?? this.operation}: ${this.reason}`
  }
}

/** The store's operations said as what they do, for messages. */
const doing: Record<string, string> = {
  counts: "count the queue",
  lookup: "look a job up",
  redrive: "redrive jobs",
  remove: "remove jobs",
  cancel: "cancel a job",
  purge: "purge ended jobs",
  buried: "list the dead letters",
  extend: "extend leases",
  release: "release leases",
  complete: "complete jobs",
  bury: "dead-letter a job",
  retry: "schedule a retry",
  claim: "claim jobs",
  offer: "offer jobs",
  listen: "listen for new jobs",
  due: "find when the next job is due"
}

/** The lowest `priority` a job may have (it runs first). */
export const minPriority = -1000

/** The highest `priority` a job may have (it runs last). */
export const maxPriority = 1000

/**
 * The longest `settings` text a job may carry: a few numbers, not a
 * payload.
 */
export const maxSettingsLength = 1024

/**
 * A job to store: its id and its payload, already encoded to JSON-compatible
 * data, and when and in what order it may run.
 */
export interface Offered {
  readonly id: string
  readonly payload: unknown
  /**
   * Not claimed until this many milliseconds after the store's now: a finite
   * number >= 0. Not with `runAt`. Past `maxDelay` (`times.ts`, a thousand
   * years): `maxDelay`.
   */
  readonly delay?: number | undefined
  /**
   * Not claimed before this instant, in milliseconds since the epoch, by the
   * store's clock (one in the past: ready now). Not with `delay`. Past the
   * last instant a JavaScript `Date` holds (year 275760): that instant
   * (`../times.ts`'s `latestRunAt`).
   */
  readonly runAt?: number | undefined
  /** Lower runs first: an integer from `minPriority` to `maxPriority`. Default 0. */
  readonly priority?: number | undefined
  /**
   * The job's own settings, as text the store keeps with it and gives back
   * with each claim, unread (the durable pool keeps a job's own
   * `maxAttempts` and retry delays here). At most `maxSettingsLength`
   * characters.
   */
  readonly settings?: string | undefined
}

/** A job leased to a worker. */
export interface Claimed {
  readonly id: string
  /** The encoded payload, as offered. */
  readonly payload: unknown
  /** This attempt's number, from 1: claims so far, not counting released ones. */
  readonly attempt: number
  /** Proves the lease: the ending operations do nothing with a stale one. */
  readonly token: string
  /** The job's own `settings`, as offered; undefined if it had none. */
  readonly settings?: string | undefined
}

/** What `due` answers, as a reading: milliseconds until the earliest waiting job may be claimed, undefined if none waits. */
export interface DueReading {
  readonly untilDue: number | undefined
}

/**
 * What a claim answers: the jobs it leased, in the order it took them; and,
 * when it came back short (fewer than `max`: nothing else was ready), what
 * `due` would have answered at that instant, if the engine read it on the
 * way. An idle worker sleeps by it without asking `due`: any job stored
 * afterwards notifies, so the reading holds until a notification or a
 * poll. A plain array (no reading) is a claim too: the worker then asks.
 */
export interface ClaimedJobs extends ReadonlyArray<Claimed> {
  readonly due?: DueReading | undefined
}

/**
 * `jobs`, a claim's answer, with the reading of `due` it made (`untilDue`:
 * milliseconds, undefined if none waits). The reading is not enumerable: the
 * answer compares, spreads and serializes as the plain array of jobs it is.
 */
export const withDue = (jobs: Array<Claimed>, untilDue: number | undefined): ClaimedJobs =>
  Object.defineProperty(jobs, "due", { value: { untilDue } })

/**
 * How a claim may narrow what it looks at. `readyOnly`: the worker was woken
 * by a notification, has made a full claim within its poll interval and
 * knows of no job due now, so the claim need only take jobs ready now; it
 * may leave leases that ran out and jobs whose time came to a later full
 * claim, and still answers `due` when short (a job due now reads 0: the
 * worker's next claim is full). A hint: an engine whose full claim costs no
 * more (memory, Redis) ignores it.
 */
export interface ClaimOptions {
  readonly readyOnly?: boolean | undefined
}

/** `ClaimOptions` asking for ready jobs only: one object, shared by every claim that asks. */
export const readyOnlyClaim: ClaimOptions = { readyOnly: true }

/**
 * What an offer may assume (`Store.offer`). `newIds`: every id of the batch
 * was made by the producer for this offer (the caller gave none), so that
 * none is expected to be stored already: an engine may store the jobs
 * without first looking for each id, and must still answer as `offer` does
 * when one is there after all (two random ids alike, or a caller that sends
 * one batch twice with the hint). A hint: an engine whose look costs
 * nothing more (memory, Redis) ignores it.
 */
export interface OfferOptions {
  readonly newIds?: boolean | undefined
}

/** `OfferOptions` for a batch of ids the producer made: one object, shared by every offer that says so. */
export const newIdsOffer: OfferOptions = { newIds: true }

/** A dead-lettered job. */
export interface Buried {
  readonly id: string
  readonly payload: unknown
  readonly attempts: number
  /** Why it was buried: the last failure, rendered. */
  readonly error: string
  /**
   * Where it stands among the queue's dead letters, for `buried`'s `after`
   * (the next page begins after it): text of digits with at most one `.`,
   * then maybe `:` and base64url, read only by the store that gave it. It
   * stays valid once this dead letter is redriven or removed. Every store
   * of this package gives one; a store that gives none cannot be paged.
   */
  readonly cursor?: string | undefined
}

/**
 * Where a job is in its life. `ready` includes a retry waiting for its delay
 * (its `runAt` is then in the future); `cancelled` is a job `cancel` stopped.
 */
export type JobState = "ready" | "leased" | "completed" | "buried" | "cancelled"

/** An offered id the store did not take: the queue keeps it as a dead letter or a cancelled job. */
export interface Refused {
  readonly id: string
  readonly state: "buried" | "cancelled"
}

/** A job that waits in the store for its time, as `upcoming` lists it. */
export interface Upcoming {
  readonly id: string
  /** When it may be claimed, by the store's clock (past: due, and no claim has taken it yet). */
  readonly runAt: Date
  /** Deliveries so far: 0 for a delayed job, more for a retry waiting for its delay. */
  readonly attempts: number
  /**
   * Where it stands among the queue's waiting jobs, for `upcoming`'s
   * `after` (the next page begins after it), of the form of a dead letter's
   * `cursor`, read only by the store that gave it. It stays valid once this
   * job is claimed, cancelled or removed. Every store of this package gives
   * one; a store that gives none cannot be paged.
   */
  readonly cursor?: string | undefined
}

/** A job as `lookup` finds it. */
export interface JobInfo {
  readonly id: string
  readonly state: JobState
  /** Attempts counted so far (a redriven job starts again from 0). */
  readonly attempts: number
  /** Ready: when it may be claimed (in the future for a delayed job or a retry waiting). Leased: when its lease runs out. Otherwise undefined. */
  readonly runAt: Date | undefined
  /** Its priority, as offered: lower runs first. */
  readonly priority: number
  /** A dead letter's reason: its last failure, rendered. Otherwise undefined. */
  readonly error: string | undefined
}

/** How long ended jobs are kept before `purge` removes them. */
export interface Retention {
  /** Completed and cancelled jobs: this long after they ended. */
  readonly completed: Duration.Duration
  /** Dead letters: this long after they were buried. */
  readonly buried: Duration.Duration
}

/** How many jobs of a queue are in each state (cancelled jobs are not counted: `lookup` shows them). */
export interface Counts {
  /** Ready now or later (retries waiting for their delay). */
  readonly ready: number
  /** Leased to a worker (including leases that ran out and are not yet reclaimed). */
  readonly leased: number
  readonly completed: number
  readonly buried: number
}

/** One lease, as the ending operations name it. */
export interface Lease {
  readonly id: string
  readonly token: string
}

/**
 * Whether an ending took its lease: `false` if the lease was no longer held
 * (the job cancelled, or claimed again once its lease ran out), so that the
 * ending changed nothing. Every store of this package answers `true` or
 * `false`; a store of one's own may answer nothing, and its endings then
 * count as taken.
 */
export type Taken = boolean | void

/** How `retry` makes a job ready again. */
export interface Retrying {
  /**
   * True: the delivery is not counted (a snooze, `Durable.Snooze`): the
   * job's attempts go back down by one, so that its next delivery has the
   * same attempt number and no attempt of its `maxAttempts` is spent. A
   * store that ignores it counts the attempt, as a plain retry does. Default
   * false.
   */
  readonly attemptGivenBack?: boolean | undefined
}

/** How `complete` ends its leases. */
export interface Completion {
  /**
   * False: the completed jobs need not be kept (the caller's retention of
   * completed jobs is zero), so the store deletes them as it completes them
   * instead of keeping them for `purge`. Default true.
   */
  readonly keep?: boolean | undefined
}

/**
 * The operations, as every engine keeps them (the store boundary,
 * `boundary.ts`, applies these rules the same way for each):
 *
 * - Counts of jobs: `max` and `limit` are rounded down to a whole number and
 *   held to at most 2,147,483,647 (PostgreSQL's `integer`, the narrowest
 *   engine's); below 1, or not a number, they ask for nothing, and the answer
 *   is empty without a round trip.
 * - An empty batch (`offer`, `complete`, `release`, `extend`, `redrive` or
 *   `remove` of no job) does nothing, without a round trip: it succeeds even
 *   while the server is down.
 * - `offer`, `redrive` and `remove` refuse the whole batch, changing
 *   nothing, when an id is not one every store can keep: not a string, or
 *   holding the NUL character or half of a UTF-16 surrogate pair, or more
 *   than 1,024 bytes of UTF-8 (a `StoreError` that is not retryable); so do
 *   `lookup` and `cancel` for their id.
 * - Every operation refuses a queue's name that not every store can keep
 *   (a `StoreError` that is not retryable, before the engine is asked): one
 *   that is not a non-empty string, or holds the NUL character or half of a
 *   UTF-16 surrogate pair, or is longer than 512 bytes of UTF-8
 *   (PostgreSQL would refuse it, or read `X\ud800` and `X\udbff` as one
 *   queue). An operation that asks nothing (an empty batch, a count below 1)
 *   succeeds without looking.
 * - `offer` refuses the whole batch too when a job's `delay`, `runAt`,
 *   `priority` or `settings` is not as `Offered` says (a `delay` with a
 *   `runAt`, a priority that is not a whole number in range, settings
 *   holding the NUL character or half of a surrogate pair...), naming the
 *   job and the field; and when a payload's JSON text is
 *   larger than the engine takes, naming the job and the limit (PostgreSQL:
 *   8 MiB by default; Redis: the server's `proto-max-bulk-len`; memory: 8 MiB),
 *   or when a payload has none (a cycle); the text measured is the text stored.
 * - `complete`, `release` and `extend` refuse the whole batch, ending
 *   nothing, when it is not an array of leases (objects whose `id` and
 *   `token` are strings), naming the first that is not; so do `retry` and
 *   `bury` for their lease, and `bury` for an error that is not a string (a
 *   `StoreError` that is not retryable). A dead letter's error is kept as
 *   every store keeps text: without the NUL character, half of a surrogate
 *   pair as U+FFFD.
 * - A negative delay of a retry is none; `claim` and `extend` refuse a
 *   lease that is not longer than zero (a `StoreError` that is not
 *   retryable): it would run out as it is given.
 * - `offer` answers each skipped id once, however often its batch holds it.
 * - A server's engine bounds each operation by its `commandTimeout`: past
 *   it, the operation fails with a retryable `StoreError` ("no answer within
 *   N ms") without waiting for the server to let go of it. A store of your
 *   own is bounded alike by its own (`Store.commandTimeout`): the operation
 *   is interrupted in the background, never waited for.
 * - Whatever else goes wrong, even a bug (a defect) in an engine, is a
 *   `StoreError` naming the operation (not retryable); so is an operation on
 *   a server's store whose scope has closed.
 * - Each operation that reaches an engine runs in a span, `Store.<operation>`
 *   (`Store.claim`...), with the queue and the engine as attributes.
 * - `listen`'s listener lives in a scope of its own, closed in the
 *   background when the caller's scope closes: closing it never waits for a
 *   server that hangs. Setting it up is bounded like any operation.
 */
export interface Store {
  /**
   * Stores the jobs whose ids are new; returns the ids skipped because they
   * are dead letters or cancelled. `options` may say more of the ids (`OfferOptions`).
   */
  readonly offer: (
    queue: string,
    jobs: ReadonlyArray<Offered>,
    options?: OfferOptions
  ) => Effect.Effect<ReadonlyArray<Refused>, StoreError>
  /**
   * Claims up to `max` jobs (at least 1, unless none is ready: then an empty
   * array; callers poll). Never waits long: at most a round trip. A claim
   * that comes back short may carry `due`'s reading (`ClaimedJobs`): every
   * engine of this package does. `options` may narrow it (`ClaimOptions`).
   */
  readonly claim: (
    queue: string,
    max: number,
    lease: Duration.Duration,
    options?: ClaimOptions
  ) => Effect.Effect<ClaimedJobs, StoreError>
  /**
   * Completes the jobs whose leases are still held: done for good, counted
   * in `completed`. Kept (an id not stored again, `lookup` says
   * `completed`) until `purge` removes them; with `{ keep: false }`
   * deleted at once instead, as a purge would (a lease no longer held is
   * still left alone). Optional: a store that ignores it keeps them for
   * `purge`, which is correct too.
   */
  readonly complete: (
    queue: string,
    leases: ReadonlyArray<Lease>,
    completion?: Completion | undefined
  ) => Effect.Effect<void, StoreError>
  /**
   * Makes the job ready again after `delay`, if its lease is still held:
   * `Taken` says whether it was. The delivery counts as an attempt unless
   * `retrying.attemptGivenBack`.
   */
  readonly retry: (
    queue: string,
    lease: Lease,
    delay: Duration.Duration,
    retrying?: Retrying | undefined
  ) => Effect.Effect<Taken, StoreError>
  /** Dead-letters the job with `error`, if its lease is still held: `Taken` says whether it was. */
  readonly bury: (queue: string, lease: Lease, error: string) => Effect.Effect<Taken, StoreError>
  readonly release: (queue: string, leases: ReadonlyArray<Lease>) => Effect.Effect<void, StoreError>
  /**
   * Renews the leases still held. Returns, once each, the ids none of whose
   * leases among `leases` is still held: their jobs were cancelled (and
   * maybe removed, redriven or purged since), or taken over by another
   * holder once the lease ran out. Their holder should stop those
   * deliveries (the ones under the leases it asked about): their endings
   * would do nothing.
   */
  readonly extend: (
    queue: string,
    leases: ReadonlyArray<Lease>,
    lease: Duration.Duration
  ) => Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly counts: (queue: string) => Effect.Effect<Counts, StoreError>
  /**
   * Dead-lettered jobs, oldest first, at most `limit`. A payload whose JSON
   * text is over `maxPayloadBytes` (UTF-8) comes back as `undefined`, never
   * sent by the store: a listing that shows a preview of each need not
   * carry every payload whole. The text measured is the one the store
   * gives back: on PostgreSQL, `jsonb`'s, which writes a space after each
   * `:` and `,` and numbers in full, so a payload there can measure more.
   * With `after` (a dead letter's `cursor`), the list begins after that
   * dead letter's place, whether it is still there or not.
   */
  readonly buried: (
    queue: string,
    limit: number,
    maxPayloadBytes?: number,
    after?: string
  ) => Effect.Effect<ReadonlyArray<Buried>, StoreError>
  /** The job `id`, or undefined if the queue does not hold it (never offered, or purged). */
  readonly lookup: (queue: string, id: string) => Effect.Effect<JobInfo | undefined, StoreError>
  /**
   * Makes the dead letters and cancelled jobs among `ids` ready again now,
   * their attempts counted from 0 and their error cleared. Other ids are
   * left as they are. Returns how many were redriven.
   */
  readonly redrive: (queue: string, ids: ReadonlyArray<string>) => Effect.Effect<number, StoreError>
  /** Deletes the dead letters and cancelled jobs among `ids`; other ids are left. Returns how many. */
  readonly remove: (queue: string, ids: ReadonlyArray<string>) => Effect.Effect<number, StoreError>
  /**
   * Cancels the job `id` if it has not ended: a ready one (or a retry
   * waiting) becomes `cancelled` now; so does a leased one, whose holder
   * learns it from its next `extend` and whose ending operations then do
   * nothing. Returns the state it found (`ready` or `leased`: cancelled now;
   * another: left as it was), or undefined for an unknown id.
   */
  readonly cancel: (queue: string, id: string) => Effect.Effect<JobState | undefined, StoreError>
  /**
   * Cancels up to `limit` of the jobs of `queue` that wait to be claimed
   * (ready now or later: delayed jobs, retries waiting), each as `cancel`
   * would; leased jobs are left to run. Answers how many it cancelled:
   * fewer than `limit` once no more wait, or none more it can take now
   * (PostgreSQL skips rows a claim has locked); `Admin.cancelWaiting` stops
   * at a short answer. Optional: a store without it
   * cannot cancel a queue's waiting jobs at once (`cancel` them one by one).
   */
  readonly cancelWaiting?: ((queue: string, limit: number) => Effect.Effect<number, StoreError>) | undefined
  /**
   * Deletes up to `limit` ended jobs older than their retention: completed
   * and cancelled ones ended more than `retention.completed` ago, dead
   * letters buried more than `retention.buried` ago. Returns how many. Safe
   * to run from several processes at once (each job is deleted once).
   */
  readonly purge: (queue: string, retention: Retention, limit: number) => Effect.Effect<number, StoreError>
  /**
   * The jobs of `queue` that wait for their time (delayed, run at a later
   * time, retries waiting for their delay), soonest first, at most
   * `limit`: those `due` looks at. Jobs due at the same instant come in the
   * order each engine keeps them cheaply: offered first, first in memory and
   * on PostgreSQL; by id on Redis (a sorted set's ties). In memory "the same
   * instant" is one millisecond: jobs due within it are listed in offer
   * order (a cursor holds whole milliseconds), though claimed by their exact
   * times. With `after` (a listed job's `cursor`), the list begins after
   * that job's place, whether it still waits there or not. Optional: a
   * store without it shows only counts.
   */
  readonly upcoming?:
    | ((queue: string, limit: number, after?: string) => Effect.Effect<ReadonlyArray<Upcoming>, StoreError>)
    | undefined
  /**
   * Pauses (`true`) or resumes (`false`) `queue` for every process that
   * claims from this store. While it is paused, its claims lease nothing
   * and read no `due` (a short claim says none waits), and `due` says none
   * waits: its pools poll, as an idle pool does, without claiming back to
   * back. Everything else goes on: offers, endings of the leases already
   * held, retries, cancels, purges. Resuming notifies the queue's listeners.
   * Returns whether the state changed. Optional, with `paused`: a store
   * without them cannot be paused.
   */
  readonly pause?: ((queue: string, paused: boolean) => Effect.Effect<boolean, StoreError>) | undefined
  /** Whether `queue` is paused (`pause`). Optional, with `pause`. */
  readonly paused?: ((queue: string) => Effect.Effect<boolean, StoreError>) | undefined
  /**
   * How long until the earliest job of `queue` that waits for its time (a
   * delayed job, a retry waiting) may be claimed, in milliseconds by the
   * store's clock: 0 if one may be now, undefined if none waits. (A lease
   * that runs out is not counted: polls find those.) Optional: a store
   * without it is polled.
   */
  readonly due?: ((queue: string) => Effect.Effect<number | undefined, StoreError>) | undefined
  /**
   * Listens for jobs stored or made ready on `queue` (offered, released,
   * retried, redriven), until the scope closes, on a connection of its own. Gives
   * the wait for the next notification: notifications that came while
   * nobody waited are kept (at least one of them), and the wait fails with a
   * `StoreError` once the listener is lost (its connection dropped): listen
   * again. Optional: a store without it is polled.
   */
  readonly listen?: ((queue: string) => Effect.Effect<Effect.Effect<void, StoreError>, StoreError, Scope.Scope>) | undefined
  /**
   * Whether a claim made while another claim of the same pool is in flight
   * pays for the jobs that first claim holds: PostgreSQL's `SKIP LOCKED`
   * reads past each of its rows. A durable pool on such a store starts that
   * second claim only once half its leases are free, or with a large book
   * claims one batch at a time, each for at most half its leases
   * (`claimPolicy` in `fetcher.ts`); on another store, it starts a second
   * claim once its workers' worth of leases is free. Optional: not costly.
   */
  readonly overlappingClaimsCostly?: boolean | undefined
  /**
   * How long each operation of a store of your own may go unanswered: past
   * it, the caller's call fails with a retryable `StoreError` ("no answer
   * within N ms"), as an operation of this package's engines does past
   * their `commandTimeout` option, and the operation is interrupted in the
   * background, never waited for. Read once, when a pool, producer or admin
   * is given the store. `listen`'s set-up is bounded by it, its wait for a
   * notification is not. Our engines' stores do not carry it (their option
   * bounds them); a store of yours that keeps some of their operations
   * leaves those to that option. Optional: 5 seconds; `"Infinity"` for no
   * bound.
   */
  readonly commandTimeout?: Duration.Input | undefined
}

/**
 * The `Store` as a service, for an application that wires its store as a
 * layer (`RedisStore.layerConfig`, `PostgresStore.layer`...) and builds its
 * durable pools on whichever store it is given (`Durable.layer` without a
 * `store` option takes it from here).
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Store } from "effect-worker-pool/Store"
 *
 * const queued = Effect.flatMap(Store, (store) => store.counts("emails"))
 * ```
 */
export const Store: Context.Service<Store, Store> = Context.Service<Store>("effect-worker-pool/Store")
