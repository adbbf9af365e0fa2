/**
 * The runnable program: the seed's "Full Production Pattern" example, done
 * with a `WorkerPool`.
 *
 * By default it starts 3 workers, submits 5 jobs of 500 ms, prints a line
 * when a worker starts, finishes or fails a job, then shuts the pool down and
 * prints the shutdown report. Flags turn it into a tool to try the pool:
 * workers, jobs, job duration, failure rate, queue capacity, drain timeout,
 * backlog policy and output mode (`--help` lists them).
 *
 * Ctrl-C or SIGTERM stops submitting and drains within `--drain-timeout`;
 * a second signal stops at once. Exit codes:
 *
 * - 0: clean drain (jobs failed by `--failure-rate` do not make it unclean)
 * - 1: jobs were interrupted by the drain deadline or handed back unstarted
 * - 2: bad flags
 * - 130: stopped at once by a second signal
 *
 * ```sh
 * npm start -- --workers 8 --jobs 1000 --duration 20 --failure-rate 0.1
 * ```
 *
 * This is the only module that writes to the console: the library logs
 * through Effect's logger, which the program sends to stderr at level Warn.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Clock, Duration, Effect, Exit, Fiber, References, Runtime, Schedule, Schema } from "effect"
import { CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag, type HelpDoc } from "effect/cli"
import { fromUrl } from "./durable/fromUrl.ts"
import * as Durable from "./Durable.ts"
import type * as Job from "./Job.ts"
import * as Pool from "./Pool.ts"
import type * as Shutdown from "./Shutdown.ts"

// -----------------------------------------------------------------------------
// Flags
// -----------------------------------------------------------------------------

const NAME = "worker-pool"

/** An integer flag with a lower bound and a default, both shown in `--help`. */
const intFlag = (name: string, options: {
  readonly min: number
  readonly fallback: number
  readonly metavar: string
  readonly description: string
}) =>
  Flag.Int(name).pipe(
    Flag.filter((n) => n >= options.min, () => `an integer >= ${options.min}`),
    Flag.withDefault(options.fallback),
    Flag.withMetavar(options.metavar),
    Flag.withDescription(`${options.description} (default ${options.fallback})`)
  )

const flags = {
  workers: intFlag("workers", { min: 1, fallback: 3, metavar: "n", description: "number of workers" }),
  jobs: intFlag("jobs", { min: 0, fallback: 5, metavar: "n", description: "number of jobs to submit" }),
  duration: intFlag("duration", {
    min: 0,
    fallback: 500,
    metavar: "ms",
    description: "how long each job works, in ms"
  }),
  failureRate: Flag.Finite("failure-rate").pipe(
    Flag.filter((rate) => rate >= 0 && rate <= 1, () => "a number from 0 to 1"),
    Flag.withDefault(0),
    Flag.withMetavar("0..1"),
    Flag.withDescription(
      "fraction of jobs that fail with a typed error, spread evenly: 0.2 fails every 5th job (default 0)"
    )
  ),
  capacity: intFlag("capacity", {
    min: 1,
    fallback: 100,
    metavar: "n",
    description: "queue capacity; submitting waits while the queue is full"
  }),
  drainTimeout: intFlag("drain-timeout", {
    min: 0,
    fallback: 30_000,
    metavar: "ms",
    description: "how long shutdown waits for jobs before interrupting them, in ms; bounds the end of every run"
  }),
  backlog: Flag.Literals("backlog", ["drain", "return"]).pipe(
    Flag.withDefault("drain"),
    Flag.withMetavar("drain|return"),
    Flag.withDescription(
      "on Ctrl-C/SIGTERM while jobs are still being submitted, run the queued jobs too (drain) or hand them " +
        "back unstarted (return); once all are submitted the run drains them (default drain)"
    )
  ),
  store: Flag.String("store").pipe(
    Flag.withDefault(""),
    Flag.withMetavar("url"),
    Flag.withDescription(
      "keep the jobs in a durable queue: redis://host:port or postgres://user@host:port/db (default: in memory)"
    )
  ),
  role: Flag.Literals("role", ["both", "producer", "worker"]).pipe(
    Flag.withDefault("both"),
    Flag.withMetavar("both|producer|worker"),
    Flag.withDescription(
      "with --store: offer the jobs and exit (producer), work the queue until a signal (worker), " +
        "or offer them and work until the queue is empty (default both)"
    )
  ),
  queue: Flag.String("queue").pipe(
    Flag.withDefault("demo"),
    Flag.withMetavar("name"),
    Flag.withDescription("with --store: the queue's name in the store (default demo)")
  ),
  lease: intFlag("lease", {
    min: 1,
    fallback: 30_000,
    metavar: "ms",
    description: "with --store: how long a crashed worker's jobs stay taken before another worker gets them, in ms"
  }),
  output: Flag.Literals("output", ["auto", "lines", "progress", "quiet"]).pipe(
    Flag.withDefault("auto"),
    Flag.withMetavar("auto|lines|progress|quiet"),
    Flag.withDescription(
      "a line per job, a live progress line, or the report only; auto picks lines for up to 50 jobs " +
        "or when stdout is not a terminal (default auto)"
    )
  )
}

/** What the flags parse to. */
type Config = Command.Command.Config.Infer<typeof flags>

// -----------------------------------------------------------------------------
// Output
// -----------------------------------------------------------------------------

/**
 * stdout, with room for one status line redrawn in place. A permanent line
 * first erases the status line, so that it does not end up mid-screen; the
 * next tick draws it again below.
 */
interface Screen {
  readonly line: (text: string) => void
  readonly status: (text: string) => void
}

const makeScreen = (live: boolean): Screen => {
  let statusShown = false
  const erase = () => {
    if (statusShown) process.stdout.write("\r\x1b[2K")
    statusShown = false
  }
  return {
    line: (text) => {
      erase()
      process.stdout.write(`${text}\n`)
    },
    status: (text) => {
      if (!live) return void process.stdout.write(`${text}\n`)
      erase()
      process.stdout.write(text)
      statusShown = true
    }
  }
}

type Mode = "lines" | "progress" | "quiet"

/** `auto` keeps the seed's per-job lines where they are readable or logged to a file. */
const resolveMode = (config: Config): Mode =>
  config.output !== "auto"
    ? config.output
    : config.jobs <= 50 || !process.stdout.isTTY
    ? "lines"
    : "progress"

/** What a worker tells about the job it runs. Only the `lines` mode prints it. */
interface JobEvents {
  readonly started: (worker: number, job: number) => void
  readonly finished: (worker: number, job: number) => void
  readonly failed: (worker: number, job: number, error: SimulatedFailure) => void
  readonly interrupted: (worker: number, job: number) => void
}

const silent: JobEvents = { started() {}, finished() {}, failed() {}, interrupted() {} }

const jobLines = (screen: Screen): JobEvents => ({
  started: (worker, job) => screen.line(`Worker ${worker} started job ${job}`),
  finished: (worker, job) => screen.line(`Worker ${worker} finished job ${job}`),
  failed: (worker, job, error) =>
    screen.line(`Worker ${worker} FAILED job ${job} with ${error._tag}: ${error.message}`),
  interrupted: (worker, job) => screen.line(`Worker ${worker} INTERRUPTED job ${job} (drain deadline reached)`)
})

const formatMillis = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : `${Number((ms / 1000).toFixed(2))} s`

/** The live progress line: done/failed/queued/active and the throughput so far. */
const progressLine = (stats: Pool.Stats, total: number, elapsedMs: number): string => {
  const done = stats.succeeded + stats.failed + stats.died
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
  return `done ${done}/${total}  failed ${stats.failed + stats.died}  queued ${stats.queued}  ` +
    `active ${stats.active}  ${rate.toFixed(1)} jobs/s`
}

/** Redraws the progress line until interrupted; on a non-terminal, a line a second. */
const showProgress = (
  pool: Pool.WorkerPool<number, void, SimulatedFailure>,
  screen: Screen,
  total: number,
  startedAt: number
) => {
  const draw = Effect.gen(function*() {
    const stats = yield* pool.stats
    const now = yield* Clock.currentTimeMillis
    screen.status(progressLine(stats, total, now - startedAt))
  })
  return draw.pipe(Effect.repeat(Schedule.spaced(process.stdout.isTTY ? "100 millis" : "1 second")))
}

const listIds = (jobs: ReadonlyArray<Job.Job<number>>): string => {
  if (jobs.length === 0) return ""
  const shown = [...jobs].sort((a, b) => a.payload - b.payload).slice(0, 10).map((job) => job.id).join(", ")
  const more = jobs.length > 10 ? `, ... (${jobs.length - 10} more)` : ""
  return `${jobs.length === 1 ? "job" : "jobs"} ${shown}${more}`
}

/** The report as a small table, then one line that says whether the drain was clean. */
const renderReport = (report: Shutdown.Report<number>, config: Config): Array<string> => {
  const rows: Array<readonly [string, number, string]> = [
    ["succeeded", report.succeeded, ""],
    ["failed", report.failed, report.failed > 0 ? "on purpose (--failure-rate)" : ""],
    ["died", report.died, ""],
    ["cancelled", report.cancelled, ""],
    ["interrupted", report.interrupted.length, listIds(report.interrupted)],
    ["abandoned", report.abandoned.length, listIds(report.abandoned)]
  ]
  const deadline = report.timedOut
    ? `deadline of ${formatMillis(config.drainTimeout)} reached`
    : `within the ${formatMillis(config.drainTimeout)} allowed`
  const unfinished = report.interrupted.length + report.abandoned.length
  return [
    "",
    "Shutdown report",
    `  ${"outcome".padEnd(12)} ${"jobs".padStart(6)}  ids`,
    ...rows.map(([name, count, note]) => `  ${name.padEnd(12)} ${String(count).padStart(6)}  ${note}`.trimEnd()),
    `  drain took ${formatMillis(Duration.toMillis(report.elapsed))}, ${deadline}`,
    unfinished === 0
      ? "Shutdown complete: all workers finished."
      : `Shutdown incomplete: ${report.interrupted.length} interrupted, ${report.abandoned.length} abandoned.`
  ]
}

// -----------------------------------------------------------------------------
// The jobs
// -----------------------------------------------------------------------------

/** The typed error of a job that `--failure-rate` picked to fail. */
class SimulatedFailure extends Schema.TaggedError<SimulatedFailure>()("SimulatedFailure", {
  job: Schema.Number
}) {
  override get message(): string {
    return `job ${this.job} was picked to fail by --failure-rate`
  }
}

/**
 * Whether job `n` (1-based) fails. Deterministic and evenly spread: the
 * failures are the jobs where `n * rate` crosses an integer, so any `N`
 * consecutive jobs hold `N * rate` failures, give or take one. The epsilon
 * keeps 0.1 * 10 from landing just below 1.
 */
const failsOnPurpose = (n: number, rate: number): boolean =>
  Math.floor(n * rate + 1e-9) > Math.floor((n - 1) * rate + 1e-9)

/** The seed's job: report the start, work for a while, report the end. */
const handler = (config: Config, events: JobEvents) => (job: Job.Job<number>) =>
  Effect.gen(function*() {
    const worker = yield* Pool.WorkerId
    const n = job.payload
    const work = Effect.gen(function*() {
      events.started(worker, n)
      yield* Effect.sleep(config.duration)
      if (failsOnPurpose(n, config.failureRate)) {
        const error = new SimulatedFailure({ job: n })
        events.failed(worker, n, error)
        return yield* error
      }
      events.finished(worker, n)
    })
    yield* Effect.onInterrupt(work, () => Effect.sync(() => events.interrupted(worker, n)))
  })

// -----------------------------------------------------------------------------
// Signals and exit codes
// -----------------------------------------------------------------------------

/**
 * The exit code the program decided on, read by `teardown`. It lives outside
 * the main fiber because a signal ends that fiber interrupted, whatever the
 * drain concluded, and runMain's default teardown would turn that into 130.
 */
const decided: { code: number | undefined } = { code: undefined }

/**
 * Where the run is, so that the first signal can say what it does: submitting
 * to the in-memory pool, working a durable queue, or already draining.
 */
type Phase = "submitting" | "working" | "draining"

/**
 * runMain interrupts the main fiber on every SIGINT/SIGTERM, which starts the
 * drain on the first one. This listener adds what runMain cannot do: tell the
 * operator what is happening, and stop at once on the second signal (the
 * drain itself is uninterruptible, as it should be).
 */
const watchSignals = (screen: Screen, config: Config, phase: () => Phase) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let received = 0
      const onSignal = (signal: NodeJS.Signals) => {
        received += 1
        if (received === 1) {
          screen.line(`${signal} received: ${drainNotice(config, phase())} Signal again to stop at once.`)
        } else {
          screen.line(`${signal} received again: stopping at once, without waiting for jobs.`)
          process.exit(130)
        }
      }
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
      return onSignal
    }),
    (onSignal) =>
      Effect.sync(() => {
        process.off("SIGINT", onSignal)
        process.off("SIGTERM", onSignal)
      })
  )

const drainNotice = (config: Config, phase: Phase): string => {
  const limit = formatMillis(config.drainTimeout)
  if (phase === "draining") return `already draining; waiting up to ${limit} for the remaining jobs.`
  if (phase === "working") {
    return `no more jobs are taken from the store; the jobs in hand finish (up to ${limit}), and any left go back to it.`
  }
  const queued = config.backlog === "drain" ? "running and queued jobs" : "running jobs, handing back queued ones"
  return `no more jobs are submitted; draining ${queued} (up to ${limit}).`
}

/**
 * Exit codes: the one the program decided on; 2 for bad flags; otherwise
 * runMain's default (130 when interrupted before the pool ran, 1 on failure).
 */
const teardown: Runtime.Teardown = (exit, onExit) => {
  if (decided.code !== undefined) return onExit(decided.code)
  if (Exit.isFailure(exit) && isUsageError(Cause.squash(exit.cause))) return onExit(2)
  return Runtime.defaultTeardown(exit, onExit)
}

const isUsageError = (error: unknown): boolean =>
  CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length > 0

// -----------------------------------------------------------------------------
// The run
// -----------------------------------------------------------------------------

/** Submits jobs 1..N with backpressure: `submit` waits while the queue is full. */
const submitAll = (pool: Pool.WorkerPool<number, void, SimulatedFailure>, jobs: number) =>
  Effect.gen(function*() {
    for (let n = 1; n <= jobs; n++) {
      yield* pool.submit(n, { id: String(n) })
    }
  })

/**
 * Starts the pool, submits the jobs, shuts the pool down and prints the
 * report. Only the submitting is interruptible: a signal stops it, and the
 * rest (shutdown, report, exit code) runs either way.
 */
const run = (config: Config) =>
  Effect.scoped(Effect.gen(function*() {
    const mode = resolveMode(config)
    const screen = makeScreen(mode === "progress" && process.stdout.isTTY === true)
    const pool = yield* Pool.make({
      workers: config.workers,
      capacity: config.capacity,
      handler: handler(config, mode === "lines" ? jobLines(screen) : silent),
      shutdown: { timeout: config.drainTimeout, backlog: config.backlog }
    })
    let phase: Phase = "submitting"
    yield* watchSignals(screen, config, () => phase)
    const startedAt = yield* Clock.currentTimeMillis
    const progress = mode === "progress"
      ? yield* Effect.forkChild(showProgress(pool, screen, config.jobs, startedAt))
      : undefined

    yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const submitted = yield* Effect.exit(restore(submitAll(pool, config.jobs)))
        // runMain's listener interrupts the submitting before ours reads the
        // phase, so the phase moves on only when the submitting completed.
        if (Exit.isSuccess(submitted)) phase = "draining"
        // A signal applies the configured backlog policy. A run that submitted
        // all its jobs wants them done, so it drains the queue (the seed's
        // `close(jobs); wg.Wait()`), still bounded by the drain timeout.
        const report = yield* Exit.hasInterrupts(submitted)
          ? pool.shutdown()
          : pool.shutdown({ backlog: "drain" })
        if (progress !== undefined) {
          yield* Fiber.interrupt(progress)
          const stats = yield* pool.stats
          screen.line(progressLine(stats, config.jobs, (yield* Clock.currentTimeMillis) - startedAt))
        }
        for (const line of renderReport(report, config)) screen.line(line)
        // Submitting fails only when the pool refused a job before its
        // shutdown: a bug, to be reported rather than exit 0.
        if (Exit.isFailure(submitted) && !Cause.hasInterruptsOnly(submitted.cause)) {
          return yield* Effect.failCause(submitted.cause)
        }
        decided.code = report.interrupted.length + report.abandoned.length === 0 ? 0 : 1
      })
    )
  })).pipe(Effect.catchTag("PoolConfigError", badFlag))

/**
 * The flags' own checks refuse what the pool would; should one ever let
 * something through, it is still a bad flag (exit 2), not a crash.
 */
const badFlag = (error: Pool.PoolConfigError) =>
  Effect.fail(
    new CliError.ShowHelp({
      commandPath: [NAME],
      errors: [new CliError.ValidationError({ message: error.message })]
    })
  )

// -----------------------------------------------------------------------------
// The run on a durable queue
// -----------------------------------------------------------------------------

/** Waits until no job of the queue is ready or leased: all completed or dead-lettered. */
const queueEmptied = (pool: Durable.DurablePool<number, void, SimulatedFailure>) =>
  Effect.repeat(pool.counts, {
    until: (counts) => counts.ready + counts.leased === 0,
    schedule: Schedule.spaced("100 millis")
  })

/**
 * The same demo on a durable queue. `producer` offers the jobs and exits;
 * `worker` works the queue until a signal, then drains; `both` offers them
 * and works until the queue is empty. Jobs a drain cuts off go back to the
 * store for another worker.
 */
const runDurable = (config: Config) =>
  Effect.scoped(Effect.gen(function*() {
    const screen = makeScreen(false)
    const store = yield* fromUrl(config.store)
    const jobs = Array.from({ length: config.jobs }, (_, i) => i + 1)
    if (config.role === "producer") {
      const producer = Durable.producer({ store, queue: config.queue, schema: Schema.Number })
      yield* producer.submitAll(jobs)
      screen.line(`Offered ${jobs.length} jobs to queue ${config.queue}.`)
      decided.code = 0
      return
    }
    const pool = yield* Durable.make({
      store,
      queue: config.queue,
      schema: Schema.Number,
      workers: config.workers,
      lease: config.lease,
      maxAttempts: 3,
      retry: Schedule.exponential("200 millis"),
      handler: handler(config, resolveMode(config) === "quiet" ? silent : jobLines(screen)),
      shutdown: { timeout: config.drainTimeout, backlog: config.backlog }
    })
    let phase: Phase = "working"
    yield* watchSignals(screen, config, () => phase)
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const worked = config.role === "worker"
          ? restore(Effect.never)
          : restore(Effect.andThen(pool.submitAll(jobs), queueEmptied(pool)))
        const ended = yield* Effect.exit(worked)
        // As in `run`: the phase moves on only when the work ended by itself.
        if (Exit.isSuccess(ended)) phase = "draining"
        const report = yield* pool.shutdown()
        for (const line of renderReport(report, config)) screen.line(line)
        const counts = yield* pool.counts
        screen.line(
          `Queue ${config.queue}: ${counts.completed} completed, ${counts.buried} dead-lettered, ` +
            `${counts.ready} ready, ${counts.leased} leased.`
        )
        if (Exit.isFailure(ended) && !Cause.hasInterruptsOnly(ended.cause)) return yield* Effect.failCause(ended.cause)
        decided.code = report.interrupted.length + report.abandoned.length === 0 ? 0 : 1
      })
    )
  })).pipe(
    Effect.catchTag("PoolConfigError", badFlag),
    // The store unreachable (at start, or for a producer's offer): say so in one line, exit 1.
    Effect.catchTags({
      StoreError: (error) => cannot(error.message),
      SchemaError: (error) => cannot(error.message)
    })
  )

const cannot = (message: string) =>
  Effect.sync(() => {
    process.stderr.write(`${NAME}: ${message}\n`)
    decided.code = 1
  })

// -----------------------------------------------------------------------------
// Bad flags
// -----------------------------------------------------------------------------

/**
 * Presents bad flags as a short message on stderr: what is wrong, one line
 * per problem, then the usage. The full help stays behind `--help`.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.sync(() => {
        const problems = event.errors.map((error) => `${NAME}: ${error.message}`)
        const hint = `Run '${NAME} --help' for details.`
        process.stderr.write(`${[...problems, usage(event.helpDoc), hint].join("\n")}\n`)
      })
      : CliOutput.defaultPresenter.present(event)
}

const usage = (doc: HelpDoc.HelpDoc): string =>
  `Usage: ${NAME} ${doc.flags.map((flag) => `[--${flag.name} ${flag.type}]`).join(" ")}`

// -----------------------------------------------------------------------------
// Main
// -----------------------------------------------------------------------------

const command = Command.make(NAME, flags, (config) => config.store === "" ? run(config) : runDurable(config)).pipe(
  Command.withDescription(
    "Runs jobs on an effect-worker-pool: N workers, a bounded queue, per-job lines and a shutdown report. " +
      "Ctrl-C or SIGTERM drains within --drain-timeout; a second signal stops at once. " +
      "Exit code 0 after a clean drain, 1 when jobs were interrupted or abandoned, 2 for bad flags, " +
      "130 when stopped by a second signal (or by a signal before the pool started)."
  )
)

// A closed pipe (`npm start | head`) must not crash the drain; the exit code
// still tells how it went.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
})

Command.run(command, { version: "0.1.0" }).pipe(
  Effect.provideService(CliOutput.Presenter, presenter),
  // --wizard and --completions make no sense for a demo that runs and exits.
  Effect.provideService(
    CliConfig.CliConfig,
    CliConfig.make({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.LogLevel] })
  ),
  // The library logs through Effect; its warnings (a drain deadline reached)
  // go to stderr so that stdout stays the program's own output. --log-level
  // overrides the minimum.
  Effect.provideService(References.MinimumLogLevel, "Warn"),
  Effect.provideService(References.LogToStderr, true),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown })
)
