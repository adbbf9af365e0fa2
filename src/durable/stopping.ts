/**
 * The durable pool's shutdown: the order in which its parts stop, and the
 * report. It owns whether the pool still accepts jobs and the once-only run
 * of the sequence:
 *
 * 1. stop claiming (a claim in flight still delivers, to a pool that gives
 *    its jobs back);
 * 2. drain the in-memory pool within its deadline, while that claim
 *    finishes (not after it: a store that hangs must not hold up the drain);
 * 3. flush: the settler tells the store the last endings, within
 *    `flushTimeout`;
 * 4. close the background scope (fetcher, settler, heartbeat, maintenance), detached if
 *    the flush timed out: a claim that never answers would hold it up;
 * 5. log the report; then `onShutdown` has it (`Once`'s epilogue: a shutdown
 *    asked for from it gets the report at once).
 *
 * `Durable.ts` makes it once the parts run, and calls `run` from `shutdown`
 * and from the pool's finalizer.
 *
 * Internal: not an entry point of the package.
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Once from "../internal/once.ts"
import { quietly } from "../internal/quietly.ts"
import { gaveBack, reportAnnotations } from "../internal/reportLog.ts"
import type * as Pool from "../Pool.ts"
import type * as Shutdown from "../Shutdown.ts"
import type { Fetcher } from "./fetcher.ts"
import type { Settler } from "./settler.ts"

/** How long shutdown waits for the last lease endings to reach the store. */
export const flushTimeout = Duration.seconds(5)

/** What the shutdown stops, and whom it tells. */
export interface Parts<A, B, E, R> {
  readonly queue: string
  readonly pool: Pool.WorkerPool<A, B, E>
  readonly fetcher: Fetcher
  readonly settler: Settler
  /** The scope the fetcher, the settler, the heartbeat and the maintenance run in. */
  readonly background: Scope.Closeable
  readonly onShutdown: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>) | undefined
  /** The context the pool was made in, for `onShutdown`: the shutdown runs in a fiber of its own. */
  readonly context: Context.Context<R>
}

export interface Stopping<A> {
  /** Whether the pool still accepts jobs: false from the first `run` on. */
  readonly accepting: () => boolean
  /**
   * Shuts down once, with `policy` (already checked) on top of the pool's
   * own; a later call waits for the first and gets the same report.
   */
  readonly run: (policy: Partial<Shutdown.Policy> | undefined) => Effect.Effect<Shutdown.Report<A>>
}

export const make = <A, B, E, R>(parts: Parts<A, B, E, R>): Stopping<A> => {
  let accepting = true
  const once = Once.make<Shutdown.Report<A>>()
  const context = Once.unmarked(parts.context)
  return {
    accepting: () => accepting,
    run: (policy) =>
      Effect.suspend(() => {
        accepting = false
        const { onShutdown } = parts
        return once.run(
          sequence(parts, policy),
          onShutdown === undefined ? undefined : (report) => deliverReport(onShutdown, report, context)
        )
      })
  }
}

/**
 * The shutdown itself. The pool tells the lease book how each job it held
 * ended (cut off and unstarted ones are released), so once it has drained,
 * only a claim in flight can still hold leases.
 */
const sequence = <A, B, E, R>(
  parts: Parts<A, B, E, R>,
  policy: Partial<Shutdown.Policy> | undefined
): Effect.Effect<Shutdown.Report<A>> =>
  Effect.gen(function*() {
    parts.fetcher.stop()
    // The policy was checked as the pool checks it: it cannot fail here.
    const drained = yield* (policy === undefined ? parts.pool.shutdown() : Effect.orDie(parts.pool.shutdown(policy)))
    // The last endings reach the store within `flushTimeout`, unless it is
    // gone or hangs: then the leases run out and the jobs come back (at least once).
    const flush = Effect.andThen(parts.fetcher.stopped, parts.settler.flush)
    const flushed = yield* Effect.timeout(flush, flushTimeout).pipe(Effect.isSuccess)
    const close = Scope.close(parts.background, Exit.void)
    if (flushed) yield* close
    else yield* Effect.forkDetach(close)
    yield* logReport(parts.queue, drained, flushed)
    return drained
  })

/**
 * Logs how the pool ended. Jobs it gave back (cut off, or never started)
 * are a warning with their ids, so that a deploy's log says which jobs will
 * run elsewhere; so are endings the store was not told (the flush timed
 * out): a job that succeeded here runs again once its lease runs out. A
 * clean end is a debug line.
 */
const logReport = (queue: string, report: Shutdown.Report<unknown>, flushed: boolean): Effect.Effect<void> => {
  const annotations = { queue, ...reportAnnotations(report) }
  if (flushed && !gaveBack(report)) {
    return quietly(Effect.annotateLogs(Effect.logDebug("durable pool shut down"), annotations))
  }
  return quietly(Effect.annotateLogs(Effect.logWarning(`durable pool shut down; ${unfinished(report, flushed)}`), annotations))
}

/** What a shutdown left for the store's leases to settle: jobs given back, endings untold. */
const unfinished = (report: Shutdown.Report<unknown>, flushed: boolean): string => {
  const given = report.interrupted.length + report.abandoned.length
  const jobs = given === 1 ? "1 job" : `${given} jobs`
  if (flushed) return `${jobs} released to the store`
  const untold = `the store was not told how the last jobs ended (it did not answer within ${Duration.format(flushTimeout)}): ` +
    "any it still holds as leased, succeeded ones too, run again once their lease runs out"
  return given === 0 ? untold : `${jobs} back in the store once their lease runs out; ${untold}`
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
