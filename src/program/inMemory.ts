/**
 * The run on an in-memory pool: start it, submit jobs 1..N, shut it down,
 * print the report, and return the exit code.
 */
import { Clock, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
import type * as Job from "../Job.ts"
import * as Pool from "../Pool.ts"
import * as Threads from "../Threads.ts"
import * as Dashboard from "../Dashboard.ts"
import { serve as serveDashboard } from "./dashboard.ts"
import type { Config, DashboardSettings } from "./flags.ts"
import { handler, jobLines, silent, type SimulatedFailure } from "./jobs.ts"
import { threadJobUrl } from "./threadJob.ts"
import { isClean, renderReport } from "./report.ts"
import { formatMillis, makeScreen, progressLine, type Screen } from "./screen.ts"
import { ExitCode, type Signals } from "./signals.ts"
import { stopOnSignal, untilStopped } from "./stopping.ts"

/** The demo's pool: its jobs return nothing in memory, and their thread's id on threads. */
type DemoPool = Pool.WorkerPool<number, unknown, SimulatedFailure>

type Mode = "lines" | "progress" | "quiet"

/** `auto` keeps the per-job lines where they are readable or logged to a file. */
export const resolveMode = (config: Config): Mode =>
  config.output !== "auto"
    ? config.output
    : config.jobs <= 50 || !process.stdout.isTTY
    ? "lines"
    : "progress"

/**
 * Submits jobs 1..N with backpressure: `submit` waits while the queue is
 * full. In a span, so that with `--otlp` each job's span is its child.
 */
const submitAll = (pool: DemoPool, jobs: number) =>
  Effect.gen(function*() {
    for (let n = 1; n <= jobs; n++) {
      yield* pool.submit(n, { id: String(n) })
    }
  }).pipe(Effect.withSpan("worker-pool.submit"))

/** Redraws the progress line until interrupted; on a non-terminal, a line a second. */
const showProgress = (pool: DemoPool, screen: Screen, total: number, startedAt: number) => {
  const draw = Effect.gen(function*() {
    const stats = yield* pool.stats
    const now = yield* Clock.currentTimeMillis
    screen.status(progressLine(stats, total, now - startedAt))
  })
  return draw.pipe(Effect.repeat(Schedule.spaced(process.stdout.isTTY ? "100 millis" : "1 second")))
}

/** What the first signal does: stop submitting, then drain or hand back the queue. */
const drainNotice = (config: Config, submitting: boolean): string => {
  const limit = formatMillis(config.drainTimeout)
  if (!submitting) return `already draining; waiting up to ${limit} for the remaining jobs.`
  const queued = config.backlog === "drain" ? "running and queued jobs" : "running jobs, handing back queued ones"
  return `no more jobs are submitted; draining ${queued} (up to ${limit}).`
}

/**
 * A job's line on threads, from its outcome: the thread cannot write the
 * main thread's screen, so the lines tell how each job ended, not when it
 * started.
 */
const outcomeLine = (outcome: Job.Outcome<number, unknown, SimulatedFailure | Job.JobTimeoutError>): string => {
  const n = outcome.job.payload
  switch (outcome._tag) {
    case "Succeeded":
      return `Thread ${outcome.value} finished job ${n}`
    case "Failed":
      return `FAILED job ${n} with ${outcome.error._tag}: ${outcome.error.message}`
    case "Died":
      return `job ${n} DIED: ${String(outcome.defect)}`
    case "Interrupted":
      return `INTERRUPTED job ${n} (drain deadline reached)`
  }
}

/** The pool: `--workers` fibers of this thread, or `--threads` worker threads. */
const makePool = (config: Config, mode: Mode, screen: Screen) => {
  const shutdown = { timeout: config.drainTimeout, backlog: config.backlog }
  if (Option.isNone(config.threads)) {
    return Pool.make({
      workers: config.workers,
      capacity: config.capacity,
      handler: handler(config, mode === "lines" ? jobLines(screen) : silent),
      shutdown
    })
  }
  return Threads.make<number, unknown, SimulatedFailure>({
    handler: threadJobUrl(config),
    threads: config.threads.value,
    capacity: config.capacity,
    shutdown
  })
}

/**
 * Starts the pool, submits the jobs, shuts the pool down and prints the
 * report. A signal stops the submitting; the rest runs either way.
 */
export const runInMemory = (config: Config, signals: Signals, dashboard: DashboardSettings | undefined) =>
  Effect.scoped(Effect.gen(function*() {
    const mode = resolveMode(config)
    const screen = makeScreen(mode === "progress" && process.stdout.isTTY === true)
    const pool: DemoPool = yield* makePool(config, mode, screen)
    if (dashboard !== undefined) yield* serveDashboard(dashboard, [Dashboard.memory("pool", pool)], screen)
    // On threads, the lines come from the outcomes, subscribed to before the first job.
    const lines = Option.isSome(config.threads) && mode === "lines"
      ? yield* Effect.forkChild(Stream.runForEach(
        yield* pool.subscribe(),
        (outcome) => Effect.sync(() => screen.line(outcomeLine(outcome)))
      ))
      : undefined
    let submitting = true
    const stopped = yield* stopOnSignal(signals, screen.line, () => drainNotice(config, submitting))
    const startedAt = yield* Clock.currentTimeMillis
    const progress = mode === "progress"
      ? yield* Effect.forkChild(showProgress(pool, screen, config.jobs, startedAt))
      : undefined

    const submitted = yield* untilStopped(submitAll(pool, config.jobs), stopped)
    submitting = false
    // A signal applies the configured backlog policy. A run that submitted
    // all its jobs wants them done, so it drains the queue (closes it to new
    // jobs and waits for the workers to finish what is in it), still bounded
    // by the drain timeout.
    const report = yield* submitted === "stopped" ? pool.shutdown() : pool.shutdown({ backlog: "drain" })
    signals.settle()
    if (lines !== undefined) yield* Fiber.join(lines)
    if (progress !== undefined) {
      yield* Fiber.interrupt(progress)
      const stats = yield* pool.stats
      screen.line(progressLine(stats, config.jobs, (yield* Clock.currentTimeMillis) - startedAt))
    }
    for (const line of renderReport(report, config.drainTimeout)) screen.line(line)
    // Submitting fails only when the pool refused a job before its shutdown:
    // a bug, to be reported rather than exit 0.
    if (submitted !== "stopped" && Exit.isFailure(submitted)) return yield* Effect.failCause(submitted.cause)
    return isClean(report) ? ExitCode.clean : ExitCode.unfinished
  }))
