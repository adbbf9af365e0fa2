/**
 * The store boundary: what every engine's `Store` does around the engine's
 * own work, written once so that the engines cannot drift apart. An engine
 * (memory, Redis, PostgreSQL) gives its raw operations, `Engine`; `makeStore`
 * turns them into the `Store` the durable pool uses, keeping the rules
 * `Store.ts` lists:
 *
 * - an empty batch, or a count of jobs below 1, never reaches the engine;
 * - counts of jobs reach it as whole numbers from 1 to `maxCount`;
 * - a queue's name not every store can keep (not a non-empty string, a NUL,
 *   half a surrogate pair, more than `maxQueueBytes` of UTF-8: see
 *   `../internal/options.ts`) is refused before it, in every operation;
 * - an id not every store can keep (not a string, a NUL, half a surrogate
 *   pair, more than `maxJobIdBytes` of UTF-8), in an offer, a redrive, a
 *   removal, a lookup or a cancel, is refused before it;
 * - so is an offer with a payload larger than the engine takes (`payloadSize.ts`),
 *   or a job whose `delay`, `runAt`, `priority` or `settings` is wrong
 *   (`offeredFields.ts`); an offer's answer names each skipped id once;
 * - leases handed back are objects whose `id` and `token` are strings
 *   (`leaseFields.ts`), and a dead letter's error is a string, kept as every
 *   store keeps text (`keptText`);
 * - no time reaches it past `times.ts`'s bounds (`maxDelay` for an offer's
 *   delay, a retry's, a lease; `latestRunAt` for a run-at): each is clamped
 *   to its bound, so that a far future means the same on every engine; a
 *   negative retry delay is zero, and a lease not longer than zero is
 *   refused (it would run out as it is given);
 * - each operation is bounded by the engine's command timeout, if it has one;
 * - a defect of the engine, or its scope closed under an operation, becomes
 *   a `StoreError` naming the operation;
 * - each operation runs in a span `Store.<operation>`, and is measured
 *   (`effect_worker_pool_store_operation_seconds`, and `..._failures_total`
 *   when it fails: `../Metrics.ts`);
 * - a listener lives in a scope of its own, closed in the background.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { describe, keptText, messageOf, unkeepableJobId, unkeepableQueue } from "../internal/options.ts"
import * as Metrics from "../Metrics.ts"
import * as Cursor from "./cursor.ts"
import * as Deadlines from "./deadlines.ts"
import * as LeaseFields from "./leaseFields.ts"
import * as OfferedFields from "./offeredFields.ts"
import { payloadTexts } from "./payloadSize.ts"
import type { ClaimOptions, Offered, OfferOptions, Refused, Store } from "./Store.ts"
import { newIdsOffer, readyOnlyClaim, StoreError } from "./Store.ts"
import * as Times from "./times.ts"

/**
 * An engine's raw operations, with the `Store`'s signatures. The boundary
 * calls them only with what it lets through: batches of at least one job or
 * lease, ids and queue names every store can keep, counts
 * that are whole numbers from 1 to `maxCount`.
 */
export type Engine = Omit<Store, "offer"> & {
  /**
   * `jobs` with the JSON text of each payload (`undefined`: it has none), as
   * the boundary measured it: the engine stores these texts, never its own.
   */
  readonly offer: (
    queue: string,
    jobs: ReadonlyArray<Offered>,
    texts: ReadonlyArray<string | undefined>,
    options?: OfferOptions
  ) => Effect.Effect<ReadonlyArray<Refused>, StoreError>
}

/** How `makeStore` wraps an engine. */
export interface Options {
  /** The engine's name, for spans: "memory", "redis", "postgres". */
  readonly engine: string
  /**
   * How long an operation may wait for its answer, and the scope in which
   * an operation that ran out of time is interrupted in the background (the
   * store's own, so that closing the store waits for them). None: unbounded.
   */
  readonly commandTimeout?: { readonly duration: Duration.Duration; readonly scope: Scope.Scope } | undefined
  /**
   * The largest payload the engine takes, in bytes of its JSON text: a
   * larger one is refused at `offer`, naming the job and the limit. None:
   * no limit (only for an engine without one: every store declares its own).
   */
  readonly maxPayloadBytes?: number | undefined
}

/** A claim's options as the engine gets them: `readyOnly` only when it is `true`, nothing else. */
const claimOptions = (options: ClaimOptions | undefined): ClaimOptions | undefined =>
  options?.readyOnly === true ? readyOnlyClaim : undefined

/** An offer's options as the engine gets them: `newIds` only when it is `true`, nothing else. */
const offerOptions = (options: OfferOptions | undefined): OfferOptions | undefined =>
  options?.newIds === true ? newIdsOffer : undefined

/**
 * `buried`'s bound on a payload's size as an engine takes it: whole bytes
 * from 0, `undefined` for none (absent, `NaN`, or beyond any payload), so
 * that every engine reads it alike.
 */
const payloadBound = (bytes: number | undefined): number | undefined =>
  bytes === undefined || Number.isNaN(bytes) || bytes >= Number.MAX_SAFE_INTEGER ? undefined : Math.max(0, Math.floor(bytes))

/** The most jobs one `claim`, `buried` or `purge` asks for: PostgreSQL's `integer`, the narrowest engine's. */
export const maxCount = 2_147_483_647

/** `n` as a count of jobs: a whole number up to `maxCount`; 0 (ask nothing) below 1 or for NaN. */
export const count = (n: number): number => n >= 1 ? Math.floor(Math.min(n, maxCount)) : 0

/** The engine of each store `makeStore` made, by store: a `Store` is operations only. */
const engines = new WeakMap<object, string>()

/**
 * The engine of `store`, as `makeStore` was told it ("memory", "redis",
 * "postgres"), for a log line; "custom" for a store not made by it.
 */
export const engineOf = (store: unknown): string =>
  (typeof store === "object" && store !== null ? engines.get(store) : undefined) ?? "custom"

/**
 * Every operation of a store `makeStore` made: already bounded by its
 * engine's `commandTimeout`, where a store of the caller's own that took it
 * over (one of ours with an operation replaced) is given to `guard.ts`.
 */
const ownOperations = new WeakSet<object>()

/** Whether `operation` is one of a store `makeStore` made (it needs no `this`, and no other bound). */
export const isOwnOperation = (operation: unknown): boolean =>
  typeof operation === "function" && ownOperations.has(operation)

/** Wraps an engine's raw operations into a `Store` that keeps the boundary's rules. */
export const makeStore = (engine: Engine, options: Options): Store => {
  const store = wrap(engine, options)
  engines.set(store, options.engine)
  for (const operation of Object.values(store)) if (typeof operation === "function") ownOperations.add(operation)
  return store
}

const wrap = (engine: Engine, options: Options): Store => {
  const operate = operation(options)
  const maxPayloadBytes = options.maxPayloadBytes ?? Infinity
  /** Runs `run` unless an id of `ids` is not one every store can keep: then the whole call is refused. */
  const withIds = <A>(name: string, queue: string, ids: ReadonlyArray<{ readonly id: unknown }>, run: () => Effect.Effect<A, StoreError>) =>
    operate(name, queue, () => {
      const refused = unkeepableJobId(ids)
      return refused === undefined ? run() : refuse(name, refused)
    })
  const asJobs = (ids: ReadonlyArray<string>) => ids.map((id) => ({ id }))
  /** Runs `run` unless `leases` are not all leases (`leaseFields.ts`); an empty batch is `none`, without the engine. */
  const withLeases = <A>(
    name: string,
    queue: string,
    leases: ReadonlyArray<unknown>,
    none: Effect.Effect<A, StoreError>,
    run: () => Effect.Effect<A, StoreError>
  ) =>
    Array.isArray(leases) && leases.length === 0 ? none : operate(name, queue, () => {
      const wrong = LeaseFields.refusal(leases)
      return wrong === undefined ? run() : refuse(name, wrong)
    })
  /** Runs `run` unless `lease` is not a lease. */
  const withOneLease = <A>(name: string, queue: string, lease: unknown, run: () => Effect.Effect<A, StoreError>) =>
    operate(name, queue, () => {
      const wrong = LeaseFields.oneRefusal(lease)
      return wrong === undefined ? run() : refuse(name, wrong)
    })
  return {
    offer: (queue, jobs, asked) =>
      jobs.length === 0 ? Effect.succeed([]) : withIds("offer", queue, jobs, () => {
        const wrong = OfferedFields.refusal(jobs)
        if (wrong !== undefined) return refuse("offer", wrong)
        // Each payload's text, made once: the one measured is the one the engine stores.
        const texts = payloadTexts(jobs, maxPayloadBytes, options.engine)
        if (typeof texts === "string") return refuse("offer", texts)
        return Effect.map(engine.offer(queue, Times.boundedJobs(jobs), texts, offerOptions(asked)), onceEach)
      }),
    claim: (queue, max, lease, options) => {
      const n = count(max)
      return n === 0
        ? Effect.succeed([])
        : operate("claim", queue, () => withLeaseTime("claim", lease, () => engine.claim(queue, n, Times.bounded(lease), claimOptions(options))))
    },
    complete: (queue, leases, completion) =>
      withLeases("complete", queue, leases, Effect.void, () => engine.complete(queue, leases, completion)),
    retry: (queue, lease, delay, retrying) =>
      withOneLease("retry", queue, lease, () => engine.retry(queue, lease, Times.bounded(delay), retrying)),
    bury: (queue, lease, error) =>
      withOneLease("bury", queue, lease, () =>
        typeof error === "string"
          ? engine.bury(queue, lease, keptText(error))
          : refuse("bury", `the error must be a string, got ${describe(error)}`)),
    release: (queue, leases) => withLeases("release", queue, leases, Effect.void, () => engine.release(queue, leases)),
    extend: (queue, leases, lease) =>
      withLeases("extend", queue, leases, Effect.succeed([]), () =>
        withLeaseTime("extend", lease, () => engine.extend(queue, leases, Times.bounded(lease)))),
    counts: (queue) => operate("counts", queue, () => engine.counts(queue)),
    buried: (queue, limit, maxPayloadBytes, after) => {
      const n = count(limit)
      const most = payloadBound(maxPayloadBytes)
      const refused = afterRefused("buried", after)
      if (refused !== undefined) return refused
      return n === 0 ? Effect.succeed([]) : operate("buried", queue, () => engine.buried(queue, n, most, after))
    },
    listen: engine.listen === undefined ? undefined : listening(engine.listen, options, operate),
    due: engine.due === undefined ? undefined : dueOf(engine.due, operate),
    upcoming: engine.upcoming === undefined ? undefined : upcomingOf(engine.upcoming, operate),
    ...pausingOf(engine, operate),
    overlappingClaimsCostly: engine.overlappingClaimsCostly,
    lookup: (queue, id) => withIds("lookup", queue, [{ id }], () => engine.lookup(queue, id)),
    redrive: (queue, ids) =>
      ids.length === 0 ? Effect.succeed(0) : withIds("redrive", queue, asJobs(ids), () => engine.redrive(queue, ids)),
    remove: (queue, ids) =>
      ids.length === 0 ? Effect.succeed(0) : withIds("remove", queue, asJobs(ids), () => engine.remove(queue, ids)),
    cancel: (queue, id) => withIds("cancel", queue, [{ id }], () => engine.cancel(queue, id)),
    cancelWaiting: engine.cancelWaiting === undefined ? undefined : cancelWaiting(engine.cancelWaiting, operate),
    purge: (queue, retention, limit) => {
      const n = count(limit)
      return n === 0 ? Effect.succeed(0) : operate("purge", queue, () => engine.purge(queue, retention, n))
    }
  }
}

/** The engine's `upcoming`, run like any operation; a `limit` that asks for nothing needs no round trip. */
const upcomingOf = (
  upcoming: NonNullable<Engine["upcoming"]>,
  operate: ReturnType<typeof operation>
): NonNullable<Store["upcoming"]> =>
(queue, limit, after) => {
  const n = count(limit)
  const refused = afterRefused("upcoming", after)
  if (refused !== undefined) return refused
  return n === 0 ? Effect.succeed([]) : operate("upcoming", queue, () => upcoming(queue, n, after))
}

/** A listing's `after` refused (not of the one form of `cursor.ts`), or undefined if it is none or a cursor. */
const afterRefused = (operation: string, after: string | undefined) => {
  const refused = after === undefined ? undefined : Cursor.refusal(after)
  return refused === undefined ? undefined : refuse(operation, `after ${refused}, got ${describe(after)}`)
}

/**
 * The engine's `cancelWaiting`, run like any operation; a `limit` that is no
 * positive integer refused before it, a larger one than `maxCount` asked as
 * `maxCount` (PostgreSQL binds it as an `integer`), as `claim` and `purge` are.
 */
const cancelWaiting = (
  engineCancelWaiting: NonNullable<Engine["cancelWaiting"]>,
  operate: ReturnType<typeof operation>
): NonNullable<Store["cancelWaiting"]> =>
(queue, limit) =>
  Number.isSafeInteger(limit) && limit >= 1
    ? operate("cancelWaiting", queue, () => engineCancelWaiting(queue, Math.min(limit, maxCount)))
    : refuse("cancelWaiting", `the limit must be an integer >= 1, got ${describe(limit)}`)

/**
 * The engine's `pause` and `paused`, each run like any operation. Whether a
 * store has both, and so can pause, is `admin.ts`'s to decide (`canPause`):
 * it takes stores that never came through here too.
 */
const pausingOf = (
  { pause, paused }: Engine,
  operate: ReturnType<typeof operation>
): Pick<Store, "pause" | "paused"> => ({
  pause: pause === undefined ? undefined : (queue, to) =>
    typeof to === "boolean"
      ? operate("pause", queue, () => pause(queue, to))
      : refuse("pause", `whether to pause must be true or false, got ${describe(to)}`),
  paused: paused === undefined ? undefined : (queue) => operate("paused", queue, () => paused(queue))
})

/** The engine's `due`, run like any operation. */
const dueOf = (
  due: NonNullable<Engine["due"]>,
  operate: ReturnType<typeof operation>
): NonNullable<Store["due"]> =>
(queue) => operate("due", queue, () => due(queue))

/**
 * The engine's `listen`, set up like any operation (bounded, its defects as
 * `StoreError`s, in its span), in a scope of its own that the caller's
 * scope closes in the background: a listener's connection may have to tell
 * a server that hangs that it stops listening, and closing the caller's
 * scope (a pool shutting down) must not wait for that. With a store scope,
 * the setup runs in a fiber of that scope even without a timeout, so that
 * interrupting it never waits either.
 */
const listening = (
  listen: NonNullable<Engine["listen"]>,
  { commandTimeout }: Options,
  operate: ReturnType<typeof operation>
): NonNullable<Store["listen"]> =>
(queue) =>
  Effect.gen(function*() {
    const own = yield* closedInBackground
    const setUp = Scope.provide(own)(Effect.suspend(() => listen(queue)))
    const next = yield* operate(
      "listen",
      queue,
      () => commandTimeout === undefined || Duration.isFinite(commandTimeout.duration) ? setUp : detached(setUp, commandTimeout.scope)
    )
    return Effect.catchDefect(next, (defect) => Effect.fail(unexpected("listen", defect)))
  })

/**
 * A scope of its own, closed in the background when the caller's scope
 * closes: what it holds may have to wait for a server that hangs before it
 * lets go, and the caller must not wait with it.
 */
export const closedInBackground: Effect.Effect<Scope.Scope, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Scope.make()
  yield* Effect.addFinalizer(() => Effect.asVoid(Effect.forkDetach(Scope.close(scope, Exit.void))))
  return scope
})

/** `effect` in a fiber of `scope`, awaited; interrupting the caller interrupts it in the background. */
const detached = <A>(effect: Effect.Effect<A, StoreError>, scope: Scope.Scope): Effect.Effect<A, StoreError> =>
  Effect.flatMap(Effect.forkIn(effect, scope), (fiber) =>
    Fiber.await(fiber).pipe(
      Effect.flatMap((exit) => closedUnder("listen", exit)),
      Effect.onInterrupt(() => Effect.forkIn(Fiber.interrupt(fiber), scope))
    ))

/**
 * Runs one operation of the engine: bounded, its defects as `StoreError`s,
 * in its span.
 */
const operation = ({ commandTimeout, engine }: Options) => {
  // The operations run in a scope of their own, a child of the one given,
  // made now: closing the caller's scope closes it in its place among that
  // scope's finalizers, after whatever was added after the store (a pool made
  // in the same scope, whose shutdown still acknowledges its last jobs).
  // Forked straight into the caller's scope, each operation would be
  // interrupted first, as the latest of its finalizers.
  const deadlines = commandTimeout === undefined || !Duration.isFinite(commandTimeout.duration)
    ? undefined
    : Deadlines.make(commandTimeout.duration, Scope.forkUnsafe(commandTimeout.scope))
  const series = operationSeries(engine)
  // The names found keepable: each is checked once, not at every operation
  // (a name refused is not kept, so this grows with the queues worked only).
  const keepable = new Set<string>()
  return <A>(name: string, queue: string, run: () => Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> => {
    // Before the span and the metrics: a name no store keeps is no queue, and gets no series of its own.
    if (!keepable.has(queue)) {
      const unkeepable = unkeepableQueue(queue)
      if (unkeepable !== undefined) return refuse(name, unkeepable)
      keepable.add(queue)
    }
    const effect = Effect.catchDefect(
      deadlines === undefined ? Effect.suspend(run) : bounded(name, Effect.suspend(run), deadlines),
      (defect) => Effect.fail(unexpected(name, defect))
    )
    return observed(effect, `Store.${name}`, { queue, "store.engine": engine }, series(name, queue))
  }
}

/** A store's operation metrics, made once per operation and queue (a metric caches its series key). */
const operationSeries = (engine: string) => {
  const made = new Map<string, OperationSeries>()
  return (operation: string, queue: string): OperationSeries => {
    const key = `${operation}\u0000${queue}`
    let found = made.get(key)
    if (found === undefined) {
      const attributes = { operation, queue, engine }
      found = {
        seconds: Metric.histogram(Metrics.storeOperationSeconds.id, {
          description: Metrics.storeOperationSeconds.description,
          boundaries: Metrics.durationBoundaries,
          attributes
        }),
        failures: Metric.counter(Metrics.storeOperationFailures.id, {
          description: Metrics.storeOperationFailures.description,
          attributes
        })
      }
      made.set(key, found)
    }
    return found
  }
}

interface OperationSeries {
  readonly seconds: Metric.Histogram<number>
  readonly failures: Metric.Counter<number>
}

/**
 * `effect`, its time and failure recorded in the metrics of the caller's
 * context, in a span when a tracer is installed to receive it. Without one
 * (Effect's `nativeTracer`, which keeps spans nowhere) the span is skipped:
 * making and ending it would cost more than an operation of the memory
 * store. The stack trace a span captures by default is skipped too: here it
 * would always point at this file.
 */
const observed = <A, E>(
  effect: Effect.Effect<A, E>,
  name: string,
  attributes: Record<string, unknown>,
  series: OperationSeries
): Effect.Effect<A, E> =>
  Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock)
    const startedAt = clock.currentTimeMillisUnsafe()
    const traced = fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
      ? effect
      : Effect.withSpan(effect, name, { attributes, kind: "client", captureStackTrace: false })
    return Effect.onExit(traced, (exit) =>
      Effect.sync(() => {
        series.seconds.updateUnsafe((clock.currentTimeMillisUnsafe() - startedAt) / 1000, fiber.context)
        if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) series.failures.updateUnsafe(1, fiber.context)
      }))
  })

/**
 * Fails `effect` once its deadline has come, without waiting for it to give
 * up: an interrupted statement may take seconds to let go of a server that
 * does not answer (PostgreSQL sends a cancel request and drains the
 * connection). It is interrupted in the background, in the store's scope
 * (`deadlines.ts`).
 */
const bounded = <A>(
  operation: string,
  effect: Effect.Effect<A, StoreError>,
  deadlines: Deadlines.Deadlines
): Effect.Effect<A, StoreError> =>
  Effect.flatMap(
    Deadlines.within(deadlines, effect, () =>
      new StoreError({ operation, reason: `no answer within ${Math.ceil(deadlines.duration)} ms` })),
    (exit) => closedUnder(operation, exit)
  )

/** The operation's exit; interrupted without the caller being so, the store's scope closed under it. */
const closedUnder = <A>(operation: string, exit: Exit.Exit<A, StoreError>): Effect.Effect<A, StoreError> =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
    ? Effect.fail(new StoreError({ operation, reason: "the store is closed", retryable: false }))
    : exit

/**
 * Runs `run` unless `lease`, how long a claim or a renewal leases its jobs,
 * is not longer than zero: such a lease runs out as it is given, and the
 * next claim would take the same job again.
 */
const withLeaseTime = <A>(operation: string, lease: Duration.Duration, run: () => Effect.Effect<A, StoreError>) => {
  const millis = Duration.toMillis(lease)
  return millis > 0 || Number.isNaN(millis)
    ? run()
    : refuse(operation, `the lease must be longer than zero, got ${Duration.format(lease)}`)
}

/** Refused jobs, each id once (an id offered twice in a batch is one job, refused once, on every engine). */
const onceEach = (refused: ReadonlyArray<Refused>): ReadonlyArray<Refused> => {
  if (refused.length < 2) return refused
  const seen = new Set<string>()
  return refused.filter((job) => {
    if (seen.has(job.id)) return false
    seen.add(job.id)
    return true
  })
}

/** The refusal of a call the same call would meet again: it is not retried. */
const refuse = (operation: string, reason: string) =>
  Effect.fail(new StoreError({ operation, reason, retryable: false }))

/** A defect of the engine (a bug, or a client that threw) as a `StoreError`: nothing says retrying helps. */
export const unexpected = (operation: string, defect: unknown): StoreError =>
  new StoreError({
    operation,
    reason: `unexpected failure: ${messageOf(defect)}`,
    retryable: false,
    cause: defect
  })
