/**
 * The state of one in-memory pool, as one named record: the modules that
 * make up the pool (admission, the ledger, the executor, the worker places)
 * are functions over it, as Effect's own `Pool` keeps its `State`, rather
 * than closures sharing the locals of one function. Who writes which field
 * is said at the field; the fields are plain so that the per-job path reads
 * them without a call.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Queue from "effect/Queue"
import type * as Tracer from "effect/Tracer"
import type * as Job from "../Job.ts"
import type { Hooks, PoolClosedError, PoolConfigError, PoolFullError, RunError } from "../Pool.ts"
import * as Backlog from "./backlog.ts"
import type { PoolMetrics } from "./metrics.ts"
import * as Timetable from "./timetable.ts"

/**
 * The pool's public errors. They are defined in `Pool.ts`, with the rest of
 * its API, and handed in from there: imported here, they would make a cycle.
 */
export interface Errors {
  readonly Closed: typeof PoolClosedError
  readonly Full: typeof PoolFullError
  readonly Config: typeof PoolConfigError
}

/** What the pool's modules need of its validated options, and of its public API. */
export interface Settings<A, B, E, R> {
  readonly workers: number
  readonly capacity: number
  readonly handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>
  readonly jobTimeout: Duration.Duration | undefined
  /** `Pool.WorkerId`: what a handler reads to know its worker. */
  readonly workerId: Context.Reference<number>
  readonly errors: Errors
  /** The pool's name, for its metrics and spans. */
  readonly name: string
  /** Whether a job submitted under a span runs in a span of its own (`tracing.ts`). */
  readonly tracing: boolean
  /** The name of its jobs' spans. */
  readonly spanName: string
}

/** An accepted job, with what its `run` caller (if any) needs. */
export interface Entry<A, B, E> {
  readonly job: Job.Job<A>
  /** Present for `run`: where the result goes. */
  readonly reply: Deferred.Deferred<B, RunError<E>> | undefined
  /** Set when the `run` caller was interrupted. */
  cancelled: boolean
  /** Present for `run` while the job runs: the fiber to interrupt on cancel. */
  fiber: Fiber.Fiber<B, E | Job.JobTimeoutError> | undefined
  /** When the job started, read only if someone listened to `outcomes` then, or the pool has job timings. */
  startedAt: number | undefined
  /** The span current when the job was submitted, if the pool traces: its span's parent (`tracing.ts`). */
  parent: Tracer.AnySpan | undefined
  /** When the job became ready to start (accepted, or due), read only if the pool has job timings. */
  readyAt: number
}

/** The entry of a job just made; every entry is made here, so that all have one shape. */
export const makeEntry = <A, B, E>(
  job: Job.Job<A>,
  reply: Deferred.Deferred<B, RunError<E>> | undefined
): Entry<A, B, E> => new EntryRecord(job, reply)

/**
 * Entries are made with `new`, not an object literal: V8 tracks whether the
 * objects of a literal survive young-generation collections and, as the
 * jobs queued in a full backlog do, starts allocating them in the old
 * generation, which then grows until a full collection (peak RSS over a
 * million jobs: about 240 MiB instead of 130). Constructed objects are not tracked so.
 */
class EntryRecord<A, B, E> implements Entry<A, B, E> {
  readonly job: Job.Job<A>
  readonly reply: Deferred.Deferred<B, RunError<E>> | undefined
  cancelled = false
  fiber: Fiber.Fiber<B, E | Job.JobTimeoutError> | undefined = undefined
  startedAt: number | undefined = undefined
  parent: Tracer.AnySpan | undefined = undefined
  readyAt = 0
  constructor(job: Job.Job<A>, reply: Deferred.Deferred<B, RunError<E>> | undefined) {
    this.job = job
    this.reply = reply
  }
}

/**
 * The entry of a job submitted with a delay, and that delay in nanoseconds,
 * until it is accepted (`delayed.ts` schedules it then). Made only for such a job.
 */
export class DelayedEntry<A, B, E> {
  readonly entry: Entry<A, B, E>
  readonly delayNanos: number
  constructor(entry: Entry<A, B, E>, delayNanos: number) {
    this.entry = entry
    this.delayNanos = delayNanos
  }
}

/** A submit waiting for room. */
export interface Waiter<A, B, E> {
  readonly entry: Entry<A, B, E>
  /** Its delay, for a job submitted with one; a waiter without a delay does not have the field. */
  readonly delayNanos?: number
  readonly resume: (effect: Effect.Effect<Job.Job<A>, PoolClosedError>) => void
}

/** One subscriber of `outcomes`: its buffer. */
export interface Subscriber<A, B, E> {
  readonly queue: Queue.Queue<Job.Outcome<A, B, E>, Cause.Done>
  readonly capacity: number
}

/** The jobs accepted, and how many of them ended in each way (written by the ledger only). */
export interface Counts {
  submitted: number
  succeeded: number
  failed: number
  died: number
  cancelled: number
  abandoned: number
}

export interface PoolState<A, B, E, R> {
  readonly settings: Settings<A, B, E, R>
  readonly hooks: Hooks<A>
  readonly clock: Clock.Clock
  /** The accepted jobs no worker has taken yet (and a place held for each delayed one). */
  readonly backlog: Backlog.Backlog<Entry<A, B, E>>
  /** The accepted jobs with a delay that are not due yet, by due time (`delayed.ts`'s). */
  readonly delayed: Timetable.Timetable<Entry<A, B, E>>
  /** The submits waiting for room, in the order they came (admission's). */
  readonly waiters: Set<Waiter<A, B, E>>
  /** False once the shutdown began: nothing more is accepted (admission's). */
  accepting: boolean
  /** The jobs counted over the pool's life (this field and those below, to `closed`, are the ledger's). */
  readonly counts: Counts
  /** Jobs a worker is running now. */
  active: number
  /** The jobs interrupted once the shutdown began: what `Report.interrupted` lists. */
  readonly interrupted: Array<Job.Job<A>>
  /** The jobs that interrupted themselves before: only counted, or a long-lived pool would keep them all. */
  interruptedBeforeShutdown: number
  readonly subscribers: Set<Subscriber<A, B, E>>
  /** When the current subscribers began listening: the start of jobs that were already running. */
  listeningSince: number
  /** Outcomes dropped because a subscriber's buffer was full, summed over subscribers. */
  droppedOutcomes: number
  /** True once the drain is over: the outcome streams have ended. */
  closed: boolean
  /** The fibers of the worker places, one per worker (this field and the two below are `places.ts`'s). */
  readonly places: Array<Fiber.Fiber<void>>
  /** Workers running. */
  running: number
  /**
   * Each worker place's hand (index: worker id - 1), the job its loop runs,
   * if any: what `running.ts` reads for the running jobs' snapshot.
   */
  readonly hands: Array<{ readonly item: Entry<A, B, E> | undefined }>
  /** Done once every worker has started taking jobs. */
  readonly allStarted: Deferred.Deferred<void>
  /** The accepted jobs not ended yet, by id: only in a pool made with `Hooks.cancellable` (`cancel.ts`'s). */
  readonly byId: Map<string, Entry<A, B, E>> | undefined
  /** The histograms the ledger updates per job, if the pool records job timings (`metrics.ts`). */
  readonly metrics: PoolMetrics | undefined
}

/** The state of a pool that has accepted nothing yet and whose workers are not started. */
export const make = <A, B, E, R>(
  settings: Settings<A, B, E, R>,
  hooks: Hooks<A>,
  clock: Clock.Clock,
  metrics?: PoolMetrics
): PoolState<A, B, E, R> => ({
  settings,
  hooks,
  clock,
  backlog: Backlog.make<Entry<A, B, E>>(settings.capacity),
  delayed: Timetable.make<Entry<A, B, E>>(),
  waiters: new Set(),
  accepting: true,
  counts: { submitted: 0, succeeded: 0, failed: 0, died: 0, cancelled: 0, abandoned: 0 },
  active: 0,
  interrupted: [],
  interruptedBeforeShutdown: 0,
  subscribers: new Set(),
  listeningSince: 0,
  droppedOutcomes: 0,
  closed: false,
  places: [],
  running: 0,
  hands: [],
  allStarted: Deferred.makeUnsafe<void>(),
  byId: hooks.cancellable === true ? new Map() : undefined,
  metrics
})
