/**
 * A worker pool whose handler runs in worker threads, for jobs that compute
 * (resize an image, hash a file, render a PDF): N threads run N jobs at
 * once, on as many cores, and a job that computes blocks neither the other
 * jobs nor the event loop.
 *
 * It is the in-memory pool (`Pool`) with a handler that sends each job to a
 * thread, so `submit`, `trySubmit`, `run`, `outcomes`, `stats` and
 * `shutdown` mean exactly what they mean there. What changes:
 *
 * - The handler lives in a module of its own, named by URL, that exports
 *   `handler` (a function of the job returning an Effect, as in memory).
 *   Each thread loads it; one that cannot be loaded, or exports no
 *   `handler`, fails `make` with a `PoolConfigError` on `handler`.
 * - Payloads and results cross by structured clone, or by the pool's
 *   `schema` (which the handler module exports too). A payload that cannot
 *   be cloned, or encoded, is refused at `submit` with a `PoolConfigError`
 *   on `payload`.
 *   What `transfer` returns for a payload (an `ArrayBuffer`) is moved, not
 *   copied, to an idle thread (to one busy with another job it is copied,
 *   so that the job can still go elsewhere); a handler moves what it returns by adding it to Effect's
 *   `Transferable` collector (`Transferable.addAll`).
 * - Each thread runs one job and has the next queued ahead, so that it
 *   never waits for the main thread between two jobs: `stats` counts the
 *   queued one `active`, and its `workers` are the threads. A job's deadline
 *   starts when its thread starts it. A `pause` sends no more jobs to the
 *   threads; the one queued ahead in each still runs, as those running do.
 * - A job that must end early (its timeout, its `run` caller interrupted,
 *   the drain's deadline) ends with the same outcome as in memory, and its
 *   thread is terminated, since code that computes cannot be interrupted,
 *   and replaced; the job queued behind it, never started, goes to another
 *   thread and runs once. One cut off while still queued is withdrawn
 *   without running. A thread that crashes or exceeds its `resourceLimits`
 *   is a `Died` outcome for its running job only, and is replaced.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Threads } from "effect-worker-pool"
 *
 * // hash.ts exports: const handler = (job) => Effect.sync(() => sha256(job.payload))
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* Threads.make<string, string, never>({
 *     handler: new URL("./hash.ts", import.meta.url),
 *     threads: 2
 *   })
 *   return yield* pool.run("hello")
 * }))
 * ```
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as WorkerThreads from "node:worker_threads"
import { isInvalid, safeString } from "./internal/options.ts"
import { configError, payloadsOf, validate as validatePool } from "./internal/poolOptions.ts"
import { whyNotCloneable, whyNotTransferable } from "./internal/threads/clone.ts"
import { encodeNow } from "./internal/threads/codec.ts"
import { loadPlatform } from "./internal/threads/thread.ts"
import { validate } from "./internal/threads/config.ts"
import * as Threads from "./internal/threads/threads.ts"
import type * as Job from "./Job.ts"
import * as Pool from "./Pool.ts"
import type * as Shutdown from "./Shutdown.ts"

/**
 * The schemas of what crosses to and from the threads, each optional: the
 * payload is encoded on the caller's side and decoded in the thread, the
 * result and the handler's error the other way. The handler module must
 * export the same as `schema` (a module both import is the simple way).
 */
export interface Schemas<A, B, E> {
  readonly payload?: Schema.Codec<A, any> | undefined
  readonly success?: Schema.Codec<B, any> | undefined
  readonly failure?: Schema.Codec<E, any> | undefined
}

/** How to build a threaded pool. */
export interface Options<A, B = unknown, E = unknown> {
  /**
   * The handler module: a `URL` (`new URL("./resize.ts", import.meta.url)`)
   * or a URL string. It must export `handler`, a function of the job
   * returning an Effect that needs no services.
   */
  readonly handler: URL | string
  /** How many threads, and so how many jobs at once: an integer from 1 to 1,024. Default: `os.availableParallelism()`. */
  readonly threads?: number | undefined
  /**
   * What of a payload `postMessage` moves rather than copies (its `ArrayBuffer`s), when the job goes
   * to an idle thread; queued ahead in a busy one, it is copied. Default: nothing. A list with
   * anything else, the same buffer twice or one already moved is refused at submit.
   */
  readonly transfer?: ((payload: A) => Iterable<ArrayBuffer>) | undefined
  /**
   * Schemas for what crosses (see `Schemas`); without one, a value crosses by
   * structured clone as it is. A payload that does not encode is refused at
   * `submit` with a `PoolConfigError` on `payload`.
   */
  readonly schema?: Schemas<A, B, E> | undefined
  /** Each thread's memory limits (`worker_threads`' `resourceLimits`): a thread over them dies with its job. */
  readonly resourceLimits?: WorkerThreads.ResourceLimits | undefined
  /**
   * How long a thread may take to load the handler module, default 60
   * seconds, in real time: past it the thread is stopped and its start
   * fails (a top-level `await` that never settles). Raise it for a module
   * that loads for longer (a large model); `"Infinity"` waits for ever.
   */
  readonly startTimeout?: Duration.Input | undefined
  /** As for `Pool.make`: how many accepted jobs may wait for a thread, default 100. */
  readonly capacity?: number | undefined
  /** As for `Pool.make`: the deadline of jobs without their own. A job over it has its thread terminated. */
  readonly jobTimeout?: Duration.Input | undefined
  /** As for `Pool.make`. A job still running at the drain's deadline has its thread terminated. */
  readonly shutdown?: Partial<Shutdown.Policy> | undefined
  /** As for `Pool.make`. */
  readonly outcomes?: Pool.OutcomeBuffer | undefined
  /** As for `Pool.make`. */
  readonly onShutdown?: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown>) | undefined
  /** As for `Pool.make`: the `pool` attribute of its metrics. */
  readonly name?: string | undefined
  /** As for `Pool.make`: whether it records its metrics. Default `true`. */
  readonly metrics?: boolean | undefined
  /** As for `Pool.make`, but default `true`: a job's round trip to its thread costs far more than its clock reads. */
  readonly jobTimings?: boolean | undefined
  /** As for `Pool.make`: a job submitted under a span runs in a span of its own (in this thread). */
  readonly tracing?: boolean | undefined
}

const nothing: ReadonlyArray<unknown> = []

/** The brand of a handler made by `handler`. */
const ThreadedTypeId: unique symbol = Symbol.for("effect-worker-pool/Threads/handler")

/** What `handler` says of a module, for a pool built on this one (the durable pool) to run it on threads. */
export interface ThreadedHandler<A, B, E> {
  (job: Job.Job<A>): Effect.Effect<B, E>
  readonly [ThreadedTypeId]: Pick<Options<A, B, E>, "handler" | "transfer" | "resourceLimits" | "schema" | "startTimeout">
}

/**
 * A handler that runs in threads, for the durable pool: pass it as
 * `Durable.make`'s `handler`, and that pool's `workers` threads run its jobs,
 * with the semantics of `make` (a job ended early terminates its thread).
 * Called directly, it dies: it is a name for a module, not the handler itself.
 *
 * ```ts
 * import { Threads } from "effect-worker-pool"
 *
 * const resize = Threads.handler<string, number, never>(new URL("./resize.ts", import.meta.url), {
 *   resourceLimits: { maxOldGenerationSizeMb: 256 }
 * })
 * ```
 */
export const handler = <A, B, E>(
  module: URL | string,
  options: Pick<Options<A, B, E>, "transfer" | "resourceLimits" | "schema" | "startTimeout"> = {}
): ThreadedHandler<A, B, E> =>
  Object.assign(
    (_job: Job.Job<A>): Effect.Effect<B, E> =>
      Effect.die(new TypeError("a Threads.handler runs in threads: give it to Durable.make, not to a pool in memory")),
    { [ThreadedTypeId]: { ...options, handler: module } }
  )

/**
 * The options of the threads behind a handler made by `handler`, or
 * `undefined` for any other handler.
 *
 * @internal
 */
export const threadedOptions = <A, B, E>(
  handler: unknown
): Pick<Options<A, B, E>, "handler" | "transfer" | "resourceLimits" | "schema" | "startTimeout"> | undefined =>
  typeof handler === "function" && ThreadedTypeId in handler
    ? (handler as unknown as ThreadedHandler<A, B, E>)[ThreadedTypeId]
    : undefined

/**
 * `make`, telling `hooks` how each job ended (as `Pool.makeWithHooks`).
 *
 * @internal
 */
export const makeWithHooks = <A, B, E>(
  options: Options<A, B, E>,
  hooks: Pool.Hooks<A>
): Effect.Effect<Pool.HookedPool<A, B, E>, Pool.PoolConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const own = validate<A>(options)
    if (isInvalid(own)) return yield* configError(own)
    const { schemas, transfer } = own
    // The options shared with the in-memory pool (as `validate` read them, once) are checked before
    // any thread starts. Two workers per thread: one job running in it, one queued ahead (see
    // `internal/threads/threads.ts`).
    const poolOptions = {
      ...own.shared,
      workers: own.threads * Threads.depth,
      jobTimings: own.shared.jobTimings ?? true,
      handler: () => Effect.die("replaced by the threads' handler")
    } as unknown as Pool.Options<A, B, E, never>
    const shared = validatePool(poolOptions)
    if (isInvalid(shared)) return yield* configError(shared)

    const transferOf = transfer === undefined ? () => nothing : (payload: A) => Array.from(transfer(payload))
    const platform = yield* Effect.mapError(
      loadPlatform,
      (reason) => new Pool.PoolConfigError({ option: "handler", reason })
    )
    const threads = yield* Threads.start<A>(
      { module: own.module, resourceLimits: own.resourceLimits, platform, startTimeout: own.startTimeout },
      own.threads,
      transferOf,
      schemas
    ).pipe(Effect.mapError((reason) => new Pool.PoolConfigError({ option: "handler", reason })))

    // The pool drains first, then the threads (idle by then) close: in this order, whatever the owner's scope does.
    const scope = yield* Effect.scope
    const poolScope = yield* Scope.make()
    yield* Scope.addFinalizer(scope, Effect.andThen(Scope.close(poolScope, Exit.void), Threads.close(threads)))
    const pool = yield* Pool.makeWithHooks<A, B, E, never>(
      { ...poolOptions, handler: Threads.handler<A, B, E>(threads) },
      {
        ...hooks,
        beforeJob: Threads.beforeJob(threads),
        ended: (job, ending) => {
          Threads.ended(threads, job)
          hooks.ended(job, ending)
        }
      }
    ).pipe(Scope.provide(poolScope))

    /** Why `payload` cannot go to a thread, as the error `submit` fails with; `undefined` if it can. */
    const refusal = (payload: A, option: string): Pool.PoolConfigError | undefined => {
      let transfers: ReadonlyArray<unknown>
      try {
        transfers = transferOf(payload)
      } catch (cause) {
        return new Pool.PoolConfigError({ option: "transfer", reason: `threw for the payload: ${safeString(cause)}` })
      }
      let value: unknown = payload
      if (schemas.payload !== undefined) {
        const encoded = encodeNow(schemas.payload, payload)
        if (typeof encoded === "string") return new Pool.PoolConfigError({ option, reason: encoded })
        value = encoded.value
        // What the payload's schema moves goes in the same list as `transfer`'s (`outgoing`, in `internal/threads/threads.ts`).
        if (encoded.transfers.length > 0) transfers = [...transfers, ...encoded.transfers]
      }
      const notMovable = whyNotTransferable(transfers)
      if (notMovable !== undefined) return new Pool.PoolConfigError({ option: "transfer", reason: notMovable })
      const reason = whyNotCloneable(value, transfers)
      return reason === undefined ? undefined : new Pool.PoolConfigError({ option, reason })
    }
    const checked = <X, Y>(payload: A, then: Effect.Effect<X, Y>): Effect.Effect<X, Y | Pool.PoolConfigError> =>
      Effect.suspend((): Effect.Effect<X, Y | Pool.PoolConfigError> => {
        const error = refusal(payload, "payload")
        return error === undefined ? then : Effect.fail(error)
      })

    const threaded: Pool.HookedPool<A, B, E> = {
      submit: (payload, options) => checked(payload, pool.submit(payload, options)),
      trySubmit: (payload, options) => checked(payload, pool.trySubmit(payload, options)),
      run: (payload, options) => checked(payload, pool.run(payload, options)),
      deliver: (payload, delivery) => checked(payload, pool.deliver(payload, delivery)),
      submitAll: (payloads) =>
        Effect.suspend(() => {
          const read = payloadsOf<A>(payloads)
          if ("reason" in read) return Effect.fail(new Pool.PoolConfigError({ ...read, accepted: 0 }))
          for (const payload of read.items) {
            const error = refusal(payload, "payloads")
            if (error !== undefined) return Effect.fail(new Pool.PoolConfigError({ ...error, accepted: 0 }))
          }
          return pool.submitAll(read.items)
        }),
      outcomes: pool.outcomes,
      subscribe: pool.subscribe,
      // Its workers are its threads; its `active` jobs, those running in a thread or queued ahead in one.
      stats: Effect.map(pool.stats, (stats) => ({ ...stats, workers: Math.min(stats.workers, own.threads) })),
      // Jobs queued ahead in a thread count here too: they are in a thread's hands.
      running: pool.running,
      pause: pool.pause,
      resume: pool.resume,
      isPaused: pool.isPaused,
      cancel: pool.cancel,
      refusal,
      shutdown: ((policy?: Partial<Shutdown.Policy>) =>
        // Once drained, the threads are idle: they close now rather than when the scope closes.
        Effect.tap(
          policy === undefined ? pool.shutdown() : pool.shutdown(policy),
          () => Threads.close(threads)
        )) as Pool.WorkerPool<A, B, E>["shutdown"]
    }
    return threaded
  }).pipe(Effect.withSpan("Threads.make"))

/**
 * Starts a threaded pool in the current scope and returns it once every
 * thread has loaded the handler module. Closing the scope drains the pool
 * with its `shutdown` policy, then closes the threads.
 */
export const make = <A, B, E>(
  options: Options<A, B, E>
): Effect.Effect<Pool.WorkerPool<A, B, E>, Pool.PoolConfigError, Scope.Scope> =>
  makeWithHooks<A, B, E>(options, { ended: () => {} })

/** A layer that provides a threaded pool as the service `service` (see `Pool.layer`). */
export const layer = <I, A, B, E>(
  service: Context.Key<I, Pool.WorkerPool<A, B, E>>,
  options: Options<NoInfer<A>, NoInfer<B>, NoInfer<E>>
): Layer.Layer<I, Pool.PoolConfigError> => Layer.effect(service, make<A, B, E>(options))

export type { Job }
