/**
 * The settler: the one fiber that takes ended leases from the lease book and
 * tells the store, acknowledgements and releases in batches (one round trip
 * for all that ended meanwhile), retries and burials one by one. It retries
 * through outages (`outage.ts`); the ending of one job that the store keeps
 * refusing is given up after a few tries, so that it does not hold up the
 * others.
 *
 * `Durable.ts` starts it; the shutdown calls `flush` (within its own bound)
 * once no lease can end any more.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { quietly } from "../internal/quietly.ts"
import * as Failures from "./failures.ts"
import * as JobOptions from "./jobOptions.ts"
import * as Leases from "./leases.ts"
import { type DurableMetrics, leasesLost, settled } from "./metrics.ts"
import { persistently, throughOutage } from "./outage.ts"
import { retryDelays } from "./retryDelay.ts"
import type { Completion, Lease, Store, StoreError, Taken } from "./Store.ts"

export interface Options {
  readonly store: Store
  readonly queue: string
  /** The delay before each retry, by attempt. */
  readonly retry: Schedule.Schedule<unknown, unknown>
  readonly book: Leases.Book
  /** Where retries and dead letters are counted, if the pool has metrics. */
  readonly metrics?: DurableMetrics | undefined
  /**
   * How the store completes jobs: `{ keep: false }` when the pool keeps no
   * completed job (its `completedRetention` is zero), so that the store
   * deletes them at once rather than keep them for maintenance to purge.
   */
  readonly completion?: Completion | undefined
}

/** A running settler. */
export interface Settler {
  /** Tells the store the last endings, then ends. Call it once no lease can end any more. */
  readonly flush: Effect.Effect<void>
}

/** A running settler's options: the pool's, and its retries' delays (`retryDelay.ts`). */
interface Running extends Options {
  readonly delayOf: (attempt: number) => Effect.Effect<Duration.Duration>
}

/** Starts the settler in `scope`. */
export const start = (options: Options, scope: Scope.Scope): Effect.Effect<Settler> =>
  Effect.map(Effect.forkIn(run({ ...options, delayOf: retryDelays(options.retry) }), scope), (fiber) => ({
    flush: Effect.suspend(() => {
      Leases.noMoreEndings(options.book)
      return Effect.asVoid(Fiber.await(fiber))
    })
  }))

/** Settles ended leases as they come, until the book says there will be no more. */
const run = (options: Running): Effect.Effect<void> =>
  Effect.forever(Effect.flatMap(Leases.takeEnded(options.book), (batch) => settleOrLeave(options, batch))).pipe(
    Effect.catchTag("Done", () => Effect.void)
  )

/**
 * `settleAll`, or, should it die (a bug: nothing it runs is meant to), the
 * batch left to its leases, with an error logged: no longer renewed, each of
 * its jobs comes back when its lease runs out, and the next batch is
 * settled. A settler that died would leave every later ending untold and
 * every lease renewed for as long as the process lives.
 */
const settleOrLeave = (options: Running, batch: ReadonlyArray<Leases.Settling>): Effect.Effect<void> =>
  Effect.catchDefect(settleAll(options, batch), (defect) =>
    Effect.andThen(
      quietly(Effect.logError("settling jobs failed; they run again once their leases run out").pipe(
        Effect.annotateLogs({
          queue: options.queue,
          jobIds: batch.map((one) => one.lease.id),
          error: Failures.describe(Cause.die(defect))
        })
      )),
      Effect.sync(() => {
        for (const one of batch) Leases.stored(options.book, one)
      })
    ))

/** Tells the store how each lease of `batch` ended. */
const settleAll = (options: Running, batch: ReadonlyArray<Leases.Settling>): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { completion, queue, store } = options
    // One pass over the batch (it holds a job each): the acknowledgements
    // and releases go in one trip each, the others one by one.
    const completed: Array<Leases.Settling> = []
    const released: Array<Leases.Settling> = []
    const others: Array<Leases.Settling> = []
    for (const one of batch) {
      const tag = one.ending._tag
      if (tag === "complete") completed.push(one)
      else if (tag === "release") released.push(one)
      else others.push(one)
    }
    yield* inOneTrip(options, completed, "acknowledging jobs", (leases) => store.complete(queue, leases, completion))
    yield* inOneTrip(options, released, "releasing jobs", (leases) => store.release(queue, leases))
    for (const one of others) yield* settleOne(options, one, one.ending as OneByOne)
  })

/** `these` leases in one store operation, retried through an outage. */
const inOneTrip = (
  { book }: Options,
  these: ReadonlyArray<Leases.Settling>,
  what: string,
  operation: (leases: ReadonlyArray<Lease>) => Effect.Effect<void, StoreError>
): Effect.Effect<void> => {
  if (these.length === 0) return Effect.void
  const leases = new Array<Lease>(these.length)
  for (let i = 0; i < these.length; i++) leases[i] = these[i]!.lease
  return Effect.andThen(
    throughOutage(what, operation(leases)),
    Effect.sync(() => {
      for (const one of these) Leases.stored(book, one)
    })
  )
}

/** The endings told one by one, each with its own delay or error. */
type OneByOne = Extract<Leases.Ending, { readonly _tag: "retry" | "bury" | "snooze" }>

/**
 * A retry, a snooze or a burial: tried a few times, then left to its lease (stored or
 * given up on, it is no longer renewed). Counted and logged (`failures.ts`)
 * once the store took it; one it did not take (the lease was no longer
 * held) is logged as such and counted as a lease lost; one whose answer
 * was lost (`tell`) is logged as such and counted nowhere. The store's
 * failures on the way are logged with the attempt (given up, the job runs
 * again).
 */
const settleOne = (options: Running, one: Leases.Settling, ending: OneByOne): Effect.Effect<void> => {
  const { id } = one.lease
  const told = ending._tag === "retry"
    ? retried(options, one.lease, ending)
    : ending._tag === "snooze"
    ? snoozed(options, one.lease, ending)
    : buried(options, one.lease, ending)
  return Effect.andThen(Effect.annotateLogs(told, { jobId: id, queue: options.queue }), Effect.sync(() => Leases.stored(options.book, one)))
}

const retried = (
  { delayOf, metrics, queue, store }: Running,
  lease: Lease,
  ending: Extract<Leases.Ending, { readonly _tag: "retry" }>
): Effect.Effect<void> => {
  const attempt: Failures.Attempt = { id: lease.id, queue, attempt: ending.attempt, error: ending.error }
  return Effect.flatMap(ownDelay(ending) ?? delayOf(ending.attempt), (delay) =>
    tell(attempt, "retrying a job", store.retry(queue, lease, delay), () => {
      settled(metrics, "retry")
      return Failures.attemptFailed(attempt, delay)
    }, () => leasesLost(metrics, "retry")))
}

/** A snooze: a retry after the handler's own delay, its attempt given back. */
const snoozed = (
  { metrics, queue, store }: Running,
  lease: Lease,
  ending: Extract<Leases.Ending, { readonly _tag: "snooze" }>
): Effect.Effect<void> => {
  const attempt: Failures.Attempt = { id: lease.id, queue, attempt: ending.attempt, error: "snoozed" }
  return tell(attempt, "snoozing a job", store.retry(queue, lease, ending.delay, givenBack), () => {
    settled(metrics, "snooze")
    return Failures.snoozed(attempt, ending.delay)
  }, () => leasesLost(metrics, "retry"))
}

const givenBack = { attemptGivenBack: true }

const buried = (
  { metrics, queue, store }: Running,
  lease: Lease,
  ending: Extract<Leases.Ending, { readonly _tag: "bury" }>
): Effect.Effect<void> => {
  const attempt: Failures.Attempt = { id: lease.id, queue, attempt: ending.attempts, error: ending.error }
  return tell(attempt, "dead-lettering a job", store.bury(queue, lease, ending.error), () => {
    settled(metrics, "bury")
    return Failures.deadLettered(attempt)
  }, () => leasesLost(metrics, "bury"))
}

/**
 * `ending` told to the store (`persistently`), then `taken` if the store
 * took it, `refused` (and its log line) if it said no. A "no" after a try
 * that failed in a way that may have taken it (`Answered.afterUnanswered`)
 * is no answer: that try may be what took the lease. Interrupted before an
 * answer (the shutdown's flush gave up), the attempt's failure is still
 * logged.
 */
const tell = (
  attempt: Failures.Attempt,
  what: string,
  ending: Effect.Effect<Taken, StoreError>,
  taken: () => Effect.Effect<void>,
  refused: () => void
): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.annotateLogs(persistently(what, ending), { attempt: attempt.attempt, attemptError: attempt.error }),
    (answer) =>
      Option.isNone(answer)
        ? Effect.void
        : answer.value.value !== false
        ? Effect.suspend(taken)
        : answer.value.afterUnanswered
        ? Failures.unknownEnding(attempt)
        : Effect.andThen(Effect.sync(refused), Failures.notTaken(attempt))
  ).pipe(Effect.onInterrupt(() => Failures.untold(attempt)))

/** The delay before a retry by the job's own backoff, if it has one. */
const ownDelay = (ending: Extract<Leases.Ending, { readonly _tag: "retry" }>) =>
  ending.backoff === undefined ? undefined : Effect.succeed(JobOptions.backoffDelay(ending.backoff, ending.attempt))

