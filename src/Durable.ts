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
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Latch from "effect/Latch"
import * as Pull from "effect/Pull"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { type Config, type ProducerConfig, validate, validateProducer } from "./durable/config.ts"
import { type Buried, type Claimed, type Counts, type Lease, Store, type StoreError } from "./durable/Store.ts"
import { capped } from "./internal/capped.ts"
import * as Checks from "./internal/options.ts"
import { isInvalid, isPositiveInteger } from "./internal/options.ts"
import { configError } from "./internal/poolOptions.ts"
import { quietly } from "./internal/quietly.ts"
import { gaveBack, reportAnnotations } from "./internal/reportLog.ts"
import * as Job from "./Job.ts"
import * as Pool from "./Pool.ts"
import * as Shutdown from "./internal/namespaces/Shutdown.ts"

/** How to build a durable pool. */
export interface Options<A, I, B, E, R> {
  /** Where the jobs are kept. */
  readonly store: Store
  /** The queue's name in the store: processes that name the same queue share its jobs. */
  readonly queue: string
  /** Encodes payloads for the store and decodes them back. A payload that does not decode is dead-lettered with the decode error. */
  readonly schema: Schema.Codec<A, I>
  /** How many jobs run at once in this process: an integer >= 1. */
  readonly workers: number
  readonly handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>
  /** Deliveries before a failing job is dead-lettered: an integer >= 1, default 5. */
  readonly maxAttempts?: number | undefined
  /** The delay before each retry, by attempt: a `Schedule`. Default: exponential from 1 second, at most 5 minutes. */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /** How long a claimed job stays this process's without a heartbeat. Default 30 seconds. */
  readonly lease?: Duration.Input | undefined
  /** How often to look for jobs while the queue is empty. Default 200 milliseconds. */
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
}

/** What a producer needs: where, which queue, and how payloads are encoded. */
export interface ProducerOptions<A, I> {
  readonly store: Store
  readonly queue: string
  readonly schema: Schema.Codec<A, I>
}

/** What `submit` and `submitAll` fail with. */
export type SubmitError = Pool.PoolClosedError | Pool.PoolConfigError | StoreError | Schema.SchemaError

/** What a process that only offers jobs needs (a web server, a cron job): no workers. */
export interface Producer<in A> {
  /**
   * Stores a job; any process working the queue may run it. Returns its id:
   * `id` if given (an idempotency key: an id already in the queue is not
   * stored again), else a random UUID. An `id` that is not a string, or
   * that holds text not every store can keep (the NUL character, half of a
   * surrogate pair), fails with `PoolConfigError` naming `id`, on every
   * store, before the store is asked.
   */
  readonly submit: (payload: A, options?: { readonly id?: string | undefined }) => Effect.Effect<string, SubmitError>
  /** Stores jobs in one round trip. Returns their ids. */
  readonly submitAll: (payloads: Iterable<A>) => Effect.Effect<ReadonlyArray<string>, SubmitError>
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

/** A producer on checked options; it refuses jobs with `PoolClosedError` once `accepting` returns false. */
const makeProducer = <A, I>({ queue, schema, store }: ProducerConfig<A, I>, accepting: () => boolean): Producer<A> => {
  const encode = Schema.encodeUnknownEffect(jsonCodec(schema))
  const closed = Effect.fail(new Pool.PoolClosedError({}))
  const offer = (
    payloads: ReadonlyArray<A>,
    ids: ReadonlyArray<string>
  ): Effect.Effect<ReadonlyArray<string>, StoreError | Schema.SchemaError> =>
    Effect.flatMap(
      Effect.forEach(payloads, (payload) => encode(payload)),
      (encoded) => Effect.as(store.offer(queue, encoded.map((payload, i) => ({ id: ids[i]!, payload }))), ids)
    )
  return {
    submit: (payload, options) =>
      Effect.suspend((): Effect.Effect<string, SubmitError> => {
        if (!accepting()) return closed
        const id = Checks.checked("options", () => Checks.jobId(options))
        if (isInvalid(id)) return Effect.fail(configError(id))
        return Effect.map(offer([payload], [id]), (ids) => ids[0]!)
      }),
    submitAll: (payloads) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<string>, SubmitError> => {
        if (!accepting()) return closed
        const all = Checks.checked("payloads", () => Checks.payloadList(payloads))
        if (isInvalid(all)) return Effect.fail(configError(all))
        return offer(all, all.map(() => crypto.randomUUID()))
      })
  }
}

/** The schema's JSON form: what the store keeps. */
const jsonCodec = <A, I>(schema: Schema.Codec<A, I>) => Schema.toCodecJson(schema) as unknown as Schema.Codec<A, unknown>

/** A running durable pool. */
export interface DurablePool<in out A, out B, out E> extends Producer<A> {
  /** The outcome of every delivery this process runs, from subscription on. */
  readonly outcomes: Stream.Stream<Job.Outcome<A, B, E | Job.JobTimeoutError>>
  /** This process's counters. */
  readonly stats: Effect.Effect<Pool.Stats>
  /**
   * The queue's counts in the store, across processes. One round trip,
   * bounded by the store's `commandTimeout`; bound it tighter with
   * `Effect.timeoutOption` where a deadline is near (after a shutdown, say).
   */
  readonly counts: Effect.Effect<Counts, StoreError>
  /** Dead-lettered jobs, oldest first, at most `limit` (an integer >= 1, default 100). */
  readonly deadLetters: (limit?: number) => Effect.Effect<ReadonlyArray<Buried>, StoreError | Pool.PoolConfigError>
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

/** What to do with a lease once its job ended. */
type Ending =
  | { readonly _tag: "complete"; readonly lease: Lease }
  | { readonly _tag: "release"; readonly lease: Lease }
  | { readonly _tag: "retry"; readonly lease: Lease; readonly delay: Duration.Duration }
  | { readonly _tag: "bury"; readonly lease: Lease; readonly error: string }

/** The delay before the retry that follows `attempt`: the schedule's `attempt`-th step. */
const retryDelay = (schedule: Schedule.Schedule<unknown, unknown>, attempt: number) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    let delay = Duration.zero
    let now = 0
    for (let i = 1; i <= attempt; i++) {
      const result = yield* Pull.catchDone(step(now, i), () => Effect.undefined)
      // A schedule that ended keeps its last delay.
      if (result === undefined) break
      delay = result[1]
      now += Duration.toMillis(delay)
    }
    return delay
  })

/** How long shutdown waits for the last lease endings to reach the store. */
const flushTimeout = Duration.seconds(5)

/** How a store outage is waited out: exponential from 100 ms, at most 5 s, for ever. */
const outageBackoff = capped(Schedule.exponential("100 millis"), Duration.seconds(5))

/**
 * Retries an ending of one job for about half a minute, then gives up on it
 * (its lease runs out and the job comes back): a store that keeps refusing
 * one operation must not hold up the acknowledgements behind it.
 */
const persistently = (what: string, effect: Effect.Effect<void, StoreError>): Effect.Effect<void> =>
  effect.pipe(
    Effect.tapError((error) => quietly(Effect.logWarning(`${what} failed; retrying`, error.message))),
    Effect.retry({ schedule: outageBackoff, times: 9 }),
    Effect.catch((error) => quietly(Effect.logError(`${what} failed; its lease will run out instead`, error.message)))
  )

/** A failure as a dead letter keeps it: readable text, no NUL (PostgreSQL refuses it), bounded. */
const describeFailure = (cause: Cause.Cause<unknown>): string =>
  Cause.pretty(cause).replaceAll("\u0000", "").slice(0, 10_000)

/** Retries `effect` through a store outage, logging each failure. */
const throughOutage = <A>(what: string, effect: Effect.Effect<A, StoreError>): Effect.Effect<A> =>
  effect.pipe(
    Effect.tapError((error) => quietly(Effect.logWarning(`${what} failed; retrying`, error.message))),
    Effect.retry(outageBackoff),
    Effect.orDie
  )

/**
 * Calls the handler; one that returns something other than an Effect dies
 * with a message that says what it returned (the job is then retried and
 * dead-lettered like any failure), rather than with whatever running that
 * value as an Effect would throw.
 */
const callHandler = <A, B, E, R>(handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>, job: Job.Job<A>) => {
  const effect: unknown = handler(job)
  if (Effect.isEffect(effect)) return effect as Effect.Effect<B, E, R>
  const what = effect instanceof Promise
    ? "a Promise (wrap it with Effect.promise or Effect.tryPromise)"
    : Checks.describe(effect)
  return Effect.die(new TypeError(`the handler returned ${what}, not an Effect`))
}

/**
 * Logs how the pool ended. Jobs it gave back (cut off, or never started)
 * are a warning with their ids, so that a deploy's log says which jobs will
 * run elsewhere; a clean end is a debug line.
 */
const logReport = (queue: string, report: Shutdown.Report<unknown>, flushed: boolean): Effect.Effect<void> => {
  const annotations = { queue, ...reportAnnotations(report) }
  if (!gaveBack(report)) {
    return quietly(Effect.annotateLogs(Effect.logDebug("durable pool shut down"), annotations))
  }
  const given = report.interrupted.length + report.abandoned.length
  const jobs = given === 1 ? "1 job" : `${given} jobs`
  const where = flushed ? "released to the store" : "back in the store once their lease runs out (the store did not answer)"
  return quietly(Effect.annotateLogs(
    Effect.logWarning(`durable pool shut down; ${jobs} ${where}`),
    annotations
  ))
}

/**
 * Hands the report to `onShutdown`, with the context the pool was made in;
 * what it raises is logged, not passed on.
 */
const deliverReport = <A, R>(
  onShutdown: (report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>,
  report: Shutdown.Report<A>,
  context: Context.Context<R>
): Effect.Effect<void> =>
  Effect.suspend(() => onShutdown(report)).pipe(
    Effect.provideContext(context),
    Effect.asVoid,
    Effect.catchCause((cause) => quietly(Effect.logError("onShutdown failed", cause)))
  )

/**
 * Starts a durable pool in the current scope; closing the scope shuts it
 * down. Workers start before `make` returns, and the fetcher right after.
 */
export const make = <A, I, B, E, R>(
  options: Options<A, I, B, E, R>
): Effect.Effect<DurablePool<A, B, E>, Pool.PoolConfigError, Scope.Scope | R> => build(options, undefined)

/** `make`, with the store of the context standing in for an absent `store` option (for `layer`). */
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
    const decode = Schema.decodeUnknownExit(jsonCodec(config.schema))

    /** Leases this process holds (claimed, not yet ended), by job id. */
    const held = new Map<string, Lease>()
    /**
     * Leases ended here whose ending has not reached the store yet. They are
     * still ours: renewed like the held ones, or a store slow to take an
     * acknowledgement would see the lease run out and hand the job, done,
     * to a worker again.
     */
    const settling = new Set<Lease>()
    /**
     * The store's attempt for a running job this process claimed again (see
     * `deliver`): its delivery was counted once more, so its failure counts
     * as that attempt, not as the one the handler was started with.
     */
    const reclaimedAs = new Map<string, number>()
    const room = Latch.makeUnsafe(true)
    const endings = yield* Queue.unbounded<Ending, Cause.Done>()
    const stopping = Deferred.makeUnsafe<void>()
    let accepting = true

    const toStore = (ending: Ending) => {
      settling.add(ending.lease)
      Queue.offerUnsafe(endings, ending)
    }

    const end = (ending: Ending) => {
      held.delete(ending.lease.id)
      reclaimedAs.delete(ending.lease.id)
      toStore(ending)
      room.openUnsafe()
    }

    /** Ends a delivery's lease by how the delivery ended. */
    const settle = (job: Job.Job<A>, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> => {
      const lease = held.get(job.id)
      if (lease === undefined) return Effect.void
      if (Exit.isSuccess(exit)) return Effect.sync(() => end({ _tag: "complete", lease }))
      // Cut off by shutdown: not this job's fault, so the attempt is given back.
      // (A handler that interrupts itself otherwise is a failure like any
      // other: released, it would come back for ever.)
      if (Cause.hasInterruptsOnly(exit.cause) && !accepting) return Effect.sync(() => end({ _tag: "release", lease }))
      const attempt = reclaimedAs.get(job.id) ?? job.attempt
      if (attempt >= config.maxAttempts) {
        return Effect.sync(() => end({ _tag: "bury", lease, error: describeFailure(exit.cause) }))
      }
      return Effect.map(retryDelay(config.retry, attempt), (delay) => end({ _tag: "retry", lease, delay }))
    }

    const handler = (job: Job.Job<A>): Effect.Effect<B, E | Job.JobTimeoutError, R> => {
      const timeout = config.jobTimeout
      const run: Effect.Effect<B, E | Job.JobTimeoutError, R> = Effect.suspend(() => callHandler(config.handler, job))
      const bounded = timeout === undefined ? run : Effect.timeoutOrElse(run, {
        duration: timeout,
        orElse: () => Effect.fail(new Job.JobTimeoutError({ jobId: job.id, timeout }))
      })
      return Effect.onExit(bounded, (exit) => settle(job, exit))
    }

    const pool = yield* restore(Pool.makeWithHooks({
      workers: config.workers,
      capacity: config.prefetch,
      handler,
      ...(config.shutdown === undefined ? {} : { shutdown: config.shutdown })
    }, {
      // The handler's `onExit` above did not run: settle the job here.
      diedOutright: (job, cause) => settle(job, Exit.failCause(cause))
    }))
    const background = yield* Scope.make()

    // --- the store side -------------------------------------------------------

    /** Hands claimed jobs to the pool; one that does not decode is dead-lettered at once. */
    const deliver = (claimed: Claimed): Effect.Effect<void> => {
      const lease = { id: claimed.id, token: claimed.token }
      const decoded = decode(claimed.payload)
      if (Exit.isFailure(decoded)) {
        const error = describeFailure(decoded.cause)
        toStore({ _tag: "bury", lease, error })
        return quietly(Effect.logWarning("a payload did not decode; dead-lettered", error).pipe(
          Effect.annotateLogs("jobId", claimed.id)
        ))
      }
      // Our own delivery of this job is still running, but its lease ran out
      // (a heartbeat lost in an outage) and we claimed it again: keep one
      // delivery, under the new lease, rather than run it twice at once.
      if (held.has(claimed.id)) {
        held.set(claimed.id, lease)
        reclaimedAs.set(claimed.id, claimed.attempt)
        return Effect.void
      }
      held.set(claimed.id, lease)
      return pool.submit(decoded.value, { id: claimed.id, attempt: claimed.attempt }).pipe(
        // Shutdown began between the claim and now: give it back.
        Effect.catch(() => Effect.sync(() => end({ _tag: "release", lease })))
      )
    }

    /**
     * One claim, and its jobs handed to the pool, as one step that shutdown
     * cannot cut in two: a claim whose answer was dropped would leave its
     * jobs leased to nobody until their lease ran out.
     */
    const claimAndDeliver = (max: number): Effect.Effect<number, StoreError> =>
      Effect.uninterruptible(Effect.flatMap(
        store.claim(queue, max, config.lease),
        (claimed) => Effect.as(Effect.forEach(claimed, deliver, { discard: true }), claimed.length)
      ))

    let outages = 0
    /** Claims what the pool has room for, or waits for room, for jobs, or for the store to come back. */
    const fetch: Effect.Effect<void> = Effect.gen(function*() {
      const free = config.prefetch + config.workers - held.size
      if (free <= 0) {
        room.closeUnsafe()
        return yield* room.await
      }
      const claimed = yield* claimAndDeliver(free).pipe(
        Effect.tapError((error) => quietly(Effect.logWarning("claiming jobs failed; retrying", error.message))),
        Effect.orElseSucceed(() => -1)
      )
      outages = claimed < 0 ? outages + 1 : 0
      if (outages > 0) yield* Effect.sleep(Duration.millis(Math.min(100 * 2 ** (outages - 1), 5_000)))
      else if (claimed === 0) yield* Effect.sleep(config.pollInterval)
    })

    const fetcher = yield* Effect.forkIn(
      Effect.raceFirst(Effect.forever(fetch), Deferred.await(stopping)),
      background
    )

    /** Ends leases in the store, acknowledgements in batches, until shut down and flushed. */
    const settler = Effect.gen(function*() {
      while (true) {
        const batch = yield* Queue.takeAll(endings)
        const completed = batch.filter((ending) => ending._tag === "complete").map((ending) => ending.lease)
        const released = batch.filter((ending) => ending._tag === "release").map((ending) => ending.lease)
        if (completed.length > 0) yield* throughOutage("acknowledging jobs", store.complete(queue, completed))
        if (released.length > 0) yield* throughOutage("releasing jobs", store.release(queue, released))
        for (const lease of completed) settling.delete(lease)
        for (const lease of released) settling.delete(lease)
        for (const ending of batch) {
          if (ending._tag === "retry") yield* persistently("retrying a job", store.retry(queue, ending.lease, ending.delay))
          if (ending._tag === "bury") yield* persistently("dead-lettering a job", store.bury(queue, ending.lease, ending.error))
          // Stored, or given up on: from now on the lease may run out.
          settling.delete(ending.lease)
        }
      }
    }).pipe(Effect.catchTag("Done", () => Effect.void))
    const settled = yield* Effect.forkIn(settler, background)

    // Leases run out unless renewed: a third of the way through, renew all
    // held, and those whose ending is on its way to the store.
    const heartbeat = Effect.suspend(() => {
      const leases = [...held.values(), ...settling]
      return leases.length === 0 ? Effect.void : throughOutage("renewing leases", store.extend(queue, leases, config.lease))
    }).pipe(Effect.delay(Duration.divideUnsafe(config.lease, 3)), Effect.forever)
    yield* Effect.forkIn(heartbeat, background)

    // --- the API ----------------------------------------------------------------

    const { submit, submitAll } = makeProducer(config, () => accepting)

    let report: Deferred.Deferred<Shutdown.Report<A>> | undefined
    /** Shuts down once, with `policy` (checked) on top of the pool's own. */
    const shutdownOnce = (policy: Partial<Shutdown.Policy> | undefined): Effect.Effect<Shutdown.Report<A>> =>
      Effect.suspend(() => {
        if (report !== undefined) return Deferred.await(report)
        const done = report = Deferred.makeUnsafe<Shutdown.Report<A>>()
        accepting = false
        /**
         * Whatever is still held did not run to an end (handed back
         * unstarted, or cut off before its handler began): back to the
         * store. (Safe to call again: `end` lets go of each lease.)
         */
        const releaseHeld = () => {
          for (const lease of [...held.values()]) end({ _tag: "release", lease })
        }
        // A claim still in flight ends first: its jobs, handed to a pool
        // that no longer accepts, are given back as it delivers them.
        const flush = Effect.andThen(Fiber.await(fetcher), Effect.suspend(() => {
          releaseHeld()
          Queue.endUnsafe(endings)
          return Fiber.await(settled)
        }))
        return Effect.gen(function*() {
          // Claim no more; the pool drains what it holds, within its deadline,
          // while a claim in flight finishes (not after it: a store that
          // hangs must not hold up the drain).
          Deferred.doneUnsafe(stopping, Exit.void)
          // The policy was checked as the pool checks it: it cannot fail here.
          const drained = yield* (policy === undefined ? pool.shutdown() : Effect.orDie(pool.shutdown(policy)))
          // Released at once, not after the claim: a claim that hangs must
          // not keep them from the store.
          releaseHeld()
          // The last endings reach the store within `flushTimeout`, unless it
          // is gone or hangs: then the leases run out and the jobs come back
          // (at least once).
          const flushed = yield* Effect.timeout(flush, flushTimeout).pipe(Effect.isSuccess)
          // A claim that never answers would hold up closing the fetcher's
          // scope for ever: then it closes on its own, whenever that is.
          const close = Scope.close(background, Exit.void)
          if (flushed) yield* close
          else yield* Effect.forkDetach(close)
          yield* logReport(queue, drained, flushed)
          if (config.onShutdown !== undefined) yield* deliverReport(config.onShutdown, drained, context)
          return drained
        }).pipe(
          Effect.onExit((exit) => Deferred.done(done, exit)),
          Effect.forkDetach({ uninterruptible: true }),
          Effect.andThen(Deferred.await(done))
        )
      })

    function shutdown(): Effect.Effect<Shutdown.Report<A>>
    function shutdown(policy: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, Pool.PoolConfigError>
    function shutdown(policy?: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, Pool.PoolConfigError> {
      return Effect.suspend(() => {
        // Checked on every call, even once shut down: bad input always gets its error.
        const checked = Checks.checked("shutdown", () => {
          const given = Checks.policy("shutdown", policy)
          Checks.orRefuse(Shutdown.resolve(config.shutdownResolved, given))
          return given
        })
        return isInvalid(checked) ? Effect.fail(configError(checked)) : shutdownOnce(checked)
      })
    }
    yield* Effect.addFinalizer(() => shutdown())

    return {
      submit,
      submitAll,
      outcomes: pool.outcomes,
      stats: pool.stats,
      counts: store.counts(queue),
      deadLetters: (limit = 100) =>
        isPositiveInteger(limit)
          ? store.buried(queue, limit)
          : Effect.fail(new Pool.PoolConfigError({ option: "limit", reason: `must be an integer >= 1, got ${Checks.describe(limit)}` })),
      shutdown
    }
  }))

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
