/**
 * The dashboard's sampler: for each pool or queue it shows, one record of
 * bounded rings, filled once a second from the pool's counters (and, for a
 * durable queue, the store's counts, dead letters and waiting jobs) and from the pool's
 * outcomes as they come; and the snapshot the page polls, built once per
 * tick from those rings.
 *
 * Its work is bounded whatever the traffic: per outcome, a push into two
 * rings; per tick, a sort of at most `runTimes` numbers and a store round
 * trip or two per durable queue. The page gets the snapshot, never the jobs:
 * at 10,000 jobs/s the snapshot is the same size as at 1.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Durable from "../Durable.ts"
import { describe } from "../durable/failures.ts"
import type { Buried, Counts, JobState, Upcoming } from "../durable/Store.ts"
import type * as Job from "../Job.ts"
import type * as Pool from "../Pool.ts"
import { messageOf } from "../internal/options.ts"
import { prefix } from "../internal/prefix.ts"
import { monotonicMillis } from "../internal/timetable.ts"
import * as Ring from "./ring.ts"

/** What the dashboard reads of one pool or queue: `Dashboard.memory` and `Dashboard.durable` make these. */
export interface Source {
  readonly name: string
  readonly kind: "memory" | "durable"
  readonly stats: Effect.Effect<Pool.Stats>
  readonly running: Effect.Effect<ReadonlyArray<Pool.RunningJob>>
  readonly outcomes: Stream.Stream<Job.Outcome<unknown, unknown, unknown>>
  /** A durable queue's store operations: counts, dead letters and the actions. */
  readonly admin: Durable.Admin | undefined
  /**
   * Its pause: an in-memory pool's own, or a durable queue's for every
   * process (its `admin`'s, which it is when absent). Without either, it
   * cannot be paused from the dashboard.
   */
  readonly pausing?: Pausing | undefined
  /** The periodic jobs declared on a durable queue, as the page lists them. */
  readonly periodic: ReadonlyArray<PeriodicSchedule>
}

/** Holding a pool's or a queue's jobs back: `Pool.WorkerPool` and `Durable.Admin` both have it. */
export interface Pausing {
  readonly pause: Effect.Effect<boolean, Durable.AdminError>
  readonly resume: Effect.Effect<boolean, Durable.AdminError>
  readonly isPaused: Effect.Effect<boolean, Durable.AdminError>
}

/** A periodic job's declaration, as shown (the store keeps no list of them: the application declares them). */
export interface PeriodicSchedule {
  readonly name: string
  readonly cron: string
}

/** The sizes of the rings: how much the dashboard keeps per queue, whatever the traffic. */
export interface Limits {
  /** Per-second samples kept for the chart: 600 is ten minutes. */
  readonly samples: number
  /** The most recent run times the percentiles are computed from. */
  readonly runTimes: number
  /** The most recent outcomes listed. */
  readonly recent: number
  /** The dead letters listed (the oldest first, as the store gives them). */
  readonly deadLetters: number
  /** The running jobs listed. */
  readonly running: number
  /** The jobs waiting for their time listed (the soonest first). */
  readonly upcoming: number
}

export const defaultLimits: Limits = {
  samples: 600,
  runTimes: 1_000,
  recent: 50,
  deadLetters: 50,
  running: 100,
  upcoming: 50
}

/**
 * A tick's worth of a queue's traffic: the time since the tick before (the
 * sampler's interval, one second by default; longer when the tick waited
 * for a slow store), so that a rate is `ended / seconds` whatever it was.
 */
export interface Sample {
  /** When the counters were read, in ms since the epoch. */
  readonly t: number
  /** The time it covers, since the counters were last read, in seconds. */
  readonly seconds: number
  /** Jobs that ended in it (any outcome). */
  readonly ended: number
  /** Of those, jobs that failed or died. */
  readonly failed: number
}

/** An outcome as listed: no payload, no value; the failure as text, cut short. */
export interface RecentOutcome {
  readonly id: string
  readonly outcome: Job.Outcome<unknown, unknown, unknown>["_tag"]
  readonly attempt: number
  /** How long it ran, in ms, when the outcome says. */
  readonly ms: number | undefined
  /** When it ended, in ms since the epoch. */
  readonly at: number
  readonly error: string | undefined
}

/** A dead letter as listed: its payload as JSON, cut short. */
export interface DeadLetter {
  readonly id: string
  readonly attempts: number
  readonly error: string
  readonly payload: string
  /** Its place, for the page after it (`Admin.deadLetters`' `after`); none from a store that gives none. */
  readonly cursor: string | undefined
}

/** A job waiting for its time, as listed. */
export interface UpcomingJob {
  readonly id: string
  /** When it may run, in ms since the epoch, by the store's clock. */
  readonly runAt: number
  readonly attempts: number
  /** Its place, for the page after it (`Admin.upcoming`'s `after`); none from a store that gives none. */
  readonly cursor: string | undefined
}

/** What the page shows of one queue. */
export interface QueueSnapshot {
  readonly name: string
  readonly kind: "memory" | "durable"
  readonly stats: Pool.Stats
  /** A durable queue's counts in the store, across processes. */
  readonly counts: Counts | undefined
  /** Why the store could not be read this tick, if it could not. */
  readonly storeError: string | undefined
  /** Whether it is paused (`WorkerPool.pause`, `Admin.pause`), as last read; undefined before it was read. */
  readonly paused: boolean | undefined
  readonly series: ReadonlyArray<Sample>
  readonly percentiles: Ring.Percentiles | undefined
  readonly running: ReadonlyArray<{ readonly id: string; readonly worker: number; readonly attempt: number; readonly ms: number | undefined }>
  readonly recent: ReadonlyArray<RecentOutcome>
  readonly deadLetters: ReadonlyArray<DeadLetter>
  /** A durable queue's jobs waiting for their time (the first page); `undefined` when its store cannot list them. */
  readonly upcoming: ReadonlyArray<UpcomingJob> | undefined
  /** Whether more jobs wait than `upcoming` shows: a page follows it. */
  readonly moreUpcoming: boolean
  readonly periodic: ReadonlyArray<PeriodicSchedule>
}

/** What the page polls. */
export interface Snapshot {
  readonly at: number
  readonly queues: ReadonlyArray<QueueSnapshot>
}

/** The longest text kept for an error or a payload in the snapshot. */
export const maxText = 500

const cut = (text: string): string => text.length > maxText ? `${prefix(text, maxText)}…` : text

/** One queue's rings and the counters seen at the last tick. */
export interface QueueState {
  readonly source: Source
  readonly limits: Limits
  readonly series: Ring.Ring<Sample>
  readonly runTimes: Ring.Ring<number>
  readonly recent: Ring.Ring<RecentOutcome>
  /**
   * The ended and failed totals at the last tick, and when they were read
   * (on the monotonic clock, which a wall clock's jump does not move): the
   * next sample is the difference.
   */
  last: { readonly ended: number; readonly failed: number; readonly at: number } | undefined
  snapshot: QueueSnapshot
}

const endedOf = (stats: Pool.Stats) => stats.succeeded + stats.failed + stats.died + stats.interrupted
const failedOf = (stats: Pool.Stats) => stats.failed + stats.died

const emptyStats: Pool.Stats = {
  workers: 0,
  queued: 0,
  delayed: 0,
  active: 0,
  submitted: 0,
  succeeded: 0,
  failed: 0,
  died: 0,
  interrupted: 0,
  cancelled: 0,
  abandoned: 0,
  droppedOutcomes: 0
}

export const makeQueue = (source: Source, limits: Limits = defaultLimits): QueueState => ({
  source,
  limits,
  series: Ring.make(limits.samples),
  runTimes: Ring.make(limits.runTimes),
  recent: Ring.make(limits.recent),
  last: undefined,
  snapshot: {
    name: source.name,
    kind: source.kind,
    stats: emptyStats,
    counts: undefined,
    storeError: undefined,
    paused: undefined,
    series: [],
    percentiles: undefined,
    running: [],
    recent: [],
    deadLetters: [],
    upcoming: undefined,
    moreUpcoming: false,
    periodic: source.periodic
  }
})

/** The failure of an outcome as text, as a dead letter's is written. */
const errorOf = (outcome: Job.Outcome<unknown, unknown, unknown>): string | undefined => {
  switch (outcome._tag) {
    case "Succeeded":
      return undefined
    case "Failed":
      return cut(describe(Cause.fail(outcome.error)))
    case "Died":
      return cut(describe(Cause.die(outcome.defect)))
    case "Interrupted":
      return outcome.cancelled ? "cancelled" : "interrupted"
  }
}

/** Takes in one outcome: its run time for the percentiles, and its line in the recent ones. */
export const record = (queue: QueueState, outcome: Job.Outcome<unknown, unknown, unknown>, now: number): void => {
  const ms = "elapsed" in outcome ? Duration.toMillis(outcome.elapsed) : undefined
  if (ms !== undefined) Ring.push(queue.runTimes, ms)
  Ring.push(queue.recent, {
    // An in-memory pool takes ids of any length: cut, as errors are, so that the snapshot's size stays bounded.
    id: cut(outcome.job.id),
    outcome: outcome._tag,
    attempt: outcome.job.attempt,
    ms,
    at: now,
    error: errorOf(outcome)
  })
}

/** What a durable queue's store said this tick (the last answer, with why not, when it failed). */
export interface StoreView {
  readonly counts: Counts | undefined
  readonly deadLetters: ReadonlyArray<DeadLetter>
  readonly upcoming: ReadonlyArray<UpcomingJob> | undefined
  /** Whether more jobs wait than `upcoming` shows (the store listed one more). */
  readonly moreUpcoming: boolean
  /** Whether it is paused: an in-memory pool's own, or the queue's in the store. */
  readonly paused: boolean | undefined
  readonly error: string | undefined
}

/** How `source` is paused: its own `pausing`, else its store's, if it has either. */
export const pausingOf = (source: Source): Pausing | undefined => source.pausing ?? source.admin

/** An in-memory pool's view: no store, and its own pause if it has one. */
const inMemory = (pausing: Pausing | undefined): Effect.Effect<StoreView> =>
  pausing === undefined ? Effect.succeed(noStore) : Effect.match(pausing.isPaused, {
    onFailure: (): StoreView => noStore,
    onSuccess: (paused): StoreView => ({ ...noStore, paused })
  })

const noStore: StoreView = {
  counts: undefined,
  deadLetters: [],
  upcoming: undefined,
  moreUpcoming: false,
  paused: undefined,
  error: undefined
}

/**
 * The largest dead letter's payload a tick reads, in bytes of JSON: one
 * larger is shown by its size alone. Each tick lists the dead letters
 * again, and a page shows 500 characters of each: whole payloads of
 * megabytes, read every second, would hold up the store and this process.
 */
export const previewedPayloadBytes = 16 * 1024

/** How long a tick waits for the store before it shows the queue without it. */
const storeTimeout = Duration.seconds(2)

/**
 * The store's counts, first dead letters and first waiting jobs, or why they
 * could not be read (the last view then, `moreUpcoming` included: the first
 * page of waiting jobs kept is cut to the limit, and no longer tells).
 */
const readStore = (queue: QueueState): Effect.Effect<StoreView> => {
  const admin = queue.source.admin
  if (admin === undefined) return inMemory(pausingOf(queue.source))
  const { limits, snapshot } = queue
  const deadLetters = admin.deadLetters(limits.deadLetters, { maxPayloadBytes: previewedPayloadBytes })
  // One more waiting job than shown: whether a page follows the first.
  return Effect.all([admin.counts, deadLetters, admin.upcoming(limits.upcoming + 1), (pausingOf(queue.source) ?? admin).isPaused]).pipe(
    Effect.timeout(storeTimeout),
    Effect.exit,
    Effect.map((exit): StoreView =>
      Exit.isSuccess(exit)
        ? {
          counts: exit.value[0],
          deadLetters: exit.value[1].map(deadLetter),
          upcoming: exit.value[2]?.map(upcomingJob),
          moreUpcoming: (exit.value[2]?.length ?? 0) > limits.upcoming,
          paused: exit.value[3],
          error: undefined
        }
        : { ...snapshot, error: failureText(exit.cause) }
    )
  )
}

/** A waiting job as listed: its time in ms since the epoch. */
const upcomingJob = (job: Upcoming): UpcomingJob => ({
  id: job.id,
  runAt: job.runAt.getTime(),
  attempts: job.attempts,
  cursor: job.cursor
})

/** A dead letter as listed: its error and payload cut short. */
const deadLetter = (letter: Buried): DeadLetter => ({
  id: letter.id,
  attempts: letter.attempts,
  error: cut(letter.error),
  payload: payloadText(letter.payload),
  cursor: letter.cursor
})

/** A job as looked up by id: when it runs in ms since the epoch, its error cut short. */
export interface LookedUp {
  readonly id: string
  readonly state: JobState
  readonly attempts: number
  readonly priority: number
  readonly runAt: number | undefined
  readonly error: string | undefined
}

/** The job `id` of a durable queue, or undefined if the queue does not hold it, asked when the page asks. */
export const lookUp = (
  admin: Durable.Admin,
  id: string
): Effect.Effect<LookedUp | undefined, Durable.AdminError | Cause.TimeoutError> =>
  admin.lookup(id).pipe(
    Effect.timeout(storeTimeout),
    Effect.map((job) =>
      job && {
        id: job.id,
        state: job.state,
        attempts: job.attempts,
        priority: job.priority,
        runAt: job.runAt?.getTime(),
        error: job.error === undefined ? undefined : cut(job.error)
      }
    )
  )

/**
 * The page of a durable queue's dead letters after the cursor `after`, as
 * the snapshot lists its first page (as many, their payloads previewed
 * alike), asked of the store when the page asks for it, not each tick.
 */
export const deadLettersAfter = (queue: QueueState, admin: Durable.Admin, after: string) =>
  laterPage(queue.limits.deadLetters, (n) => admin.deadLetters(n, { maxPayloadBytes: previewedPayloadBytes, after }), deadLetter)

/**
 * The page of a durable queue's jobs waiting for their time after the
 * cursor `after`, as many as the snapshot lists (none from a store that
 * cannot list them).
 */
export const upcomingAfter = (queue: QueueState, admin: Durable.Admin, after: string) =>
  laterPage(queue.limits.upcoming, (n) => Effect.map(admin.upcoming(n, { after }), (jobs) => jobs ?? []), upcomingJob)

/** A later page of a listing, and whether another comes after it. */
export interface ListingPage<A> {
  readonly items: ReadonlyArray<A>
  readonly more: boolean
}

/** The first `size` that `list` gives when asked for one more, as `shown`; one more given: a page follows. */
const laterPage = <A, B>(
  size: number,
  list: (n: number) => Effect.Effect<ReadonlyArray<A>, Durable.AdminError>,
  shown: (item: A) => B
): Effect.Effect<ListingPage<B>, Durable.AdminError | Cause.TimeoutError> =>
  list(size + 1).pipe(
    Effect.timeout(storeTimeout),
    Effect.map((items) => ({ items: items.slice(0, size).map(shown), more: items.length > size }))
  )

/** A failure as the page shows it: its message, cut short. */
export const failureText = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return cut(messageOf(error))
}

const payloadText = (payload: unknown): string => {
  if (payload === undefined) return `(over ${previewedPayloadBytes / 1024} KiB of JSON: not read)`
  if (typeof payload === "string") return cut(payload)
  try {
    return cut(JSON.stringify(payload) ?? String(payload))
  } catch {
    return "(a payload that could not be shown)"
  }
}

/**
 * One tick: the second's sample from the counters, the running jobs, the
 * percentiles, the store's view; the queue's snapshot rebuilt from them.
 */
export const tick = (
  queue: QueueState,
  read: Reading,
  stats: Pool.Stats,
  running: ReadonlyArray<Pool.RunningJob>,
  store: StoreView
): QueueSnapshot => {
  const { monotonic, now } = read
  const ended = endedOf(stats)
  const failed = failedOf(stats)
  if (queue.last !== undefined) {
    Ring.push(queue.series, {
      t: now,
      seconds: Math.max(0, monotonic - queue.last.at) / 1000,
      ended: Math.max(0, ended - queue.last.ended),
      failed: Math.max(0, failed - queue.last.failed)
    })
  }
  queue.last = { ended, failed, at: monotonic }
  const shown = running.slice(0, queue.limits.running).map((job) => ({
    id: cut(job.id),
    worker: job.worker,
    attempt: job.attempt,
    ms: job.startedAt === undefined ? undefined : Math.max(0, now - job.startedAt)
  }))
  queue.snapshot = {
    name: queue.source.name,
    kind: queue.source.kind,
    stats,
    counts: store.counts,
    storeError: store.error,
    paused: store.paused,
    series: Ring.toArray(queue.series),
    percentiles: Ring.percentiles(queue.runTimes),
    running: shown,
    recent: Ring.toArray(queue.recent).reverse(),
    deadLetters: store.deadLetters.slice(0, queue.limits.deadLetters),
    upcoming: store.upcoming?.slice(0, queue.limits.upcoming),
    moreUpcoming: store.moreUpcoming,
    periodic: queue.source.periodic
  }
  return queue.snapshot
}

/**
 * Reads the pool, then the store, and ticks: the sample is the pool's as
 * of when its counters were read, however long the store took.
 */
export const sampleOnce = (queue: QueueState): Effect.Effect<void> =>
  Effect.gen(function*() {
    const read = yield* reading
    const stats = yield* queue.source.stats
    const running = yield* queue.source.running
    const store = yield* readStore(queue)
    tick(queue, read, stats, running, store)
  })

/** When a tick read the pool: the wall clock's time (shown), and the monotonic clock's (measured). */
export interface Reading {
  readonly now: number
  readonly monotonic: number
}

const reading: Effect.Effect<Reading> = Effect.clockWith((clock) =>
  Effect.sync(() => ({ now: clock.currentTimeMillisUnsafe(), monotonic: monotonicMillis(clock) }))
)

/**
 * Ticks `queue` now, `first` done with how that went (a tick that dies
 * fails the start, as it did when the start ran it), and every `interval`
 * after, for ever.
 */
const ticking = (queue: QueueState, interval: Duration.Duration, first: Deferred.Deferred<void>): Effect.Effect<never> =>
  sampleOnce(queue).pipe(
    Effect.onExit((exit) => Deferred.done(first, exit)),
    Effect.andThen(Effect.forever(Effect.andThen(Effect.sleep(interval), sampleOnce(queue))))
  )

/** The sampler of every queue the dashboard shows. */
export interface Sampler {
  readonly queues: ReadonlyArray<QueueState>
  /** The snapshot of every queue, as of the last tick. */
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * Starts sampling `sources` in the current scope: two fibers per queue, one
 * that takes in its outcomes and one that ticks every `interval` (a queue's
 * slow store holds up its own ticks only). Both stop when the scope closes
 * (or, for the outcomes, when the pool closes).
 */
export const start = (
  sources: ReadonlyArray<Source>,
  options: { readonly interval: Duration.Duration; readonly limits: Limits }
): Effect.Effect<Sampler, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queues = sources.map((source) => makeQueue(source, options.limits))
    for (const queue of queues) {
      yield* Effect.forkScoped(Stream.runForEachArray(queue.source.outcomes, (outcomes) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          for (const outcome of outcomes) record(queue, outcome, now)
        })), { startImmediately: true })
    }
    // Each queue's first tick now, so that the page has counts from its first poll; the start waits
    // for every queue's, all at once (a slow store holds it up as long as its own tick takes).
    const firstTicks = queues.map(() => Deferred.makeUnsafe<void>())
    for (const [i, queue] of queues.entries()) {
      yield* Effect.forkScoped(ticking(queue, options.interval, firstTicks[i]!), { startImmediately: true })
    }
    yield* Effect.forEach(firstTicks, Deferred.await, { discard: true })
    const snapshot = Effect.map(Clock.currentTimeMillis, (at): Snapshot => ({
      at,
      queues: queues.map((queue) => queue.snapshot)
    }))
    return { queues, snapshot }
  })
