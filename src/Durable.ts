/**
 * A pool whose jobs live in a durable store (Redis, PostgreSQL) instead of
 * this process's memory: they survive a crash or a deploy, and any number of
 * processes can work one queue.
 *
 * It is the same pool with another source. Inside, an in-memory `Pool` runs
 * the jobs with your handler, so `outcomes`, `stats` and `shutdown` mean what
 * they mean there. Around it:
 *
 * - a fetcher claims jobs from the store, as many as the pool has room for,
 *   each under a lease that a heartbeat renews until the job's ending has
 *   reached the store;
 * - when a job ends, its lease is ended in the store: acknowledged on
 *   success (in batches), retried after the `retry` schedule's delay on a
 *   failure, dead-lettered once `maxAttempts` deliveries have failed, and
 *   released (ready again at once, the attempt not counted) when shutdown cut
 *   it off or handed it back unstarted.
 *
 * Delivery is at least once: a job is acknowledged only after its handler
 * ended, and the jobs of a process that dies come back to another when
 * their lease runs out. Handlers must therefore be idempotent; `job.attempt`
 * tells them which delivery they are on.
 *
 * Ended jobs are kept for a retention period (completed ones a day, dead
 * letters a week, by default), then purged by a maintenance fiber that each
 * pool runs, a bounded batch at a time; with a `completedRetention` of zero,
 * a completed job is deleted as it completes. Jobs can be looked up, dead letters
 * redriven or removed, and jobs cancelled, from a pool or from
 * `Durable.admin` (a process with no workers).
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Durable } from "effect-worker-pool"
 * import * as MemoryStore from "effect-worker-pool/MemoryStore"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* MemoryStore.make
 *   const pool = yield* Durable.make({
 *     store,
 *     queue: "emails",
 *     schema: Schema.Struct({ to: Schema.String }),
 *     workers: 4,
 *     handler: (job) => Effect.log(`sending to ${job.payload.to}, attempt ${job.attempt}`)
 *   })
 *   yield* pool.submit({ to: "ada@example.com" })
 *   return yield* pool.shutdown()
 * }))
 * ```
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { type Config, type ProducerConfig, validate, validateAdmin, validateProducer } from "./durable/config.ts"
import * as AdminOps from "./durable/admin.ts"
import * as Fetcher from "./durable/fetcher.ts"
import * as Heartbeat from "./durable/heartbeat.ts"
import { newJobId } from "./durable/jobIds.ts"
import * as JobFields from "./durable/jobOptions.ts"
import * as Leases from "./durable/leases.ts"
import * as Maintenance from "./durable/maintenance.ts"
import { jsonCodec, suspended } from "./durable/payloadCodec.ts"
import { PermanentError, retryableOf } from "./durable/retryable.ts"
import { Snooze, snooze } from "./durable/snooze.ts"
import * as DurableMetrics from "./durable/metrics.ts"
import * as Settler from "./durable/settler.ts"
import * as Tracing from "./internal/tracing.ts"
import * as Stopping from "./durable/stopping.ts"
import { type Buried, type Counts, type JobInfo, type JobState, newIdsOffer, Store, type StoreError, type Upcoming } from "./durable/Store.ts"
import * as Checks from "./internal/options.ts"
import { quietly } from "./internal/quietly.ts"
import { isInvalid } from "./internal/options.ts"
import { configError } from "./internal/poolOptions.ts"
import * as Job from "./Job.ts"
import * as Pool from "./Pool.ts"
import * as Policy from "./internal/policy.ts"
import type * as Shutdown from "./Shutdown.ts"
import * as Threads from "./Threads.ts"

/** How to build a durable pool. */
export interface Options<A, I, B, E, R> {
  /** Where the jobs are kept. */
  readonly store: Store
  /**
   * The queue's name in the store: processes that name the same queue share
   * its jobs. Text every store can keep: not empty, no NUL, no half of a
   * surrogate pair, at most 512 bytes of UTF-8.
   */
  readonly queue: string
  /**
   * Encodes payloads for the store and decodes them back. A payload that
   * does not decode is dead-lettered with the decode error. Its decoding
   * runs synchronously as each job is claimed: one that suspends (an
   * effectful transformation) has its jobs dead-lettered saying so.
   */
  readonly schema: Schema.Codec<A, I>
  /** How many jobs run at once in this process: an integer >= 1. */
  readonly workers: number
  readonly handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>
  /** Deliveries before a failing job is dead-lettered: an integer >= 1, default 5. */
  readonly maxAttempts?: number | undefined
  /**
   * The delay before each retry, by attempt: a `Schedule`. Default:
   * exponential from 1 second, at most 5 minutes. (A job submitted with its
   * own `retry` or `maxAttempts` keeps those instead.) A schedule that
   * fails, dies or gives no delay within a second is logged as a warning,
   * and the pool's retries wait the default's delays from then on.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * Whether a failure may be retried: false dead-letters the job at once,
   * whatever attempts are left. Default: every failure may, but a
   * `PermanentError` (whatever this says).
   */
  readonly retryable?: ((error: E | Job.JobTimeoutError) => boolean) | undefined
  /** How long a claimed job stays this process's without a heartbeat. Default 30 seconds. */
  readonly lease?: Duration.Input | undefined
  /**
   * How often to look for jobs while the queue is empty, when no
   * notification from the store came first (a store that notifies wakes an
   * idle pool at once: this finds retries whose delay is over, leases that
   * ran out, and jobs whose notification was lost). Default 200 milliseconds.
   */
  readonly pollInterval?: Duration.Input | undefined
  /** Jobs claimed ahead of a free worker, so workers do not wait on the store. Default: `workers`. */
  readonly prefetch?: number | undefined
  /** The deadline of each delivery: a delivery that outlives it fails with `JobTimeoutError` (and is retried). */
  readonly jobTimeout?: Duration.Input | undefined
  /** How the pool shuts down when its scope closes or `shutdown()` is called without a policy; see `Shutdown`. */
  readonly shutdown?: Partial<Shutdown.Policy> | undefined
  /**
   * Receives the report once, when the pool has shut down (whatever began
   * it: `shutdown`, its scope or layer released), with the context the pool
   * was made in. Its failures and defects are logged, not raised; its time
   * adds to the shutdown's.
   */
  readonly onShutdown?: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>) | undefined
  /**
   * How long a completed (or cancelled) job is kept after it ended: its id
   * is not taken again, and `lookup` finds it, until then. A duration >= 0
   * (`"Infinity"`: kept for ever). Zero: a completed job is deleted from the
   * store as it completes (its id is then free at once, and it is still
   * counted in `counts().completed`); a cancelled one is purged by the next
   * maintenance. Default 1 day.
   */
  readonly completedRetention?: Duration.Input | undefined
  /** How long a dead letter is kept after it was buried, for `deadLetters` and `redrive`. Default 7 days. */
  readonly deadLetterRetention?: Duration.Input | undefined
  /** How often this process purges the ended jobs past their retention. Default 1 minute. */
  readonly maintenanceInterval?: Duration.Input | undefined
  /**
   * The most ended jobs one purge statement deletes (an integer >= 1): a
   * run purges again while a batch comes back full, until it has caught up
   * or its interval has passed. Default 1,000.
   */
  readonly maintenanceBatch?: number | undefined
  /** The pool's name: the `pool` attribute of its metrics, besides `queue` (see `Metrics`). Default `"default"`. */
  readonly name?: string | undefined
  /**
   * Whether the pool records its metrics (see `Metrics`): those of its
   * in-memory pool, its retries and dead letters, and the store's counts
   * sampled every 5 seconds. Default `true`.
   */
  readonly metrics?: boolean | undefined
  /**
   * As for `Pool.make`: each job's wait (from this process taking it from
   * the store to its start) and run time, as histograms. Default `true`
   * here: a job's store round trips cost far more than its clock reads.
   */
  readonly jobTimings?: boolean | undefined
  /**
   * Whether a job runs in a span of its own whose parent is the span that
   * was current when it was submitted, in whichever process: the span is
   * stored with the job (W3C `traceparent`) and restored however many
   * attempts later. Default `true`: a job submitted with no span current
   * stores nothing and gets no span.
   */
  readonly tracing?: boolean | undefined
}

/** What a producer needs: where, which queue, and how payloads are encoded. */
export interface ProducerOptions<A, I> {
  readonly store: Store
  readonly queue: string
  readonly schema: Schema.Codec<A, I>
}

/**
 * `submit` was given the id of a job the queue keeps as a dead letter or a
 * cancelled job: it does not run again by being submitted (that would look
 * accepted while nothing runs). Redrive it (`redrive([id])`) to run it
 * again, or remove it (`remove([id])`) and submit it anew.
 */
export class JobNotResubmittedError extends Schema.TaggedError<JobNotResubmittedError>()("JobNotResubmittedError", {
  id: Schema.String,
  state: Schema.Literals(["buried", "cancelled"])
}) {
  override get message(): string {
    const what = this.state === "buried" ? "a dead letter" : "cancelled"
    return `job ${JSON.stringify(this.id)} is ${what} in the queue, so submitting it again does not run it: ` +
      "redrive it to run it again, or remove it first"
  }
}

export {
  /** A failure retrying cannot help: the job is dead-lettered at once. */
  PermanentError,
  /** What `snooze` fails with: the job runs again after its delay, as the same attempt. */
  Snooze,
  /** Fails the delivery with a `Snooze`: the job runs again after `delay`, the attempt not counted. */
  snooze
}

/** A job's own retry delays; see `JobOptions.retry`. */
export type Backoff = JobFields.Backoff

/** The options of one durable job: `id`, `delay` or `runAt`, `priority`, `maxAttempts`, `retry`. */
export type JobOptions = JobFields.JobOptions

/** What `submit` and `submitAll` fail with. */
export type SubmitError =
  | Pool.PoolClosedError
  | Pool.PoolConfigError
  | StoreError
  | Schema.SchemaError
  | JobNotResubmittedError

/** What a process that only offers jobs needs (a web server, a cron job): no workers. */
export interface Producer<in A> {
  /**
   * Stores a job; any process working the queue may run it. Returns its id:
   * `id` if given (an idempotency key: an id the queue holds ready, running
   * or completed is not stored again, and the call succeeds; one it holds as
   * a dead letter or cancelled fails with `JobNotResubmittedError`), else a
   * new UUID of version 7: the time of the offer in milliseconds (by this
   * process's clock), then 74 random bits. The queue holds an id until its
   * job is purged, after its retention (`completedRetention`,
   * `deadLetterRetention`). An `id` that is not a string, or that holds
   * text not every store can keep (the NUL character, half of a surrogate
   * pair), fails with `PoolConfigError` naming `id`, on every store, before
   * the store is asked.
   * A payload whose JSON text is larger than the store takes fails with a
   * `StoreError` naming the job and the limit, and nothing is stored.
   * A payload that throws when it is read (a Proxy's trap, a getter) fails
   * with `PoolConfigError` naming `payload` (`payloads` for `submitAll`).
   *
   * With `delay` or `runAt`, the job waits in the store until its time (by
   * the store's clock); with `priority`, it runs before the jobs of higher
   * numbers; with `maxAttempts` or `retry`, its failures are retried by
   * these instead of the pool's. A wrong option fails with `PoolConfigError`
   * naming it, and nothing is stored.
   */
  readonly submit: (payload: A, options?: JobOptions) => Effect.Effect<string, SubmitError>
  /**
   * Stores jobs in one round trip, each with a new id and the same
   * `options` (all of `submit`'s but `id`). Returns their ids.
   */
  readonly submitAll: (
    payloads: Iterable<A>,
    options?: Omit<JobOptions, "id">
  ) => Effect.Effect<ReadonlyArray<string>, SubmitError>
}

/**
 * Offers jobs to `queue` in `store`, encoded with `schema`. Bad options are
 * reported by the first `submit` or `submitAll`, as a `PoolConfigError`
 * naming the option (nothing is stored).
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Durable } from "effect-worker-pool"
 * import * as MemoryStore from "effect-worker-pool/MemoryStore"
 *
 * const program = Effect.gen(function*() {
 *   const emails = Durable.producer({ store: yield* MemoryStore.make, queue: "emails", schema: Schema.String })
 *   return yield* emails.submit("ada@example.com", { id: "welcome-ada" })
 * })
 * ```
 */
export const producer = <A, I>(options: ProducerOptions<A, I>): Producer<A> => {
  const validated = validateProducer<A, I>(options)
  if (isInvalid(validated)) {
    const refused = Effect.fail(configError(validated))
    return { submit: () => refused, submitAll: () => refused }
  }
  return makeProducer(validated, () => true)
}

/**
 * A producer on checked options; it refuses jobs with `PoolClosedError` once
 * `accepting` returns false, and a payload that `refusal` (the pool's own
 * threads, if it runs on threads) refuses, with that error.
 */
const makeProducer = <A, I>(
  { queue, schema, store }: ProducerConfig<A, I>,
  accepting: () => boolean,
  refusal?: (payload: A, option: string) => Pool.PoolConfigError | undefined
): Producer<A> => {
  const encode = Schema.encodeUnknownEffect(jsonCodec(schema))
  const closed = Effect.fail(new Pool.PoolClosedError({}))
  const forThreads = refusal === undefined ? undefined : threadsCheck(schema, refusal)
  // A payload that throws when the schema reads it (a Proxy's trap, a getter) is bad input, not a defect.
  const encodeOne = (payload: A, option: "payload" | "payloads") =>
    Effect.catchDefect(encode(payload), (defect) => Effect.fail(configError(Checks.unreadable(option, defect))))
  const offer = (
    payloads: ReadonlyArray<A>,
    ids: ReadonlyArray<string>,
    fields: JobFields.Fields,
    option: "payload" | "payloads",
    // Whether the producer made every id (none given by the caller): the store may skip looking for them.
    made: boolean
  ): Effect.Effect<
    ReadonlyArray<string>,
    StoreError | Schema.SchemaError | Pool.PoolConfigError | JobNotResubmittedError
  > =>
    Effect.flatMap(
      // `submit`'s one payload without `forEach`'s steps: each runs cold when an idle process submits.
      payloads.length === 1 && option === "payload"
        ? Effect.map(encodeOne(payloads[0]!, option), (one) => [one])
        : Effect.forEach(payloads, (payload, i) => Effect.mapError(encodeOne(payload, option), (error) => at(i, error))),
      (encoded): Effect.Effect<ReadonlyArray<string>, StoreError | Pool.PoolConfigError | JobNotResubmittedError> => {
        // Checked once the schema has taken the payloads, so that a payload it refuses fails alike with
        // or without threads, and on what a claim will give the threads, not on the caller's value
        // (a field the schema drops, a function say, never reaches a thread).
        const notForThreads = forThreads?.(encoded, option)
        if (notForThreads !== undefined) return Effect.fail(notForThreads)
        return Effect.flatMap(
          store.offer(queue, encoded.map((payload, i) => ({ ...fields, id: ids[i]!, payload })), made ? newIdsOffer : undefined),
          (refused) => refused.length === 0 ? Effect.succeed(ids) : Effect.fail(new JobNotResubmittedError(refused[0]!))
        )
      }
    )
  return {
    submit: (payload, options) =>
      Effect.suspend((): Effect.Effect<string, SubmitError> => {
        if (!accepting()) return closed
        const checked = Checks.checked("options", () => ({
          given: Checks.givenJobId(options),
          fields: JobFields.fields(options, true, Tracing.currentSpan())
        }))
        if (isInvalid(checked)) return Effect.fail(configError(checked))
        const { fields, given } = checked
        return Effect.map(offer([payload], [given ?? newJobId()], fields, "payload", given === undefined), (ids) => ids[0]!)
      }),
    submitAll: (payloads, options) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<string>, SubmitError> => {
        if (!accepting()) return closed
        const fields = Checks.checked("options", () => JobFields.fields(options, false, Tracing.currentSpan()))
        if (isInvalid(fields)) return Effect.fail(configError(fields))
        // Read once, here: an element that throws when read (a getter, a Proxy's trap) is bad input,
        // and what follows reads this copy, never the caller's list again (any other iterable
        // `payloadList` has read into an array of its own already).
        const all = Checks.checked("payloads", () => {
          const list = Checks.payloadList(payloads)
          return list === payloads ? Array.from(list) : list
        })
        if (isInvalid(all)) return Effect.fail(configError(all))
        return offer(all, all.map(newJobId), fields, "payloads", true)
      })
  }
}

/** A batch's schema refusal says which payload it was (`at [3]`); other errors are as they are. */
const at = <E>(index: number, error: E | Schema.SchemaError): E | Schema.SchemaError =>
  Schema.isSchemaError(error) ? new Schema.SchemaError(new SchemaIssue.Pointer([index], error.issue)) : error

/**
 * The threads' check at `submit`: the first of the encoded payloads whose
 * value, as a claim will give it to the threads (its JSON text stored, read
 * back and decoded, as the store and the pool do), `refusal` refuses. It
 * costs a copy of each payload. One that does not come back is
 * dead-lettered at its claim, saying why, as without this check.
 */
const threadsCheck = <A, I>(
  schema: Schema.Codec<A, I>,
  refusal: (payload: A, option: string) => Pool.PoolConfigError | undefined
) => {
  const decode = payloadDecoder(schema)
  const seenByClaim = (encoded: unknown): Exit.Exit<A, unknown> => {
    try {
      const text = JSON.stringify(encoded)
      return decode(text === undefined ? undefined : JSON.parse(text))
    } catch (cause) {
      return Exit.fail(cause)
    }
  }
  return (encoded: ReadonlyArray<unknown>, option: string): Pool.PoolConfigError | undefined => {
    for (const one of encoded) {
      const seen = seenByClaim(one)
      const error = Exit.isSuccess(seen) ? refusal(seen.value, option) : undefined
      if (error !== undefined) return error
    }
    return undefined
  }
}

/** What a claimed job's decode ends with when the schema's decoding suspends. */
const decodesAsynchronously = Exit.die(new TypeError(
  "the schema decodes asynchronously (an effectful transformation), and a claimed payload is decoded " +
    "synchronously: give the durable pool a schema whose decoding has no effects"
))

/**
 * A claimed payload's decode: synchronous, in the step that hands the job to
 * the pool. A schema whose decoding suspends cannot run there; its jobs are
 * dead-lettered saying so, rather than with the suspended fiber's fields.
 */
const payloadDecoder = <A, I>(schema: Schema.Codec<A, I>) => {
  const decode = Schema.decodeUnknownExit(jsonCodec(schema))
  return (payload: unknown): Exit.Exit<A, Schema.SchemaError> => {
    const decoded = decode(payload)
    return Exit.isFailure(decoded) && suspended(decoded.cause) ? decodesAsynchronously : decoded
  }
}

/** What `Admin`'s operations fail with: the store's failure, or an argument refused (`PoolConfigError` naming it). */
export type AdminError = StoreError | Pool.PoolConfigError

/**
 * What a process that administers a queue needs (a console, a script, an
 * operator's endpoint): no workers. Every operation is a store round trip
 * or a few, and acts on the queue whatever process holds its jobs.
 */
export interface Admin {
  /** The queue's counts in the store, across processes. */
  readonly counts: Effect.Effect<Counts, AdminError>
  /**
   * Dead-lettered jobs, oldest first, at most `limit` (an integer >= 1,
   * default 100). With `maxPayloadBytes` (an integer >= 1), a payload whose
   * JSON text is larger comes back as `undefined`, not read off the store
   * (the dashboard lists previews this way). With `after` (the `cursor` of
   * a dead letter listed before), the next page: the dead letters buried
   * after that one, whether it is still a dead letter or not. A page
   * shorter than `limit` is the last one for now.
   */
  readonly deadLetters: (
    limit?: number,
    options?: { readonly maxPayloadBytes?: number | undefined; readonly after?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<Buried>, AdminError>
  /**
   * The jobs that wait for their time (delayed, run at a later time, retries
   * waiting for their delay), soonest first, at most `limit` (an integer >=
   * 1, default 100); undefined for a store that cannot list them (one without
   * the optional `upcoming`). With `after` (the `cursor` of a job listed
   * before), the next page: the jobs after that one's place, whether it still
   * waits or not. A page shorter than `limit` is the last one for now.
   */
  readonly upcoming: (
    limit?: number,
    options?: { readonly after?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<Upcoming> | undefined, AdminError>
  /** The job `id`: its state, attempts, when it runs, its last error; undefined if the queue does not hold it. */
  readonly lookup: (id: string) => Effect.Effect<JobInfo | undefined, AdminError>
  /**
   * Runs dead letters again, with fresh attempts (counted from 0, the error
   * cleared): those among `ids` (cancelled jobs too), or, without `ids`,
   * every dead letter there was when the call began. Returns how many.
   */
  readonly redrive: (ids?: Iterable<string>) => Effect.Effect<number, AdminError>
  /** Deletes dead letters: those among `ids` (cancelled jobs too), or, without `ids`, all of them. Returns how many. */
  readonly remove: (ids?: Iterable<string>) => Effect.Effect<number, AdminError>
  /**
   * Cancels the job `id`: a ready one, or a retry waiting for its delay, at
   * once; a running one is interrupted within a heartbeat (a third of its
   * lease) by whichever process runs it, and is not retried. It then stays
   * `cancelled` (see `lookup`) until its retention passes. Returns the state
   * it was found in (`ready` or `leased`: now cancelled; an ended one is
   * left as it was), or undefined if the queue does not hold it.
   */
  readonly cancel: (id: string) => Effect.Effect<JobState | undefined, AdminError>
  /**
   * Cancels every job of the queue that waits to be claimed (ready now, or
   * later: delayed jobs and retries waiting), as `cancel` does each, a
   * thousand per round trip; jobs running are left to end. As many as the
   * store counted waiting when it began: a job offered meanwhile may be
   * among them or not. Returns how many it cancelled. A store without the
   * optional `Store.cancelWaiting` fails it with a `StoreError` not
   * retryable.
   */
  readonly cancelWaiting: Effect.Effect<number, AdminError>
  /**
   * Pauses the queue for every process: no pool on it claims another job
   * until `resume`. Jobs a pool leased before (waiting in its `prefetch`,
   * or in a claim in flight as the pause ran) still start; running jobs run
   * on and end as usual, and jobs are still offered. Returns whether it was running. Fails with a
   * `StoreError` (not retryable) on a store that cannot pause (one without
   * the optional `Store.pause`).
   */
  readonly pause: Effect.Effect<boolean, AdminError>
  /** Resumes the queue: its pools are woken and claim at once. Returns whether it was paused. */
  readonly resume: Effect.Effect<boolean, AdminError>
  /** Whether the queue is paused; false on a store that cannot pause. */
  readonly isPaused: Effect.Effect<boolean, AdminError>
}

/** How to reach a queue to administer it. */
export interface AdminOptions {
  readonly store: Store
  readonly queue: string
}

/**
 * A handle on `queue` in `store` for a process that runs no workers: look
 * jobs up, redrive or remove dead letters, cancel jobs. Bad options are
 * reported by each operation, as a `PoolConfigError` naming the option.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Durable } from "effect-worker-pool"
 * import * as MemoryStore from "effect-worker-pool/MemoryStore"
 *
 * const program = Effect.gen(function*() {
 *   const admin = Durable.admin({ store: yield* MemoryStore.make, queue: "emails" })
 *   return yield* admin.lookup("welcome-ada")
 * })
 * ```
 */
export const admin = (options: AdminOptions): Admin => {
  const validated = validateAdmin(options)
  if (isInvalid(validated)) {
    const refused = Effect.fail(configError(validated))
    return {
      counts: refused,
      deadLetters: () => refused,
      upcoming: () => refused,
      pause: refused,
      resume: refused,
      isPaused: refused,
      cancelWaiting: refused,
      lookup: () => refused,
      redrive: () => refused,
      remove: () => refused,
      cancel: () => refused
    }
  }
  return AdminOps.make(validated.store, validated.queue, () => {})
}

/**
 * A running durable pool.
 *
 * On threads (its `handler` a `Threads.handler`), its `submit` and
 * `submitAll` also check each payload with the threaded pool's check (a
 * `transfer` that throws for it, the threads' `schema` refusing it, a value
 * that cannot be copied to a thread), on what a claim will give the threads
 * (the payload encoded, stored as JSON, read back and decoded): one the
 * threads could not take fails with `PoolConfigError` naming `payload`
 * (`payloads`, or `transfer`), and nothing is stored. A producer elsewhere
 * does not know the threads: such a job offered there is dead-lettered at
 * its first claim, with the same reason.
 */
export interface DurablePool<in out A, out B, out E> extends Producer<A>, Admin {
  /** The outcome of every delivery this process runs, from subscription on. */
  readonly outcomes: Stream.Stream<Job.Outcome<A, B, E | Job.JobTimeoutError>>
  /** This process's counters. */
  readonly stats: Effect.Effect<Pool.Stats>
  /** The jobs this process runs now (at most one per worker): id, worker, attempt (the delivery), start. */
  readonly running: Effect.Effect<ReadonlyArray<Pool.RunningJob>>
  /**
   * The queue's counts in the store, across processes. One round trip,
   * bounded by the store's `commandTimeout`; bound it tighter with
   * `Effect.timeoutOption` where a deadline is near (after a shutdown, say).
   */
  readonly counts: Effect.Effect<Counts, StoreError>
  /**
   * Stops claiming, lets the jobs in hand finish within the deadline, and
   * gives the rest back to the store. In the report, `abandoned` and the
   * jobs that shutdown cut off are released to the store: another worker
   * will run them. (`interrupted` also lists, as the in-memory pool's does,
   * a job whose handler interrupted itself before shutdown: that is a
   * failure, retried or dead-lettered like any other.) It returns within
   * the deadline plus 5 seconds for the last endings to reach the store,
   * even if the store hangs: then those jobs come back after their lease.
   *
   * With a policy, it overrides the pool's `shutdown` option (a bad one is a
   * `PoolConfigError`). Idempotent: a later call waits for the first and
   * returns the same report.
   */
  readonly shutdown: {
    (): Effect.Effect<Shutdown.Report<A>>
    (policy: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, Pool.PoolConfigError>
  }
}

/**
 * The shortest `lease` a durable pool accepts. A lease is renewed a third of
 * the way through, a store round trip each time: shorter ones would keep the
 * heartbeat spinning against the store.
 */
export const minimumLease: Duration.Duration = Duration.millis(100)

/**
 * Starts a durable pool in the current scope; closing the scope shuts it
 * down. Workers start before `make` returns, and the fetcher right after.
 */
export const make = <A, I, B, E, R>(
  options: Options<A, I, B, E, R>
): Effect.Effect<DurablePool<A, B, E>, Pool.PoolConfigError, Scope.Scope | R> => build(options, undefined)

/**
 * `make`, with the store of the context standing in for an absent `store`
 * option (for `layer`). It wires the parts of `durable/`: the lease book
 * (`leases.ts`) between the pool, the fetcher, the settler and the
 * heartbeat; the maintenance; and the shutdown (`stopping.ts`) that stops
 * them in order.
 */
const build = <A, I, B, E, R>(
  options: Options<A, I, B, E, R>,
  contextStore: Store | undefined
): Effect.Effect<DurablePool<A, B, E>, Pool.PoolConfigError, Scope.Scope | R> =>
  // Only the pool's start may be interrupted: from the first background fiber
  // until the finalizer that stops them is in place, an interruption would
  // leave them claiming jobs for ever, outside any scope.
  Effect.uninterruptibleMask((restore) => Effect.gen(function*() {
    const validated = validate(options, contextStore)
    if (isInvalid(validated)) return yield* configError(validated)
    const config: Config<A, I, B, E, R> = validated
    const { queue, store } = config
    // The shutdown runs in a fiber of its own; `onShutdown` gets the context the pool was made in.
    const context = yield* Effect.context<R>()
    const book = yield* Leases.make({
      capacity: config.prefetch + config.workers,
      maxAttempts: config.maxAttempts,
      retryable: retryableOf(config.retryable)
    })
    const ended = (job: Job.Job<A>, ending: Pool.Ending) => Leases.endDelivery(book, job, ending)
    const metricAttributes = { pool: config.name, queue }
    const pool = yield* restore(makePool(config, { ended, cancellable: true, metricAttributes }))
    const background = yield* Scope.make()
    const metricContext = context as Context.Context<never>
    const metrics = config.metrics ? DurableMetrics.make(metricAttributes, metricContext) : undefined
    if (metrics !== undefined) {
      yield* DurableMetrics.sampleStoreCounts({ store, queue, attributes: metricAttributes, context: metricContext }, background)
    }
    const decode = payloadDecoder(config.schema)
    const { lease, pollInterval } = config
    const { claimAtMost, pipelineAt } = Fetcher.claimPolicy(store, book.capacity, config.workers)
    const fetcher = yield* Fetcher.start(
      { store, queue, lease, pollInterval, book, decode, pipelineAt, claimAtMost, deliver: pool.deliver },
      background
    )
    // A pool that keeps no completed job has the store delete each as it completes.
    const completion = Duration.isZero(config.retention.completed) ? { keep: false } : undefined
    const settler = yield* Settler.start({ store, queue, retry: config.retry, book, metrics, completion }, background)
    const stop = (id: string) => {
      pool.cancel(id)
    }
    yield* Heartbeat.start({ store, queue, lease, book, stop, metrics }, background)
    const { maintenanceBatch: batch, maintenanceInterval: interval, retention } = config
    yield* Maintenance.start({ store, queue, retention, interval, batch }, background)
    yield* quietly(Effect.logInfo("durable pool working").pipe(
      Effect.annotateLogs({ queue, store: config.engine, workers: config.workers })
    ))
    const { onShutdown } = config
    const stopping = Stopping.make({ queue, pool, fetcher, settler, background, onShutdown, context })
    const { submit, submitAll } = makeProducer(config, stopping.accepting, pool.refusal)
    const shutdown = checkedShutdown(config.shutdownResolved, stopping.run)
    yield* Effect.addFinalizer(() => shutdown())
    // Cancelled here while this process runs it: stopped now, not at the next heartbeat.
    const cancelledHere = (id: string) => Heartbeat.stopCancelled(book, [id], stop)
    return {
      ...AdminOps.make(store, queue, cancelledHere),
      counts: store.counts(queue),
      submit,
      submitAll,
      outcomes: pool.outcomes,
      stats: pool.stats,
      running: pool.running,
      shutdown
    }
  }))

/**
 * The pool that runs the claimed jobs: in memory, or on `workers` threads
 * when the handler is a `Threads.handler`.
 */
const makePool = <A, I, B, E, R>(
  config: Config<A, I, B, E, R>,
  hooks: Pool.Hooks<A>
): Effect.Effect<Pool.HookedPool<A, B, E>, Pool.PoolConfigError, Scope.Scope | R> => {
  const threaded = Threads.threadedOptions<A, B, E>(config.handler)
  if (threaded === undefined) return Pool.makeWithHooks(poolOptions(config), hooks)
  const { jobTimeout, shutdown } = config
  const { jobTimings, metrics, name, tracing } = config
  const options = {
    ...threaded,
    threads: config.workers,
    capacity: config.prefetch,
    jobTimeout,
    shutdown,
    name,
    metrics,
    jobTimings,
    tracing
  }
  return Threads.makeWithHooks<A, B, E>(options, hooks)
}

/** The in-memory pool that runs the claimed jobs: `workers` at once, `prefetch` more waiting. */
const poolOptions = <A, I, B, E, R>(config: Config<A, I, B, E, R>): Pool.Options<A, B, E, R> => ({
  workers: config.workers,
  capacity: config.prefetch,
  handler: config.handler,
  name: config.name,
  metrics: config.metrics,
  jobTimings: config.jobTimings,
  tracing: config.tracing,
  ...(config.jobTimeout === undefined ? {} : { jobTimeout: config.jobTimeout }),
  ...(config.shutdown === undefined ? {} : { shutdown: config.shutdown })
})

/**
 * The pool's `shutdown`: checks `policy` on every call, even once shut down
 * (bad input always gets its error), then runs the shutdown, once.
 */
const checkedShutdown = <A>(
  resolved: Policy.Resolved,
  run: (policy: Partial<Shutdown.Policy> | undefined) => Effect.Effect<Shutdown.Report<A>>
): DurablePool<A, unknown, unknown>["shutdown"] => {
  function shutdown(): Effect.Effect<Shutdown.Report<A>>
  function shutdown(policy: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, Pool.PoolConfigError>
  function shutdown(policy?: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, Pool.PoolConfigError> {
    return Effect.suspend(() => {
      const checked = Checks.checked("shutdown", () => {
        const given = Checks.policy("shutdown", policy)
        Checks.orRefuse(Policy.resolve(resolved, given))
        return given
      })
      return isInvalid(checked) ? Effect.fail(configError(checked)) : run(checked)
    })
  }
  return shutdown
}

/** The options of `layer`: those of `make`, with `store` optional (absent, it comes from the context). */
export type LayerOptions<A, I, B, E, R, S extends Store | undefined> = Omit<Options<A, I, B, E, R>, "store"> & {
  readonly store?: S
}

/**
 * A layer that provides a durable pool as the service `service`. The pool
 * starts when the layer is built and shuts down (with its `shutdown` policy,
 * then `onShutdown`) when the layer is released.
 *
 * Without a `store` option, it takes the store from the context: the `Store`
 * service, which `RedisStore.layer`, `RedisStore.layerConfig`,
 * `PostgresStore.layer`, `PostgresStore.layerConfig` and `MemoryStore.layer`
 * provide (and then the layer requires `Store`).
 *
 * The handler is checked against the service: its payload is the service's
 * `A`, and what it returns and fails with must fit the service's `B` and `E`.
 *
 * ```ts
 * import { Context, Effect, Layer, Schema } from "effect"
 * import { Durable } from "effect-worker-pool"
 * import * as MemoryStore from "effect-worker-pool/MemoryStore"
 *
 * class Emails extends Context.Service<Emails, Durable.DurablePool<string, void, never>>()("app/Emails") {}
 *
 * const EmailsLive = Durable.layer(Emails, {
 *   queue: "emails",
 *   schema: Schema.String,
 *   workers: 4,
 *   handler: (job) => Effect.log(`sending to ${job.payload}`)
 * }).pipe(Layer.provide(MemoryStore.layer))
 * ```
 */
export const layer = <Id, A, B, E, I, R, S extends Store | undefined = undefined>(
  service: Context.Key<Id, DurablePool<A, B, E>>,
  options: LayerOptions<NoInfer<A>, I, NoInfer<B>, NoInfer<E>, R, S>
): Layer.Layer<Id, Pool.PoolConfigError, Exclude<R, Scope.Scope> | (undefined extends S ? Store : never)> =>
  Layer.effect(
    service,
    Effect.suspend(() => {
      const given = Checks.checked("options", () => Checks.field(Checks.record("options", options), "store", "store"))
      const asGiven = options as Options<A, I, B, E, R>
      // A store given (or options that cannot be read: `make` says why) needs nothing from the context.
      return given === undefined
        ? Effect.flatMap(Store, (store) => build(asGiven, store))
        : build(asGiven, undefined)
    })
  ) as Layer.Layer<Id, Pool.PoolConfigError, Exclude<R, Scope.Scope> | (undefined extends S ? Store : never)>
