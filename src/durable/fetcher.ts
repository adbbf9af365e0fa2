/**
 * The fetcher: the fiber that claims jobs from the store (each claim in a
 * fiber of its own) and hands them to the in-memory pool. It claims as many
 * as the lease book has room for (at most `claimAtMost`); while a claim is
 * in flight it may start a second one (`pipelineAt`), each claim reserving
 * its room in the book until its jobs are held; when a claim comes back short (the queue is empty), it waits
 * for the first of a wakeup (`wakeup.ts`: the store said jobs were stored
 * or made ready), the earliest job waiting for its time (`Store.due`: a
 * delayed job, a retry) or `pollInterval`; woken by a notification, it
 * claims the ready jobs only (`readyOnly`). It waits out a store outage
 * with the backoff of `outage.ts` (a fresh one each outage), each wait cut
 * short by a wakeup once a fifth of it has passed (`retried`).
 *
 * It owns its stop signal. `Durable.ts` starts it; the shutdown stops it,
 * and waits for it to end (a claim in flight still delivers its jobs).
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { Delivery } from "../internal/admission.ts"
import { quietly } from "../internal/quietly.ts"
import { monotonicMillis } from "../internal/timetable.ts"
import type * as Pool from "../Pool.ts"
import * as Failures from "./failures.ts"
import * as JobOptions from "./jobOptions.ts"
import * as Leases from "./leases.ts"
import * as Outage from "./outage.ts"
import type { Claimed, ClaimedJobs, DueReading, Store, StoreError } from "./Store.ts"
import { readyOnlyClaim } from "./Store.ts"
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
  /**
   * With a claim in flight, a second one starts once this many leases are
   * free (and the first has not come back short, nor failed); at most two
   * are in flight. Undefined: one claim at a time.
   */
  readonly pipelineAt?: number | undefined
  /**
   * The most jobs a claim asks for, however much room the book has: a whole
   * number from 1. Undefined: all the room.
   */
  readonly claimAtMost?: number | undefined
  /** The pool's `deliver`: refused once the pool shuts down. */
  readonly deliver: (payload: A, delivery: Delivery) => Effect.Effect<unknown, Pool.PoolClosedError | Pool.PoolConfigError>
}

/**
 * The lease book from which a pool on a store whose overlapping claims are
 * costly claims one batch at a time (`claimPolicy`). Measured against the
 * smaller book's rule, a second claim once half the book is free
 * (`bench/durable/versus.ts`: 4 rounds each, one and two consumers,
 * directly and behind a proxy that makes a round trip about 2.8 ms instead
 * of 0.1), by medians: with 256 leases one claim at a time was 7-16 %
 * behind in all four settings (behind in 14 of 16 pairs); with 512, 4 % and
 * 23 % ahead directly, 6 % and 8 % behind at 2.8 ms; with 768, 5-14 % ahead
 * in three settings and 1.6 % behind in the fourth (one consumer at 2.8 ms);
 * with 1,056 at 2.8 ms, 21 % and 3 % ahead. With a round trip of 11 ms,
 * 1,056 leases one claim at a time were 8 % and 3 % behind: there a round
 * trip is as long as a claim of half the book.
 */
export const oneClaimAtATimeFrom = 768

/**
 * How a pool of `workers` with `capacity` leases claims on `store`.
 *
 * - On most stores, a second claim in flight once the workers' worth of
 *   leases is free: the next batch is on its way while the first one's jobs
 *   run.
 * - On a store where a claim reads past every row another claim in flight
 *   holds (`Store.overlappingClaimsCostly`: PostgreSQL's `SKIP LOCKED`), the
 *   second claim waits until half the leases are free, so that it reads past
 *   at most one row per job it asks for.
 * - There, with `oneClaimAtATimeFrom` leases and more, one claim at a time,
 *   each for at most half the leases, the next sent as soon as one answers:
 *   the server claims while the pool acknowledges. A claim of a large book
 *   takes longer than the pool takes to run no-op jobs, which all ended
 *   before the fetcher's turn, so the half-book second claim never started,
 *   and server and pool took turns. With 1,056 leases (the benchmark's),
 *   alternating the rule before (first) with this one on one server, medians
 *   of 4, 6 and 6 rounds: one consumer 27.5k → 31.3k, 22.2k → 28.9k and
 *   25.1k → 26.0k jobs/s, two consumers 28.4k → 28.6k, 23.5k → 26.0k and
 *   24.2k → 24.4k; a quarter of the book a claim was slower than a half. A
 *   smaller book keeps the second claim: there a claim is mostly its round
 *   trip, and two in flight carry twice the jobs per round trip; and a cap
 *   of 1 (a book of 2) would make a claim of the one job offered to an idle
 *   queue come back full, followed by a claim for nothing.
 */
export const claimPolicy = (
  store: Store,
  capacity: number,
  workers: number
): { readonly pipelineAt?: number; readonly claimAtMost?: number } =>
  store.overlappingClaimsCostly !== true
    ? { pipelineAt: workers }
    : capacity < oneClaimAtATimeFrom
    ? { pipelineAt: Math.ceil(capacity / 2) }
    : { claimAtMost: Math.ceil(capacity / 2) }

/** A running fetcher. */
export interface Fetcher {
  /** Claims no more. A claim in flight still delivers its jobs. */
  readonly stop: () => void
  /** Waits until the fetcher has ended, and every claim it started has delivered its jobs. */
  readonly stopped: Effect.Effect<void>
}

/**
 * The fetcher's claims in flight (at most two: see `mayClaim`), and what
 * the last of them said. Only the fetcher's loop and its claims change it,
 * each change synchronous.
 */
interface Claims {
  /** Claims started and not yet delivered. */
  inFlight: number
  /** Claims started so far: each claim's number, in the order they started. */
  started: number
  /** The number of the latest-started claim that answered: an older one's answer says less about the queue. */
  answered: number
  /** Whether that claim came back short: the queue had no more. */
  short: boolean
  /** What that claim read of `due`, if it came back short and its store read it (`ClaimedJobs`). */
  due: Reading | undefined
  /** Whether a notification ended the idle wait just over: the next claim may take ready jobs only (`readyOnly`). */
  notified: boolean
  /** When the latest full claim started (monotonic milliseconds): ready-only claims come only within a poll interval (or a lease) of it. */
  fullClaimAt: number
  /** Whether a claim is failing (the store is out): no second claim until one succeeds. */
  failing: boolean
  /** Open while no claim is in flight: `stopped` waits for it. */
  readonly none: Latch.Latch
  /** The claims' fibers not ended yet: `stopped` cuts their outage backoff short. */
  readonly fibers: Set<Fiber.Fiber<void>>
}

/**
 * A short claim's reading of `due`, and when it came back (`now`): by the
 * time the fetcher goes idle (an older claim may answer later), it counts
 * down from there.
 */
interface Reading extends DueReading {
  readonly at: number
}

/**
 * Whether a reading of `due` says something: one that is no number (a
 * custom store's NaN or null) does not, as a sleep it would be none at all,
 * a claim after a claim.
 */
const isReading = (untilDue: number | undefined): untilDue is number =>
  typeof untilDue === "number" && !Number.isNaN(untilDue)

/** What `reading` says is left at `at`: undefined if nothing waits. */
const untilDueAt = (reading: Reading, at: number): number | undefined =>
  isReading(reading.untilDue) ? Math.max(0, reading.untilDue - (at - reading.at)) : undefined

/** Starts the fetcher in `scope`; closing the scope stops it too. */
export const start = <A>(options: Options<A>, scope: Scope.Scope): Effect.Effect<Fetcher> =>
  Effect.gen(function*() {
    const stopping = Deferred.makeUnsafe<void>()
    const wakeup = yield* Wakeup.start(options.store, options.queue, scope)
    const claims: Claims = {
      inFlight: 0,
      started: 0,
      answered: 0,
      short: false,
      due: undefined,
      notified: false,
      fullClaimAt: -Infinity,
      failing: false,
      none: Latch.makeUnsafe(true),
      fibers: new Set()
    }
    // With no span current: a job's span has the span its producer stored as
    // its parent (`parentOf`), never whatever span this pool was made in.
    const clock = yield* Effect.clockWith(Effect.succeed)
    const running = Effect.updateContext(
      run(options, wakeup, claims, scope, clock),
      (context: Context.Context<never>) => Context.omit(Tracer.ParentSpan)(context)
    )
    const fiber = yield* Effect.forkIn(Effect.raceFirst(running, Deferred.await(stopping)), scope)
    return {
      stop: () => {
        Deferred.doneUnsafe(stopping, Exit.void)
      },
      // The loop starts no claim once it has ended. Those it started are
      // interrupted: one waiting out an outage stops trying, and one whose
      // answer is on its way delivers first (`claimAndDeliver` cannot be cut).
      stopped: Effect.andThen(
        Fiber.await(fiber),
        Effect.andThen(Effect.suspend(() => Fiber.interruptAll([...claims.fibers])), claims.none.await)
      )
    }
  })

/**
 * Claims what there is room for, or waits: for room, for jobs, or for the
 * store to come back. For ever. Each claim runs in a fiber of its own in
 * `scope`, so that a second one can start while the first waits for the
 * store (`mayClaim`).
 */
const run = <A>(
  options: Options<A>,
  wakeup: Wakeup.Wakeup,
  claims: Claims,
  scope: Scope.Scope,
  clock: Clock.Clock
): Effect.Effect<never> =>
  // A chain of effects, not a generator: one generator a turn, made and
  // stepped cold after an idle while, stood between a notification and its
  // claim.
  Effect.forever(
    Effect.andThen(
      turn(options, claims),
      Effect.suspend(() => {
        if (claims.inFlight === 0 && claims.short) {
          // The queue was empty when the last claim read it. Woken, the claim
          // goes in this step (the next turn of the loop, as every claim,
          // without a yield). A notification comes from the store's
          // connection, and each scheduler step before the claim is sent would
          // be one more turn of the event loop between an offer and its pickup.
          // (The memory store's notifications come a step after their offer, as
          // a remote store's would.)
          return Effect.map(idle(options, wakeup, claims.due), (notified) => {
            claims.short = false
            claims.notified = notified
          })
        }
        // No yield between turns: a claim answered at once (a memory store) is
        // followed by the idle wait in the same step, as when the claim ran in
        // this fiber. The loop cannot spin: each turn claims room, which only
        // other fibers give back, or waits.
        return startClaim(options, wakeup, claims, scope, readyOnly(options, claims, monotonicMillis(clock)))
      })
    ),
    { disableYield: true }
  )

/**
 * Starts a claim for all the free room (at most `claimAtMost`), in a fiber
 * of its own in `scope`, as one step that shutdown cannot cut in two: a
 * claim counted in flight but never started would hold `stopped` up for ever.
 */
const startClaim = <A>(options: Options<A>, wakeup: Wakeup.Wakeup, claims: Claims, scope: Scope.Scope, ready: boolean) =>
  Effect.uninterruptible(Effect.suspend(() => {
    // Before the claim: a notification from now on is about a job it may not see.
    wakeup.reset()
    const max = Math.min(Leases.free(options.book), options.claimAtMost ?? Infinity)
    Leases.reserve(options.book, max)
    claims.inFlight++
    claims.none.closeUnsafe()
    const number = ++claims.started
    // Started at once, in this step: scheduled, the request would wait for a later turn of the event loop.
    return Effect.map(
      Effect.forkIn(claimThroughOutage(options, wakeup, claims, number, max, ready), scope, { startImmediately: true }),
      (fiber) => {
        // One that answered in this step has already left the set, or never needs to be in it.
        if (fiber.pollUnsafe() === undefined) {
          claims.fibers.add(fiber)
          fiber.addObserver(() => claims.fibers.delete(fiber))
        }
      }
    )
  }))

/**
 * Whether the claim starting `now` may take ready jobs only
 * (`ClaimOptions.readyOnly`): the first after an idle wait that a
 * notification ended, within a poll interval (or a lease, if shorter) of
 * the latest full claim, unless the last reading of `due` says a job is
 * due now. So an idle pickup pays only for the ready jobs it was woken for,
 * while a job whose time came is claimed by the next claim however often
 * the queue is woken, and the leases that ran out are looked for at least
 * as often as an idle pool polls (an endless poll: once a lease).
 * Marks a full claim's start.
 */
const readyOnly = <A>({ lease, pollInterval }: Options<A>, claims: Claims, now: number): boolean => {
  const dueNow = claims.due !== undefined && untilDueAt(claims.due, now) === 0
  const ready = claims.notified && !dueNow &&
    now - claims.fullClaimAt < Math.min(Duration.toMillis(pollInterval), Duration.toMillis(lease))
  claims.notified = false
  if (!ready) claims.fullClaimAt = now
  return ready
}

/**
 * How many free leases a claim needs to start now, or undefined if none
 * may: with no claim in flight, one; with one in flight, `pipelineAt`
 * (room for a worthwhile batch), unless the last answer was short (the
 * queue is empty: the idle wait decides), a claim is failing (one claim
 * waits out an outage, not two), or the pool claims one at a time. Never a
 * third.
 */
const mayClaim = <A>({ pipelineAt }: Options<A>, claims: Claims): number | undefined =>
  claims.inFlight === 0
    ? 1
    : claims.inFlight === 1 && pipelineAt !== undefined && !claims.short && !claims.failing
    ? pipelineAt
    : undefined

/** Waits until a claim may start: for room in the lease book, or for a claim in flight to answer. */
const turn = <A>(options: Options<A>, claims: Claims): Effect.Effect<void> =>
  Effect.suspend(() => {
    const needed = mayClaim(options, claims)
    if (needed !== undefined && Leases.free(options.book) >= needed) return Effect.void
    // A claim that answers gives its reservation back, which wakes this wait too.
    return Effect.andThen(Leases.roomChanged(options.book, needed ?? Infinity), turn(options, claims))
  })

/**
 * Waits, the queue being empty, for the first of a notification or the
 * idle time (`idleFor`). With the short claim's own reading of `due`
 * (`known`), the idle time is known at once: no round trip. Otherwise the
 * store is asked for it in a fiber of its own, so that a notification
 * coming meanwhile ends the wait at once, without waiting for that answer
 * (a job offered just after the claim is picked up a round trip sooner) and
 * without interrupting the store's operation (which would cost PostgreSQL
 * a cancel request).
 */
const idle = <A>(options: Options<A>, wakeup: Wakeup.Wakeup, known: Reading | undefined): Effect.Effect<boolean> =>
  known !== undefined
    ? Effect.clockWith((clock) =>
      wakeup.wait(Effect.sleep(idleTime(options.pollInterval, untilDueAt(known, monotonicMillis(clock)))))
    )
    : Effect.flatMap(Effect.forkDetach(idleFor(options)), (asking) =>
      wakeup.wait(Effect.flatMap(Fiber.await(asking), (exit) =>
        Effect.sleep(Exit.isSuccess(exit) ? exit.value : options.pollInterval))))

/**
 * How long an idle fetcher waits at most: until the earliest job waiting
 * for its time is due (`untilDue`, by the store's clock), if that comes
 * before the next poll. At least a millisecond: a job due now that this
 * claim did not get (another process holds it) is not asked for again in a
 * busy loop. A reading that is no number says nothing (`isReading`).
 */
const idleTime = (pollInterval: Duration.Duration, untilDue: number | undefined): Duration.Duration =>
  isReading(untilDue) ? Duration.min(pollInterval, Duration.millis(Math.max(1, untilDue))) : pollInterval

/** The idle time as the store's `due` says it; a store that cannot say, or fails to, leaves the poll. */
const idleFor = <A>({ pollInterval, queue, store }: Options<A>): Effect.Effect<Duration.Duration> =>
  store.due === undefined ? Effect.succeed(pollInterval) : store.due(queue).pipe(
    Effect.map((due) => idleTime(pollInterval, due)),
    Effect.orElseSucceed(() => pollInterval)
  )

/**
 * Claims until the store answers, a warning for each failure, backing off
 * between, then says whether it came back short: fewer jobs than it asked
 * for, so the queue had no more (and what it read of `due`). However it ends (answered, or interrupted
 * by `stopped`), it gives back its reservation and leaves the claims in
 * flight.
 */
const claimThroughOutage = <A>(
  options: Options<A>,
  wakeup: Wakeup.Wakeup,
  claims: Claims,
  number: number,
  max: number,
  ready: boolean
): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.catch(claimAndDeliver(options, max, ready), (error) => retried(options, wakeup, claims, max, error)),
    (claimed) => {
      const answered = Effect.clockWith((clock) =>
        Effect.sync(() => {
          claims.failing = false
          if (number > claims.answered) {
            claims.answered = number
            claims.short = claimed.length < max
            const due = claims.short ? claimed.due : undefined
            claims.due = due === undefined ? undefined : { untilDue: due.untilDue, at: monotonicMillis(clock) }
          }
        })
      )
      // Short with jobs: the pool's workers, woken in a task of the
      // scheduler, start them before the fetcher goes idle. What it does
      // next is only to wait; a notification meanwhile is kept (`wakeup.ts`).
      return claimed.length > 0 && claimed.length < max ? Effect.andThen(Effect.yieldNow, answered) : answered
    }
  ).pipe(
    Effect.ensuring(Effect.sync(() => {
      claims.inFlight--
      if (claims.inFlight === 0) claims.none.openUnsafe()
      Leases.unreserve(options.book, max)
    }))
  )

/**
 * The claim again through the outage `error` began, a warning for each
 * failure, until the store answers: after the backoff's delay, or sooner,
 * as soon as the store is heard from (its listener is back, or a job was
 * stored), so that a store that comes back, or one that comes and goes,
 * is claimed from at once rather than at the end of a wait of up to 5 s.
 * A fifth of each delay is waited in any case: a store whose claims fail
 * while its notifications keep coming is tried at most once a second, not
 * once per notification. Entered only once a claim failed: it costs
 * nothing to the claims that answer, the pickup's. A claim is always worth
 * trying again: the fetcher stops only when the pool does.
 */
const retried = <A>(
  options: Options<A>,
  wakeup: Wakeup.Wakeup,
  claims: Claims,
  max: number,
  first: StoreError
): Effect.Effect<ClaimedJobs> =>
  Effect.gen(function*() {
    let error = first
    // A loop, not a retry nested in the last one's handler: an outage of days stacks nothing up.
    for (let failures = 1;; failures++) {
      claims.failing = true
      yield* quietly(Effect.logWarning("claiming jobs failed; retrying", error.message))
      const delay = Outage.delayAfter(failures)
      yield* Effect.sleep(Duration.divideUnsafe(delay, 5))
      yield* wakeup.wait(Effect.sleep(Duration.times(delay, 4 / 5)))
      // Before the claim, as before any claim: what the store says from now on is about jobs it may not see.
      wakeup.reset()
      const claimed = yield* Effect.result(claimAndDeliver(options, max))
      if (claimed._tag === "Success") return claimed.success
      error = claimed.failure
    }
  })

/**
 * One claim, and its jobs handed to the pool, as one step that shutdown
 * cannot cut in two: a claim whose answer was dropped would leave its
 * jobs leased to nobody until their lease ran out.
 */
const claimAndDeliver = <A>(options: Options<A>, max: number, ready = false): Effect.Effect<ClaimedJobs, StoreError> =>
  Effect.uninterruptible(Effect.flatMap(
    options.store.claim(options.queue, max, options.lease, ready ? readyOnlyClaim : undefined),
    (claimed) =>
      Effect.as(
        // An idle queue's job comes alone: delivered without `forEach`'s steps, which run cold after the wait.
        claimed.length === 1
          ? deliver(options, claimed[0]!)
          : Effect.forEach(claimed, (job) => deliver(options, job), { discard: true }),
        claimed
      )
  ))

/**
 * The span current when a job was offered, from its `own` settings: made
 * current while the job is delivered to the pool, it is its span's parent.
 */
const parentOf = (own: JobOptions.Settings | undefined): Tracer.ExternalSpan | undefined =>
  own?.traceparent === undefined ? undefined : Traceparent.parse(own.traceparent)

/**
 * Hands a claimed job to the pool; one that does not decode is dead-lettered
 * at once (the settler logs it, as it does every dead letter).
 */
const deliver = <A>(options: Options<A>, claimed: Claimed): Effect.Effect<unknown> => {
  const { book, decode } = options
  const decoded = decode(claimed.payload)
  if (Exit.isFailure(decoded)) {
    const ending = Leases.bury(Failures.describe(decoded.cause), claimed.attempt)
    Leases.endUnheld(book, { id: claimed.id, token: claimed.token }, ending)
    return Effect.void
  }
  // Read once: the lease book keeps them, and the span's parent is among them.
  const own = JobOptions.parse(claimed.settings)
  if (!Leases.hold(book, claimed, own)) return Effect.void
  // The store gave the id and the attempt: the pool takes them as they are.
  const delivered = options.deliver(decoded.value, claimed)
  const parent = parentOf(own)
  return Effect.catch(
    parent === undefined ? delivered : Effect.withParentSpan(delivered, parent),
    (refusal) =>
      Effect.sync(() =>
        Leases.end(
          book,
          claimed.id,
          // Closed: shutdown began between the claim and now, so the job is
          // given back. Any other refusal (a threaded pool's: a payload its
          // threads cannot take) would meet every claim of the job again:
          // given back, it would be claimed again at once, for ever.
          refusal._tag === "PoolClosedError"
            ? Leases.release
            : Leases.bury(Failures.describe(Cause.fail(refusal)), claimed.attempt)
        )
      )
  )
}
