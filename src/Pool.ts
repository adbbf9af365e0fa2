/**
 * A worker pool: N worker fibers, started before `make` returns, take jobs
 * from a bounded queue and run them with your handler.
 *
 * - `submit` waits while the queue is full (backpressure); `trySubmit` never
 *   waits; `run` submits and waits for the job's result, and interrupting its
 *   caller cancels the job.
 * - Every job ends in exactly one `Outcome`; a handler that fails, times out
 *   or throws never takes its worker down.
 * - The pool lives in a `Scope`: closing it (or `shutdown`, or the `Layer`
 *   being released) drains the pool within a bounded time, and no fiber of
 *   the pool outlives it.
 *
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { Pool } from "effect-worker-pool"
 *
 * class Thumbnails extends Context.Service<Thumbnails, Pool.WorkerPool<string, number, never>>()("Thumbnails") {}
 *
 * const ThumbnailsLive = Pool.layer(Thumbnails, {
 *   workers: 4,
 *   handler: (job) => Effect.succeed(job.payload.length)
 * })
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* Thumbnails
 *   return yield* pool.run("cat.png")
 * }).pipe(Effect.provide(ThumbnailsLive))
 * ```
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { describe, isInvalid, unreadable } from "./internal/options.ts"
import * as Once from "./internal/once.ts"
import { type Config, configError, payloadsOf, resolveBuffer, validate } from "./internal/poolOptions.ts"
import { quietly } from "./internal/quietly.ts"
import * as Backlog from "./internal/backlog.ts"
import * as Worker from "./internal/worker.ts"
import { gaveBack, reportAnnotations } from "./internal/reportLog.ts"
import * as Job from "./internal/namespaces/Job.ts"
import * as Shutdown from "./internal/namespaces/Shutdown.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * The pool has begun shutting down (or is closed): the job was not accepted.
 * For `submitAll`, `accepted` says how many of its payloads, from the first,
 * were accepted before (those run as usual).
 */
export class PoolClosedError extends Schema.TaggedError<PoolClosedError>()("PoolClosedError", {
  accepted: Schema.optionalKey(Schema.Number)
}) {
  override get message(): string {
    const before = this.accepted === undefined ? "" : ` (${this.accepted} of the batch were accepted before)`
    return `the pool is shutting down and accepts no more jobs${before}`
  }
}

/** `trySubmit` found the queue full: the job was not accepted. */
export class PoolFullError extends Schema.TaggedError<PoolFullError>()("PoolFullError", {
  capacity: Schema.Number
}) {
  override get message(): string {
    return `the pool's queue is full (capacity ${this.capacity})`
  }
}

/**
 * An option (or `submitAll`'s `payloads`) is wrong: `option` names it and
 * `reason` says why. Nothing was started or accepted, except by `submitAll`:
 * there `accepted` says how many of its payloads, from the first, were
 * accepted before (those run as usual). Only an array whose element throws
 * when read can fail after some were accepted.
 */
export class PoolConfigError extends Schema.TaggedError<PoolConfigError>()("PoolConfigError", {
  option: Schema.String,
  reason: Schema.String,
  accepted: Schema.optionalKey(Schema.Number)
}) {
  override get message(): string {
    const before = this.accepted === undefined ? "" : ` (${this.accepted} of the batch were accepted before)`
    return `invalid option ${this.option}: ${this.reason}${before}`
  }
}

/** What `run` can fail with: the handler's own `E`, or why the job did not complete. */
export type RunError<E> = E | Job.JobTimeoutError | Job.JobInterruptedError | PoolClosedError

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/** How to build a pool. */
export interface Options<A, B, E, R> {
  /** How many jobs run at once: an integer >= 1. */
  readonly workers: number
  /** How many accepted jobs may wait for a worker: an integer >= 1, default 100. */
  readonly capacity?: number | undefined
  /** Runs one job. Its failures, defects and interruptions become that job's `Outcome`. */
  readonly handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>
  /** The deadline of jobs that have no `timeout` of their own. Default: none. */
  readonly jobTimeout?: Duration.Input | undefined
  /** How the pool shuts down when its scope closes or `shutdown()` is called without a policy. */
  readonly shutdown?: Partial<Shutdown.Policy> | undefined
  /**
   * How many outcomes `outcomes` keeps for a subscriber that falls behind,
   * and which it drops once full. Default: 1,024, sliding (see `OutcomeBuffer`).
   */
  readonly outcomes?: OutcomeBuffer | undefined
  /**
   * Called once with the shutdown's report, however the shutdown began
   * (`shutdown`, the pool's scope closing, its layer being released), before
   * the report reaches the callers of `shutdown`. A failure or defect of it is
   * logged and changes nothing else. The shutdown waits for it: keep it short.
   */
  readonly onShutdown?: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>) | undefined
}

/**
 * The buffer between the pool and one subscriber of its outcomes. Workers
 * never wait for a subscriber: once its buffer is full, an outcome is dropped
 * for that subscriber (and counted in `Stats.droppedOutcomes`).
 */
export interface OutcomeBuffer {
  /** How many outcomes wait for the subscriber at most: an integer >= 1. Default 1,024. */
  readonly capacity?: number | undefined
  /**
   * What a full buffer drops: `"sliding"` (default) the oldest outcome it
   * holds, to make room for the new one; `"dropping"` the new one.
   */
  readonly strategy?: "sliding" | "dropping" | undefined
}

/** An `OutcomeBuffer` with every field decided. */
export interface ResolvedOutcomeBuffer {
  readonly capacity: number
  readonly strategy: "sliding" | "dropping"
}

/** The buffer `outcomes` has when the pool's options do not say otherwise. */
export const defaultOutcomeBuffer: ResolvedOutcomeBuffer = { capacity: 1_024, strategy: "sliding" }

/** A snapshot of a pool's counters. The job counts are over the pool's life. */
export interface Stats {
  /** Workers running. */
  readonly workers: number
  /** Jobs accepted and waiting for a worker. */
  readonly queued: number
  /** Jobs a worker is running now. */
  readonly active: number
  /** Jobs accepted. */
  readonly submitted: number
  readonly succeeded: number
  readonly failed: number
  readonly died: number
  readonly interrupted: number
  readonly cancelled: number
  readonly abandoned: number
  /** Outcomes dropped because a subscriber's buffer was full, summed over subscribers. */
  readonly droppedOutcomes: number
}

/** A running pool. */
export interface WorkerPool<in out A, out B, out E> {
  /** Accepts a job, waiting while the queue is full. Fails with `PoolClosedError` once shutdown began. */
  readonly submit: (payload: A, options?: Job.Options) => Effect.Effect<Job.Job<A>, PoolClosedError | PoolConfigError>
  /**
   * Accepts jobs for the payloads in order, waiting for room as `submit`
   * does; one effect for the whole batch, so it costs far less per job than a
   * `submit` each. If shutdown begins half-way, the jobs already accepted
   * run, and the error says how many they are.
   *
   * `payloads` that are not an iterable, or that throw when read, fail with a
   * `PoolConfigError` on `payloads`, which also says how many were accepted.
   * An iterable other than an array is read in full before any job is
   * accepted, so one that throws accepts none. An array is read in place as
   * the batch goes (nothing is copied): one whose element throws when read (a
   * getter, a Proxy) has accepted the payloads before it, and those run.
   */
  readonly submitAll: (payloads: Iterable<A>) => Effect.Effect<Array<Job.Job<A>>, PoolClosedError | PoolConfigError>
  /** Accepts a job if there is room now; never waits. */
  readonly trySubmit: (
    payload: A,
    options?: Job.Options
  ) => Effect.Effect<Job.Job<A>, PoolClosedError | PoolFullError | PoolConfigError>
  /**
   * Submits a job (waiting while full) and waits for its result. Interrupting
   * the caller cancels the job: skipped if still queued, interrupted if running.
   * A handler defect is re-raised as a defect.
   */
  readonly run: (payload: A, options?: Job.Options) => Effect.Effect<B, RunError<E> | PoolConfigError>
  /**
   * The outcome of every job that ends from subscription on. Ends when the
   * pool is closed. A subscriber that falls behind loses outcomes rather
   * than slowing the workers: see `Options.outcomes`.
   */
  readonly outcomes: Stream.Stream<Job.Outcome<A, B, E>>
  /**
   * Subscribes to the outcomes now, in the current scope, with the pool's
   * buffer or one of its own: the stream (run it once) has every outcome from
   * this moment on, however late it starts pulling, up to the buffer's
   * capacity. It ends when the pool is closed or the scope closes. A bad
   * buffer fails with `PoolConfigError`.
   */
  readonly subscribe: {
    (): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, never, Scope.Scope>
    (buffer: OutcomeBuffer): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, PoolConfigError, Scope.Scope>
  }
  /** A snapshot of the counters. */
  readonly stats: Effect.Effect<Stats>
  /**
   * Stops the pool gracefully (see `Shutdown`) and reports. Idempotent: a
   * later call waits for the first and returns the same report.
   */
  readonly shutdown: {
    (): Effect.Effect<Shutdown.Report<A>>
    (policy: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, PoolConfigError>
  }
}

/**
 * The 1-based id of the worker running the current job; 0 outside a worker.
 * Provided once per worker, so reading it costs nothing on the job path.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Pool } from "effect-worker-pool"
 *
 * const handler = () => Effect.gen(function*() {
 *   const worker = yield* Pool.WorkerId
 *   yield* Effect.log(`running on worker ${worker}`)
 * })
 * ```
 */
export const WorkerId = Context.Reference<number>("effect-worker-pool/WorkerId", { defaultValue: () => 0 })

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

/**
 * `Effect.isEffect`, checked here: the shared check sees every kind of value
 * in the program and is slow for it; here it sees what one handler returns.
 */
const isEffect = (u: unknown): u is Effect.Effect<unknown, unknown, unknown> =>
  ((typeof u === "object" && u !== null) || typeof u === "function") && Effect.TypeId in u

/** What a handler returned instead of an Effect, for the error that says so. */
const returned = (value: unknown): string =>
  value instanceof Promise ? "a Promise (wrap it with Effect.promise or Effect.tryPromise)" : describe(value)

// -----------------------------------------------------------------------------
// The pool
// -----------------------------------------------------------------------------

/** Accepts one job: `submit` and `trySubmit` as they run. */
type Accept<A, B, E> = (payload: A, options: Job.Options | undefined) => Effect.Effect<B, E>

/**
 * The effect `submit` returns: one object per call that accepts the job when
 * it runs. `Effect.suspend` would allocate a closure as well as its effect,
 * and `submit` is called once per job.
 */
class Submission<A, B, E> extends Effectable.Class<B, E> {
  declare readonly accept: Accept<A, B, E>
  declare readonly payload: A
  declare readonly options: Job.Options | undefined
  constructor(accept: Accept<A, B, E>, payload: A, options: Job.Options | undefined) {
    super()
    this.accept = accept
    this.payload = payload
    this.options = options
  }
  asEffect(): Effect.Effect<B, E> {
    return this.accept(this.payload, this.options)
  }
}

/** An accepted job, with what its `run` caller (if any) needs. */
interface Entry<A, B, E> {
  readonly job: Job.Job<A>
  /** Present for `run`: where the result goes. */
  readonly reply: Deferred.Deferred<B, RunError<E>> | undefined
  /** Set when the `run` caller was interrupted. */
  cancelled: boolean
  /** Present for `run` while the job runs: the fiber to interrupt on cancel. */
  fiber: Fiber.Fiber<B, E | Job.JobTimeoutError> | undefined
  /** When the job started, read only if someone listened to `outcomes` then. */
  startedAt: number | undefined
}

/** One subscriber of `outcomes`: its buffer. */
interface Subscriber<A, B, E> {
  readonly queue: Queue.Queue<Job.Outcome<A, B, E>, Cause.Done>
  readonly capacity: number
}

/**
 * Logs the report of a shutdown nobody asked for (the scope closed): a
 * warning with the ids of the jobs interrupted and abandoned when there are
 * any, else a debug line.
 */
const logReport = <A>(report: Shutdown.Report<A>): Effect.Effect<void> => {
  const log = gaveBack(report)
    ? Effect.logWarning("pool shut down as its scope closed; some jobs did not complete")
    : Effect.logDebug("pool shut down as its scope closed")
  return quietly(log.pipe(Effect.annotateLogs(reportAnnotations(report))))
}

/** A `submit` waiting for room. */
interface Waiter<A, B, E> {
  readonly entry: Entry<A, B, E>
  readonly resume: (effect: Effect.Effect<Job.Job<A>, PoolClosedError>) => void
}

/**
 * Starts a pool in the current scope and returns it once all its workers run.
 * Closing the scope shuts the pool down with its `shutdown` policy.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Pool } from "effect-worker-pool"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* Pool.make({
 *     workers: 3,
 *     handler: (job) => Effect.log(`sending ${job.payload}`)
 *   })
 *   yield* pool.submit("welcome email")
 *   return yield* pool.shutdown()
 * }))
 * ```
 */
export const make = <A, B, E, R>(
  options: Options<A, B, E, R>
): Effect.Effect<WorkerPool<A, B, E>, PoolConfigError, Scope.Scope | R> => makeWithHooks<A, B, E, R>(options, noHooks)

/**
 * How an accepted job ended, as a pool built on this one (the durable pool)
 * needs to know it: every accepted job ends in exactly one of these.
 *
 * @internal
 */
export type Ending =
  | { readonly _tag: "Succeeded" }
  /** Failed, died, timed out, or interrupted itself before the shutdown began. */
  | { readonly _tag: "Failed"; readonly cause: Cause.Cause<unknown> }
  /** Interrupted by the shutdown: the drain's deadline, or its handler interrupted once the shutdown began. */
  | { readonly _tag: "CutOff" }
  /** Never started: handed back by the shutdown. */
  | { readonly _tag: "Abandoned" }
  /** Its `run` caller gave up on it. */
  | { readonly _tag: "Cancelled" }

const succeededEnding: Ending = { _tag: "Succeeded" }
const cutOffEnding: Ending = { _tag: "CutOff" }
const abandonedEnding: Ending = { _tag: "Abandoned" }
const cancelledEnding: Ending = { _tag: "Cancelled" }

/**
 * What a pool built on this one is told. `ended` is called synchronously,
 * once per accepted job, as the pool settles it.
 *
 * @internal
 */
export interface Hooks<A> {
  readonly ended: (job: Job.Job<A>, ending: Ending) => void
}

const noHooks: Hooks<unknown> = { ended: () => {} }

/** `make`, telling `hooks` how each job ended. @internal */
export const makeWithHooks = <A, B, E, R>(
  options: Options<A, B, E, R>,
  hooks: Hooks<A>
): Effect.Effect<WorkerPool<A, B, E>, PoolConfigError, Scope.Scope | R> =>
  Effect.gen(function*() {
    const validated = validate(options)
    if (isInvalid(validated)) return yield* configError(validated)
    const config: Config<A, B, E, R> = validated
    const scope = yield* Effect.scope
    // The drain runs in a fiber of its own, with the context the pool was made in.
    const context = yield* Effect.context<R>()
    const backlog = Backlog.make<Entry<A, B, E>>(config.capacity)
    const clock = yield* Clock.Clock
    const allStarted = Deferred.makeUnsafe<void>()
    const waiters = new Set<Waiter<A, B, E>>()
    const subscribers = new Set<Subscriber<A, B, E>>()
    const workers: Array<Fiber.Fiber<void>> = []
    /** The jobs interrupted once the shutdown began: what `Report.interrupted` lists. */
    const interrupted: Array<Job.Job<A>> = []
    /** The jobs that interrupted themselves before: only counted, or a long-lived pool would keep them all. */
    let interruptedBeforeShutdown = 0
    let droppedOutcomes = 0
    const counts = { submitted: 0, succeeded: 0, failed: 0, died: 0, cancelled: 0, abandoned: 0 }
    let running = 0
    /** When the current subscribers began listening: the start of jobs that were already running. */
    let listeningSince = 0
    let active = 0
    let accepting = true
    let closed = false
    const shutdownOnce = Once.make<Shutdown.Report<A>>()

    // --- accepting jobs -------------------------------------------------------

    const closedError = () => Effect.fail(new PoolClosedError())

    /**
     * Puts `entry` in the backlog if there is room and nobody waits before it.
     * (Room only frees up when a worker takes a job, and the worker hands it to
     * the waiters at once; the check keeps their order should a fiber slip in
     * between.)
     */
    const offer = (entry: Entry<A, B, E>): boolean => {
      if (waiters.size > 0 || !backlog.offer(entry)) return false
      counts.submitted++
      return true
    }

    /** Hands freed room to waiting submits, in the order they came. */
    const admitWaiters = () => {
      // Once shutdown began, nobody is admitted: the waiters are being refused.
      if (!accepting) return
      for (const waiter of waiters) {
        if (!backlog.offer(waiter.entry)) return
        waiters.delete(waiter)
        counts.submitted++
        // `resume` runs the waiting fiber right here, inside this worker. It
        // yields first, so that it goes on once the workers have made room
        // for more than this one job: a producer resumed inline would fill the
        // one free slot and wait again, a suspension per job.
        waiter.resume(Effect.as(Effect.yieldNow, waiter.entry.job))
      }
    }

    /**
     * Waits for room. The pool keeps its own list of waiters, so that a
     * submit still waiting when shutdown begins is refused, never accepted
     * later. (An offer suspended in an Effect `Queue` would still be accepted
     * after `Queue.end`, once room frees up.)
     */
    const waitForRoom = (entry: Entry<A, B, E>) =>
      Effect.callback<Job.Job<A>, PoolClosedError>((resume) => {
        // Checked again: shutdown may have begun, or room freed up, since the caller looked.
        if (!accepting) return resume(closedError())
        if (offer(entry)) return resume(Effect.succeed(entry.job))
        const waiter: Waiter<A, B, E> = { entry, resume }
        waiters.add(waiter)
        return Effect.sync(() => {
          waiters.delete(waiter)
        })
      })

    /** Makes the entry for a submit, or the error that refuses it. */
    const newEntry = (
      payload: A,
      options: Job.Options | undefined,
      reply: Deferred.Deferred<B, RunError<E>> | undefined
    ): Entry<A, B, E> | PoolClosedError | PoolConfigError => {
      if (!accepting) return new PoolClosedError()
      const job = Job.validate(payload, options)
      return isInvalid(job) ? configError(job) : { job, reply, cancelled: false, fiber: undefined, startedAt: undefined }
    }

    // `submit` and `trySubmit` are the per-job path: no span, no fiber, no
    // allocation beyond the job and its entry when there is room.
    const accept: Accept<A, Job.Job<A>, PoolClosedError | PoolConfigError> = (payload, options) => {
      const entry = newEntry(payload, options, undefined)
      if (!("job" in entry)) return Effect.fail(entry)
      return offer(entry) ? Effect.succeed(entry.job) : waitForRoom(entry)
    }

    const submit = (payload: A, options?: Job.Options): Effect.Effect<Job.Job<A>, PoolClosedError | PoolConfigError> =>
      new Submission(accept, payload, options)

    const submitAll = (payloads: Iterable<A>): Effect.Effect<Array<Job.Job<A>>, PoolClosedError | PoolConfigError> =>
      Effect.suspend(() => {
        const read = payloadsOf(payloads)
        if ("reason" in read) return Effect.fail(new PoolConfigError({ ...read, accepted: 0 }))
        const items = read.items
        const jobs: Array<Job.Job<A>> = []
        let accepted = 0
        const closed = () => Effect.fail(new PoolClosedError({ accepted }))
        // A plain loop while there is room; an effect only to wait for it.
        const rest = (): Effect.Effect<Array<Job.Job<A>>, PoolClosedError | PoolConfigError> => {
          // An array is the caller's: its length and elements can be getters
          // or a Proxy's traps that throw. The jobs before are accepted, and run.
          try {
            while (accepted < items.length) {
              if (!accepting) return closed()
              const entry: Entry<A, B, E> = {
                job: Job.unchecked(items[accepted]),
                reply: undefined,
                cancelled: false,
                fiber: undefined,
                startedAt: undefined
              }
              if (!offer(entry)) {
                return Effect.matchEffect(waitForRoom(entry), { onFailure: closed, onSuccess: admitted })
              }
              jobs.push(entry.job)
              accepted++
            }
          } catch (error) {
            return Effect.fail(new PoolConfigError({ ...unreadable("payloads", error), accepted }))
          }
          return Effect.succeed(jobs)
        }
        const admitted = (job: Job.Job<A>) => {
          jobs.push(job)
          accepted++
          return rest()
        }
        return rest()
      })

    const acceptNow: Accept<A, Job.Job<A>, PoolClosedError | PoolFullError | PoolConfigError> = (payload, options) => {
      const entry = newEntry(payload, options, undefined)
      if (!("job" in entry)) return Effect.fail(entry)
      return offer(entry) ? Effect.succeed(entry.job) : Effect.fail(new PoolFullError({ capacity: config.capacity }))
    }

    const trySubmit = (
      payload: A,
      options?: Job.Options
    ): Effect.Effect<Job.Job<A>, PoolClosedError | PoolFullError | PoolConfigError> =>
      new Submission(acceptNow, payload, options)

    const run = (payload: A, options?: Job.Options): Effect.Effect<B, RunError<E> | PoolConfigError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend((): Effect.Effect<B, RunError<E> | PoolConfigError> => {
          const reply = Deferred.makeUnsafe<B, RunError<E>>()
          const entry = newEntry(payload, options, reply)
          if (!("job" in entry)) return Effect.fail(entry)
          const accepted = offer(entry) ? Effect.void : Effect.asVoid(waitForRoom(entry))
          // From the offer on, an interruption of the caller cancels the job:
          // whether it came while waiting for room, for a worker or for the result.
          return restore(Effect.andThen(accepted, Deferred.await(reply))).pipe(
            Effect.onInterrupt(() => cancel(entry))
          )
        })
      ).pipe(Effect.withSpan("Pool.run"))

    /** Cancels a `run` job whose caller was interrupted. */
    const cancel = (entry: Entry<A, B, E>): Effect.Effect<void> =>
      Effect.suspend(() => {
        // Queued: the worker that takes it skips it. Still waiting for room:
        // it was never accepted, so nothing takes it. Running: interrupt it and
        // wait, so that the caller's interruption ends after its finalizers.
        entry.cancelled = true
        return entry.fiber === undefined ? Effect.void : Fiber.interrupt(entry.fiber)
      })

    // --- running jobs ---------------------------------------------------------

    /**
     * Calls the handler now, in the worker's step, so that an effect that has
     * already ended (an `Exit`) is settled without a runtime step. A handler
     * that throws, or returns something that is not an Effect, dies instead.
     */
    const callHandler = (job: Job.Job<A>): Effect.Effect<B, E, R> => {
      try {
        const effect: unknown = config.handler(job)
        return isEffect(effect)
          ? effect as Effect.Effect<B, E, R>
          : Effect.die(new TypeError(`the handler returned ${returned(effect)}, not an Effect`))
      } catch (defect) {
        return Effect.die(defect)
      }
    }

    const runHandler = (job: Job.Job<A>): Effect.Effect<B, E | Job.JobTimeoutError, R> => {
      const effect = callHandler(job)
      const timeout = job.timeout ?? config.jobTimeout
      return timeout === undefined || !Duration.isFinite(timeout) ? effect : Effect.timeoutOrElse(effect, {
        duration: timeout,
        orElse: () => Effect.fail(new Job.JobTimeoutError({ jobId: job.id, timeout }))
      })
    }

    /** Runs a `run` job in a fiber of its own, so that its caller can interrupt just that job. */
    const runCancellable = (entry: Entry<A, B, E>): Effect.Effect<B, E | Job.JobTimeoutError, R> =>
      Effect.flatMap(Effect.forkChild(runHandler(entry.job)), (fiber) => {
        entry.fiber = fiber
        // Cancelled since the worker took it: stop the fiber before it starts.
        return entry.cancelled ? Effect.andThen(Fiber.interrupt(fiber), Fiber.join(fiber)) : Fiber.join(fiber)
      })

    /**
     * Starts one job, in the step in which a worker took it: the effect that
     * runs it, or `undefined` for a job cancelled while it was queued.
     */
    const start = (entry: Entry<A, B, E>): Effect.Effect<B, E | Job.JobTimeoutError, R> | undefined => {
      if (waiters.size > 0) admitWaiters()
      if (entry.cancelled) {
        cancelledQueued(entry)
        return undefined
      }
      active++
      // The clock is read only while someone listens: nobody else needs `elapsed`.
      if (subscribers.size > 0) entry.startedAt = clock.currentTimeMillisUnsafe()
      return entry.reply === undefined ? runHandler(entry.job) : runCancellable(entry)
    }

    /** A job whose `run` caller gave up on it while it was queued: it never starts. */
    const cancelledQueued = (entry: Entry<A, B, E>) => {
      counts.cancelled++
      hooks.ended(entry.job, cancelledEnding)
      if (subscribers.size > 0) publish({ _tag: "Interrupted", job: entry.job, cancelled: true })
    }

    /** How long a job ran; for one that started before anyone listened, since they did. */
    const elapsed = (entry: Entry<A, B, E>) =>
      Duration.millis(clock.currentTimeMillisUnsafe() - (entry.startedAt ?? listeningSince))

    const succeeded = (entry: Entry<A, B, E>, value: B) => {
      active--
      counts.succeeded++
      hooks.ended(entry.job, succeededEnding)
      if (entry.reply) Deferred.doneUnsafe(entry.reply, Exit.succeed(value))
      if (subscribers.size > 0) publish({ _tag: "Succeeded", job: entry.job, value, elapsed: elapsed(entry) })
    }

    /** Counts, replies and publishes how a job that did not succeed ended. */
    const failed = (entry: Entry<A, B, E>, cause: Cause.Cause<E | Job.JobTimeoutError>): Effect.Effect<void> => {
      active--
      const { job, reply } = entry
      const listening = subscribers.size > 0
      const error = Cause.findError(cause)
      if (error._tag === "Success") {
        counts.failed++
        hooks.ended(job, { _tag: "Failed", cause })
        if (reply) Deferred.doneUnsafe(reply, Exit.fail(error.success))
        if (listening) publish({ _tag: "Failed", job, error: error.success, elapsed: elapsed(entry) })
        return quietly(Effect.logDebug("job failed", error.success).pipe(Effect.annotateLogs("jobId", job.id)))
      }
      const defect = Cause.findDefect(cause)
      if (defect._tag === "Success") {
        counts.died++
        hooks.ended(job, { _tag: "Failed", cause })
        if (reply) Deferred.doneUnsafe(reply, Exit.die(defect.success))
        if (listening) publish({ _tag: "Died", job, defect: defect.success })
        return quietly(Effect.logWarning("job died", cause).pipe(Effect.annotateLogs("jobId", job.id)))
      }
      settleInterrupted(entry, cause)
      return Effect.void
    }

    /** A job stopped half-way: by its caller (cancelled), by itself, or by the drain deadline. */
    const settleInterrupted = (entry: Entry<A, B, E>, cause: Cause.Cause<unknown>) => {
      if (entry.cancelled) {
        counts.cancelled++
        hooks.ended(entry.job, cancelledEnding)
      } else {
        if (accepting) {
          interruptedBeforeShutdown++
          hooks.ended(entry.job, { _tag: "Failed", cause })
        } else {
          interrupted.push(entry.job)
          hooks.ended(entry.job, cutOffEnding)
        }
        if (entry.reply) Deferred.doneUnsafe(entry.reply, Exit.fail(new Job.JobInterruptedError({ jobId: entry.job.id })))
      }
      if (subscribers.size > 0) publish({ _tag: "Interrupted", job: entry.job, cancelled: entry.cancelled })
    }

    /** The worker was interrupted (the drain deadline) while running `entry`: stop the job too. */
    const interruptedWhileRunning = (entry: Entry<A, B, E>): Effect.Effect<void> =>
      Effect.andThen(
        entry.fiber === undefined ? Effect.void : Fiber.interrupt(entry.fiber),
        Effect.sync(() => {
          active--
          settleInterrupted(entry, Cause.interrupt())
        })
      )

    const worker = (id: number, hand: Worker.Hand<Entry<A, B, E>>): Effect.Effect<void, never, R> =>
      Effect.suspend(() => {
        if (++running === config.workers) Deferred.doneUnsafe(allStarted, Effect.void)
        return Worker.loop(backlog, { run: start, succeeded, failed, interrupted: interruptedWhileRunning }, hand)
      }).pipe(
        Effect.ensuring(Effect.sync(() => running--)),
        Effect.provideService(WorkerId, id),
        Effect.annotateLogs("worker", id)
      )

    /**
     * A worker's place: its loop runs in a fiber of its own. The runtime ends
     * a fiber at once, without running any of its frames, when it meets a
     * value that is not an Effect (a handler's `Effect.suspend(() => undefined)`
     * in JavaScript, say). Such a loop would take its job and its place with it;
     * here the job it held ends as died, and a new loop takes the place.
     */
    const workerPlace = (id: number): Effect.Effect<void, never, R> =>
      Effect.suspend(() => {
        const hand: Worker.Hand<Entry<A, B, E>> = { item: undefined }
        return Effect.flatMap(Effect.forkChild(worker(id, hand), { startImmediately: true }), (fiber) =>
          Effect.onInterrupt(Fiber.await(fiber), () => Fiber.interrupt(fiber)).pipe(
            Effect.flatMap((exit) =>
              Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? Effect.void : replaceWorker(id, hand, exit.cause)
            )
          ))
      })

    const replaceWorker = (id: number, hand: Worker.Hand<Entry<A, B, E>>, cause: Cause.Cause<never>) => {
      running-- // the loop's own `ensuring` did not run
      const entry = hand.item
      const settled = entry === undefined ? Effect.void : failed(entry, cause)
      const logged = quietly(Effect.logError("a worker's fiber died outright; a new one takes its place", cause).pipe(
        Effect.annotateLogs("worker", id)
      ))
      return Effect.andThen(Effect.andThen(settled, logged), workerPlace(id))
    }

    // --- outcomes -------------------------------------------------------------

    /**
     * Sends an outcome to every subscriber. Callers build one only while
     * someone listens. A full buffer drops one outcome (its queue's strategy
     * says which), and the worker goes on.
     */
    const publish = (outcome: Job.Outcome<A, B, E>) => {
      for (const subscriber of subscribers) {
        if (Queue.sizeUnsafe(subscriber.queue) >= subscriber.capacity) droppedOutcomes++
        Queue.offerUnsafe(subscriber.queue, outcome)
      }
    }

    const subscribeWith = (
      buffer: ResolvedOutcomeBuffer
    ): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, never, Scope.Scope> =>
      Effect.gen(function*() {
        if (closed) return Stream.empty
        const queue = yield* Queue.make<Job.Outcome<A, B, E>, Cause.Done>(buffer)
        const subscriber: Subscriber<A, B, E> = { queue, capacity: buffer.capacity }
        if (subscribers.size === 0) listeningSince = clock.currentTimeMillisUnsafe()
        subscribers.add(subscriber)
        // Ended as well as removed: a stream still reading it ends instead of waiting forever.
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            subscribers.delete(subscriber)
            Queue.endUnsafe(queue)
          })
        )
        return Stream.fromQueue(queue)
      })

    const outcomes = Stream.unwrap(subscribeWith(config.outcomes))

    function subscribe(): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, never, Scope.Scope>
    function subscribe(
      buffer: OutcomeBuffer
    ): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, PoolConfigError, Scope.Scope>
    function subscribe(
      buffer?: OutcomeBuffer
    ): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, PoolConfigError, Scope.Scope> {
      return Effect.suspend(() => {
        const resolved = resolveBuffer(config.outcomes, buffer)
        return isInvalid(resolved) ? Effect.fail(configError(resolved)) : subscribeWith(resolved)
      })
    }

    // --- shutdown -------------------------------------------------------------

    /** A queued job that will never start: handed back, unless its caller already gave up on it. */
    const abandon = (entry: Entry<A, B, E>): Array<Job.Job<A>> => {
      if (entry.cancelled) {
        cancelledQueued(entry)
        return []
      }
      counts.abandoned++
      hooks.ended(entry.job, abandonedEnding)
      if (entry.reply) Deferred.doneUnsafe(entry.reply, closedError())
      return [entry.job]
    }

    const drainable: Shutdown.Drainable<A> = {
      stopAccepting: () => {
        accepting = false
        // The whole list is detached before anyone is resumed: a refused
        // caller goes on inline, and whatever it does (free room by letting a
        // job end, say) must not find the others still waiting to be admitted.
        const refused = Array.from(waiters)
        waiters.clear()
        for (const waiter of refused) waiter.resume(closedError())
      },
      takeBacklog: Effect.sync(() => backlog.takeAll().flatMap(abandon)),
      closeQueue: backlog.end,
      awaitWorkers: Fiber.awaitAll(workers),
      interruptWorkers: Fiber.interruptAll(workers),
      close: () => {
        closed = true
        for (const subscriber of subscribers) Queue.endUnsafe(subscriber.queue)
        const { cancelled, died, failed, succeeded } = counts
        return { succeeded, failed, died, cancelled, interrupted, interruptedBeforeShutdown }
      }
    }

    function shutdown(): Effect.Effect<Shutdown.Report<A>>
    function shutdown(policy: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, PoolConfigError>
    function shutdown(policy?: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, PoolConfigError> {
      return Effect.suspend(() => {
        const resolved = Shutdown.resolve(config.shutdown, policy)
        if (isInvalid(resolved)) return Effect.fail(configError(resolved))
        return shutdownOnce.run(Shutdown.drain(drainable, resolved).pipe(
          Effect.tap(notify),
          Effect.provideContext(context)
        ))
      }).pipe(Effect.withSpan("Pool.shutdown"))
    }

    /** Hands the report to `onShutdown`, whose failure, defect or odd return value changes nothing. */
    const notify = (done: Shutdown.Report<A>): Effect.Effect<void, never, R> => {
      const onShutdown = config.onShutdown
      if (onShutdown === undefined) return Effect.void
      return Effect.suspend(() => {
        const effect: unknown = onShutdown(done)
        return isEffect(effect) ? effect : Effect.die(new TypeError(`onShutdown returned ${returned(effect)}, not an Effect`))
      }).pipe(
        Effect.catchCause((cause) => quietly(Effect.logWarning("onShutdown failed; the shutdown goes on", cause))),
        Effect.asVoid
      ) as Effect.Effect<void, never, R>
    }

    /**
     * The shutdown run when the pool's scope closes. Nobody receives its
     * report (unless `shutdown` was called before, and then it already had
     * it), so it is logged: the ids of the jobs that did not complete are
     * fields of the log line, not only a count in a sentence.
     */
    const shutdownOnRelease = Effect.suspend(() => {
      const begunHere = !shutdownOnce.started()
      return Effect.flatMap(shutdown(), (done) => begunHere ? logReport(done) : Effect.void)
    })

    const stats = Effect.sync((): Stats => ({
      workers: running,
      queued: backlog.size(),
      active,
      ...counts,
      interrupted: interruptedBeforeShutdown + interrupted.length,
      droppedOutcomes
    }))

    // --- start ----------------------------------------------------------------

    // The workers live in a scope of the pool's own, closed only after the
    // drain: the owner's scope may run its finalizers in parallel, and must
    // not interrupt the workers while they drain.
    const workerScope = yield* Scope.make()
    yield* Scope.addFinalizer(scope, Effect.andThen(shutdownOnRelease, Scope.close(workerScope, Exit.void)))
    for (let id = 1; id <= config.workers; id++) {
      workers.push(yield* Effect.forkIn(workerPlace(id), workerScope))
    }
    // Start before traffic: return only once every worker is taking jobs.
    yield* Deferred.await(allStarted)
    yield* quietly(Effect.logDebug("pool started").pipe(
      Effect.annotateLogs({ workers: config.workers, capacity: config.capacity })
    ))

    return { submit, submitAll, trySubmit, run, outcomes, subscribe, stats, shutdown }
  }).pipe(Effect.withSpan("Pool.make"))

/**
 * A layer that provides a pool as the service `service`. The pool starts when
 * the layer is built (so anything built on it starts after its workers) and
 * drains when the layer is released.
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-worker-pool"
 *
 * class Emails extends Context.Service<Emails, Pool.WorkerPool<string, void, never>>()("Emails") {}
 *
 * const EmailsLive = Pool.layer(Emails, { workers: 8, handler: (job) => Effect.log(job.payload) })
 * ```
 */
export const layer = <I, A, B, E, R>(
  service: Context.Key<I, WorkerPool<A, B, E>>,
  // The pool's types come from the service alone: inferred from the handler
  // too, a handler failing with `Boom` would widen `E` to `Boom` and fit a
  // service whose jobs cannot fail. Checked against them, it is refused.
  options: Options<NoInfer<A>, NoInfer<B>, NoInfer<E>, R>
): Layer.Layer<I, PoolConfigError, Exclude<R, Scope.Scope>> => Layer.effect(service, make(options))
