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
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { isInvalid } from "./internal/options.ts"
import { type Config, configError, payloadsOf, resolveBuffer, validate } from "./internal/poolOptions.ts"
import { quietly } from "./internal/quietly.ts"
import * as Admission from "./internal/admission.ts"
import * as Cancel from "./internal/cancel.ts"
import * as Delayed from "./internal/delayed.ts"
import * as Ledger from "./internal/ledger.ts"
import * as PoolMetrics from "./internal/metrics.ts"
import { inOwnScope } from "./internal/ownScope.ts"
import * as Tracing from "./internal/tracing.ts"
import * as Places from "./internal/places.ts"
import * as PoolShutdown from "./internal/poolShutdown.ts"
import * as Run from "./internal/run.ts"
import * as Running from "./internal/running.ts"
import { Submission } from "./internal/runtime.ts"
import * as State from "./internal/state.ts"
import * as Job from "./Job.ts"
import * as Policy from "./internal/policy.ts"
import type * as Shutdown from "./Shutdown.ts"

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
  /** The pool's name: the `pool` attribute of its metrics (see `Metrics`). A non-empty string, default `"default"`. */
  readonly name?: string | undefined
  /**
   * Whether the pool records its metrics (see `Metrics`): its counts (jobs
   * submitted, ended by outcome, queued, active, workers), read when the
   * metrics are read, so that they cost nothing per job. Default `true`.
   */
  readonly metrics?: boolean | undefined
  /**
   * Whether the pool also records each job's wait and run time (the
   * histograms of `Metrics`), when `metrics` is on. Default `false`: three
   * clock reads and two histogram updates per job cost about half the
   * throughput of no-op jobs (bench/results-observe.md); jobs that do any
   * real work do not notice them.
   */
  readonly jobTimings?: boolean | undefined
  /**
   * Whether a job submitted while a span is current runs in a span of its
   * own, `effect-worker-pool.job <name>`, a child of that span (attributes
   * `job.id`, `job.attempt`, `job.worker`, `job.outcome`). Default `true`: a
   * job submitted with no span current costs nothing more.
   */
  readonly tracing?: boolean | undefined
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
  /** Jobs accepted and waiting for a worker, delayed ones included. */
  readonly queued: number
  /** Of the `queued` jobs, those submitted with a `delay` that are not due yet. */
  readonly delayed: number
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

/** A job a worker is running now: see `WorkerPool.running`. */
export interface RunningJob {
  readonly id: string
  /** The 1-based id of the worker running it (`WorkerId`). */
  readonly worker: number
  /** Its delivery, from 1 (always 1 in memory). */
  readonly attempt: number
  /**
   * When it started, in milliseconds by the pool's `Clock`: known when
   * someone subscribed to the pool's outcomes at that moment (the dashboard
   * does), since the clock is read only then; otherwise `undefined`.
   */
  readonly startedAt: number | undefined
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
  /** A snapshot of the jobs running now (at most one per worker): id, worker, attempt, start. */
  readonly running: Effect.Effect<ReadonlyArray<RunningJob>>
  /**
   * Holds the queue: no worker starts a job until `resume`. The jobs running
   * now finish; submits go on being accepted while there is room (then wait,
   * as when the workers are busy), and delayed jobs still come due into the
   * queue. A shutdown lifts it for good (`isPaused` is then false, and a
   * `pause` changes nothing): its policy's `backlog` decides the queued
   * jobs (`"drain"` runs them, `"return"` hands them back). Answers whether
   * the state changed (`false`: it was paused already, or shut down).
   */
  readonly pause: Effect.Effect<boolean>
  /** Lets the workers take jobs again. Answers whether the state changed (`false`: it was not paused). */
  readonly resume: Effect.Effect<boolean>
  /** Whether the pool is paused. */
  readonly isPaused: Effect.Effect<boolean>
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


// -----------------------------------------------------------------------------
// The pool
// -----------------------------------------------------------------------------

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

/**
 * What a pool built on this one is told. `ended` is called synchronously,
 * once per accepted job, as the pool settles it (by `internal/ledger.ts`).
 *
 * @internal
 */
export interface Hooks<A> {
  readonly ended: (job: Job.Job<A>, ending: Ending) => void
  /**
   * Whether the pool keeps its jobs by id so that `cancel` can stop one
   * (each job then runs in a fiber of its own): see `internal/cancel.ts`.
   */
  readonly cancellable?: boolean | undefined
  /**
   * Run by the worker before each job's handler, outside the job's deadline:
   * the threaded pool sends the job to a thread here and waits until it has
   * started it, so that neither a thread being replaced nor a job ahead of it
   * eats into the job's time.
   */
  readonly beforeJob?: ((job: Job.Job<A>) => Effect.Effect<void>) | undefined
  /** Attributes the pool's metrics carry besides `pool` (a durable pool's `queue`). */
  readonly metricAttributes?: Readonly<Record<string, string>> | undefined
}

/**
 * A pool made by `makeWithHooks`, with what only a pool built on it uses.
 *
 * @internal
 */
export interface HookedPool<in out A, out B, out E> extends WorkerPool<A, B, E> {
  /**
   * `submit`, for a job whose id and attempt the caller vouches for (a
   * durable pool's claimed job, as its store gave them): no options to check.
   * A threaded pool still checks that the payload can go to a thread.
   */
  readonly deliver: (
    payload: A,
    delivery: Admission.Delivery
  ) => Effect.Effect<Job.Job<A>, PoolClosedError | PoolConfigError>
  /**
   * Cancels the accepted job `id` that has not ended (skipped if queued,
   * interrupted if running; it ends as `Cancelled`): returns whether there
   * was one. Only in a pool made with `Hooks.cancellable`; otherwise false.
   */
  readonly cancel: (id: string) => boolean
  /**
   * Why `payload` could not be run here, as the error `submit` would fail
   * with (its `option` as given); `undefined` if it could. Only a threaded
   * pool refuses payloads (one it cannot send to a thread); the in-memory
   * pool has no such check.
   */
  readonly refusal?: ((payload: A, option: string) => PoolConfigError | undefined) | undefined
}

const noHooks: Hooks<unknown> = { ended: () => {} }

/** The errors the pool's internal modules raise: defined here, handed to them in its state. */
const errors: State.Errors = { Closed: PoolClosedError, Full: PoolFullError, Config: PoolConfigError }

/**
 * `make`, telling `hooks` how each job ended. This is the wiring: the pool's
 * state is one record (`internal/state.ts`), and what each method does is in
 * the module that owns it (admission, the ledger, `run`, the worker places).
 *
 * @internal
 */
export const makeWithHooks = <A, B, E, R>(
  options: Options<A, B, E, R>,
  given: Hooks<A>
): Effect.Effect<HookedPool<A, B, E>, PoolConfigError, Scope.Scope | R> =>
  inOwnScope(Effect.gen(function*() {
    const validated = validate(options)
    if (isInvalid(validated)) return yield* configError(validated)
    const config: Config<A, B, E, R> = validated
    const scope = yield* Effect.scope
    // The drain runs in a fiber of its own, with the context the pool was made in.
    const context = yield* Effect.context<R>()
    const clock = yield* Clock.Clock
    // A cancellable pool forgets each job by id as it ends, before the hook hears of it (its other hooks kept).
    const hooks: Hooks<A> = given.cancellable === true
      ? {
        ...given,
        ended: (job, ending) => {
          Cancel.untrack(state, job.id)
          given.ended(job, ending)
        }
      }
      : given
    const metricAttributes = { ...given.metricAttributes, pool: config.name }
    const metricContext = context as Context.Context<never>
    const state: State.PoolState<A, B, E, R> = State.make<A, B, E, R>(
      { ...config, workerId: WorkerId, errors, spanName: Tracing.spanName(config.name) },
      hooks,
      clock,
      config.metrics && config.jobTimings ? PoolMetrics.make(metricAttributes, metricContext) : undefined
    )
    if (config.metrics) {
      const retire = PoolMetrics.register(() => Ledger.stats(state), metricAttributes, metricContext)
      yield* Effect.addFinalizer(() => Effect.sync(retire))
    }
    const cancel = (id: string): boolean => {
      const entry = Cancel.cancel(state, id)
      // A delayed job leaves at once, and its place goes to a waiting submit.
      if (entry !== undefined) Admission.withdraw(state, entry)
      return entry !== undefined
    }

    // `submit` and `trySubmit` are called once per job: one object each, and no closure (see `Submission`).
    const submit = (payload: A, options?: Job.Options): Effect.Effect<Job.Job<A>, PoolClosedError | PoolConfigError> =>
      new Submission(Admission.submit, state, payload, options)
    const trySubmit = (
      payload: A,
      options?: Job.Options
    ): Effect.Effect<Job.Job<A>, PoolClosedError | PoolFullError | PoolConfigError> =>
      new Submission(Admission.trySubmit, state, payload, options)

    const deliver = (payload: A, delivery: Admission.Delivery): Effect.Effect<Job.Job<A>, PoolClosedError> =>
      new Submission(Admission.deliver, state, payload, delivery)

    const submitAll = (payloads: Iterable<A>): Effect.Effect<Array<Job.Job<A>>, PoolClosedError | PoolConfigError> =>
      Effect.suspend(() => {
        const read = payloadsOf(payloads)
        if ("reason" in read) return Effect.fail(new PoolConfigError({ ...read, accepted: 0 }))
        return Admission.submitAll(state, read.items)
      })

    const run = (payload: A, options?: Job.Options): Effect.Effect<B, RunError<E> | PoolConfigError> =>
      Run.run(state, payload, options)

    const outcomes = Stream.unwrap(Ledger.subscribe(state, config.outcomes))

    function subscribe(): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, never, Scope.Scope>
    function subscribe(
      buffer: OutcomeBuffer
    ): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, PoolConfigError, Scope.Scope>
    function subscribe(
      buffer?: OutcomeBuffer
    ): Effect.Effect<Stream.Stream<Job.Outcome<A, B, E>>, PoolConfigError, Scope.Scope> {
      return Effect.suspend(() => {
        const resolved = resolveBuffer(config.outcomes, buffer)
        return isInvalid(resolved) ? Effect.fail(configError(resolved)) : Ledger.subscribe(state, resolved)
      })
    }

    const stats = Effect.sync(() => Ledger.stats(state))
    const running = Effect.sync(() => Running.snapshot(state))
    const pause = Effect.sync(() => state.backlog.pause(true))
    const resume = Effect.sync(() => state.backlog.pause(false))
    const isPaused = Effect.sync(() => state.backlog.paused())

    // --- shutdown -------------------------------------------------------------

    const poolShutdown = PoolShutdown.make(state, config.onShutdown, context)

    function shutdown(): Effect.Effect<Shutdown.Report<A>>
    function shutdown(policy: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, PoolConfigError>
    function shutdown(policy?: Partial<Shutdown.Policy>): Effect.Effect<Shutdown.Report<A>, PoolConfigError> {
      return Effect.suspend(() => {
        const resolved = Policy.resolve(config.shutdown, policy)
        return isInvalid(resolved) ? Effect.fail(configError(resolved)) : poolShutdown.run(resolved)
      }).pipe(Effect.withSpan("Pool.shutdown"))
    }

    // --- start ----------------------------------------------------------------

    // The workers live in a scope of their own, closed by the shutdown's
    // finalizer once the drain is over: nothing interrupts them while they drain.
    const workerScope = yield* Scope.make()
    const shutdownOnRelease = PoolShutdown.onRelease(poolShutdown, shutdown())
    yield* Scope.addFinalizer(scope, Effect.andThen(shutdownOnRelease, Scope.close(workerScope, Exit.void)))
    yield* Places.start(state, workerScope)
    yield* Effect.forkIn(Delayed.timer(state), workerScope, { startImmediately: true })
    yield* quietly(Effect.logDebug("pool started").pipe(
      Effect.annotateLogs({ workers: config.workers, capacity: config.capacity })
    ))

    return {
      submit,
      submitAll,
      trySubmit,
      run,
      outcomes,
      subscribe,
      stats,
      running,
      pause,
      resume,
      isPaused,
      shutdown,
      cancel,
      deliver
    }
  })).pipe(Effect.withSpan("Pool.make"))

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
