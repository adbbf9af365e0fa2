/**
 * How the in-memory pool shuts down: the drain protocol (`drain.ts`) over
 * the pool's state, run once whoever asks (`once.ts`), then `onShutdown`;
 * and the shutdown its scope's closing runs, whose report is logged.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Shutdown from "../Shutdown.ts"
import * as Admission from "./admission.ts"
import * as Delayed from "./delayed.ts"
import * as Drain from "./drain.ts"
import { effectOrDie } from "./userEffect.ts"
import * as Ledger from "./ledger.ts"
import * as Once from "./once.ts"
import { quietly } from "./quietly.ts"
import { gaveBack, reportAnnotations } from "./reportLog.ts"
import type { Resolved } from "./policy.ts"
import type { PoolState } from "./state.ts"

export interface PoolShutdown<A> {
  /** Shuts the pool down under `policy`, once: a later call waits for the first and gets its report. */
  readonly run: (policy: Resolved) => Effect.Effect<Shutdown.Report<A>>
  /** Whether a shutdown has begun. */
  readonly started: () => boolean
}

/** The pool's side of the drain protocol: each step is one of its modules'. */
const drainable = <A, B, E, R>(state: PoolState<A, B, E, R>): Drain.Drainable<A> => ({
  stopAccepting: () => Admission.stopAccepting(state),
  takeNotDue: Effect.sync(() => Ledger.abandon(state, Delayed.takeNotDue(state))),
  takeBacklog: Effect.sync(() => Ledger.abandonBacklog(state)),
  closeQueue: state.backlog.end,
  awaitWorkers: Fiber.awaitAll(state.places),
  interruptWorkers: Fiber.interruptAll(state.places),
  close: () => Ledger.close(state)
})

/**
 * The shutdown of the pool of `state`. It runs in a fiber of its own, with
 * `context`, the context the pool was made in (`onShutdown` needs its `R`).
 */
export const make = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  onShutdown: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>) | undefined,
  context: Context.Context<R>
): PoolShutdown<A> => {
  const once = Once.make<Shutdown.Report<A>>()
  const pool = drainable(state)
  const own = Once.unmarked(context)
  const run = (policy: Resolved) =>
    once.run(
      Effect.provideContext(Drain.drain(pool, policy), own),
      onShutdown === undefined ? undefined : (report) => Effect.provideContext(notify(onShutdown, report), own)
    )
  return { run, started: once.started }
}

/** Hands the report to `onShutdown`, whose failure, defect or odd return value changes nothing. */
const notify = <A, R>(
  onShutdown: (report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>,
  report: Shutdown.Report<A>
): Effect.Effect<void, never, R> =>
  Effect.suspend(() => effectOrDie<unknown, unknown, R>(onShutdown(report), "onShutdown")).pipe(
    Effect.catchCause((cause) => quietly(Effect.logWarning("onShutdown failed; the shutdown goes on", cause))),
    Effect.asVoid
  )

/**
 * The shutdown run when the pool's scope closes (`shutdown`, with the pool's
 * own policy). Nobody receives its report (unless a shutdown was asked for
 * before, and then its caller already had it), so it is logged: the ids of
 * the jobs that did not complete are fields of the log line, not only a
 * count in a sentence.
 */
export const onRelease = <A>(
  poolShutdown: PoolShutdown<A>,
  shutdown: Effect.Effect<Shutdown.Report<A>>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const begunHere = !poolShutdown.started()
    return Effect.flatMap(shutdown, (report) => begunHere ? logReport(report) : Effect.void)
  })

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
