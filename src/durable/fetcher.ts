/**
 * The fetcher: the one fiber that claims jobs from the store and hands them
 * to the in-memory pool. It claims as many as the lease book has room for;
 * when a claim comes back short (the queue is empty), it waits for the
 * first of a wakeup (`wakeup.ts`: the store said jobs were stored or made
 * ready), the earliest job waiting for its time (`Store.due`: a delayed
 * job, a retry) or `pollInterval`; it waits out a store outage with the
 * backoff of `outage.ts` (a fresh one each outage).
 *
 * It owns its stop signal. `Durable.ts` starts it; the shutdown stops it,
 * and waits for it to end (a claim in flight still delivers its jobs).
 *
 * Internal: not an entry point of the package.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { quietly } from "../internal/quietly.ts"
import type * as Job from "../Job.ts"
import type * as Pool from "../Pool.ts"
import * as Failures from "./failures.ts"
import * as JobOptions from "./jobOptions.ts"
import * as Leases from "./leases.ts"
import * as Outage from "./outage.ts"
import type { Claimed, Store, StoreError } from "./Store.ts"
import * as Traceparent from "./traceparent.ts"
import * as Wakeup from "./wakeup.ts"

export interface Options<A> {
  readonly store: Store
  readonly queue: string
  /** How long each claimed job is leased for. */
  readonly lease: Duration.Duration
  readonly pollInterval: Duration.Duration
  readonly book: Leases.Book
  /** Reads a claimed job's stored payload. */
  readonly decode: (payload: unknown) => Exit.Exit<A, Schema.SchemaError>
  /** The pool's `submit`: refused once the pool shuts down. */
  readonly submit: (payload: A, options: Job.Options) => Effect.Effect<unknown, Pool.PoolClosedError | Pool.PoolConfigError>
}

/** A running fetcher. */
export interface Fetcher {
  /** Claims no more. A claim in flight still delivers its jobs. */
  readonly stop: () => void
  /** Waits until the fetcher has ended. */
  readonly stopped: Effect.Effect<void>
}

/** Starts the fetcher in `scope`; closing the scope stops it too. */
export const start = <A>(options: Options<A>, scope: Scope.Scope): Effect.Effect<Fetcher> =>
  Effect.gen(function*() {
    const stopping = Deferred.makeUnsafe<void>()
    const wakeup = yield* Wakeup.start(options.store, options.queue, scope)
    // With no span current: a job's span has the span its producer stored as
    // its parent (`parentOf`), never whatever span this pool was made in.
    const running = Effect.updateContext(
      run(options, wakeup),
      (context: Context.Context<never>) => Context.omit(Tracer.ParentSpan)(context)
    )
    const fiber = yield* Effect.forkIn(Effect.raceFirst(running, Deferred.await(stopping)), scope)
    return {
      stop: () => {
        Deferred.doneUnsafe(stopping, Exit.void)
      },
      stopped: Effect.asVoid(Fiber.await(fiber))
    }
  })

/** Claims what there is room for, or waits: for room, for jobs, or for the store to come back. For ever. */
export const run = <A>(options: Options<A>, wakeup: Wakeup.Wakeup): Effect.Effect<never> =>
  Effect.forever(Effect.gen(function*() {
    yield* Leases.room(options.book)
    // Before the claim: a notification from now on is about a job it may not see.
    wakeup.reset()
    const short = yield* claimThroughOutage(options)
    if (short) yield* idle(options, wakeup)
  }))

/**
 * Waits, the queue being empty, for the first of a notification or the
 * idle time (`idleFor`). The store is asked for the idle time in a fiber of
 * its own, so that a notification coming meanwhile ends the wait at once,
 * without waiting for that answer (a job offered just after the claim is
 * picked up a round trip sooner) and without interrupting the store's
 * operation (which would cost PostgreSQL a cancel request).
 */
const idle = <A>(options: Options<A>, wakeup: Wakeup.Wakeup): Effect.Effect<void> =>
  Effect.flatMap(Effect.forkDetach(idleFor(options)), (asking) =>
    wakeup.wait(Effect.flatMap(Fiber.await(asking), (exit) =>
      Effect.sleep(Exit.isSuccess(exit) ? exit.value : options.pollInterval))))

/**
 * How long an idle fetcher waits at most: until the earliest job waiting
 * for its time is due, by the store's clock, if that comes before the next
 * poll. At least a millisecond: a job due now that this claim did not get
 * (another process holds it) is not asked for again in a busy loop. A
 * store that cannot say, or fails to, leaves the poll.
 */
const idleFor = <A>({ pollInterval, queue, store }: Options<A>): Effect.Effect<Duration.Duration> =>
  store.due === undefined ? Effect.succeed(pollInterval) : store.due(queue).pipe(
    Effect.map((due) => due === undefined ? pollInterval : Duration.min(pollInterval, Duration.millis(Math.max(1, due)))),
    Effect.orElseSucceed(() => pollInterval)
  )

/**
 * Claims until the store answers, a warning for each failure, backing off
 * between. Returns whether the claim came back short: fewer jobs than there
 * was room for, so the queue had no more.
 */
const claimThroughOutage = <A>(options: Options<A>): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const max = Leases.free(options.book)
    return Effect.map(claimAndDeliver(options, max), (claimed) => claimed < max)
  }).pipe(
    Effect.tapError((error) => quietly(Effect.logWarning("claiming jobs failed; retrying", error.message))),
    // A claim is always worth trying again: the fetcher stops only when the pool does.
    Effect.retry(Outage.backoff),
    Effect.orDie
  )

/**
 * One claim, and its jobs handed to the pool, as one step that shutdown
 * cannot cut in two: a claim whose answer was dropped would leave its
 * jobs leased to nobody until their lease ran out.
 */
const claimAndDeliver = <A>(options: Options<A>, max: number): Effect.Effect<number, StoreError> =>
  Effect.uninterruptible(Effect.flatMap(
    options.store.claim(options.queue, max, options.lease),
    (claimed) => Effect.as(Effect.forEach(claimed, (job) => deliver(options, job), { discard: true }), claimed.length)
  ))

/**
 * The span current when `claimed` was offered, from its settings: made
 * current while the job is submitted to the pool, it is its span's parent.
 */
const parentOf = (claimed: Claimed): Tracer.ExternalSpan | undefined => {
  if (claimed.settings === undefined) return undefined
  const traceparent = JobOptions.parse(claimed.settings)?.traceparent
  return traceparent === undefined ? undefined : Traceparent.parse(traceparent)
}

/**
 * Hands a claimed job to the pool; one that does not decode is dead-lettered
 * at once (the settler logs it, as it does every dead letter).
 */
const deliver = <A>({ book, decode, submit }: Options<A>, claimed: Claimed): Effect.Effect<void> => {
  const decoded = decode(claimed.payload)
  if (Exit.isFailure(decoded)) {
    const ending = Leases.bury(Failures.describe(decoded.cause), claimed.attempt)
    Leases.endUnheld(book, { id: claimed.id, token: claimed.token }, ending)
    return Effect.void
  }
  if (!Leases.hold(book, claimed)) return Effect.void
  const submitted = submit(decoded.value, { id: claimed.id, attempt: claimed.attempt })
  const parent = parentOf(claimed)
  return (parent === undefined ? submitted : Effect.withParentSpan(submitted, parent)).pipe(
    Effect.asVoid,
    // Refused: shutdown began between the claim and now. Give it back.
    Effect.catch(() => Effect.sync(() => Leases.end(book, claimed.id, Leases.release)))
  )
}
