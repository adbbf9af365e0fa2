/**
 * The run on a durable queue (`--store`). `producer` offers the jobs and
 * exits; `worker` works the queue until a signal, then drains; `both` offers
 * them and works until the queue is empty. Jobs a drain cuts off go back to
 * the store for another worker.
 *
 * Its end is bounded: from the moment the work stops, the shutdown, the final
 * counts and closing the store together take at most the drain deadline plus
 * 5 seconds, what the README tells deployers to allow, even when the store
 * hangs (accepts connections, never answers).
 */
import { Clock, DateTime, Effect, Exit, Fiber, Option, Result, Schedule, Schema, Scope } from "effect"
import * as Durable from "../Durable.ts"
import * as Periodic from "../Periodic.ts"
import { type Counts, type Store, StoreError } from "../durable/Store.ts"
import * as Dashboard from "../Dashboard.ts"
import { serve as serveDashboard } from "./dashboard.ts"
import type { Config, DashboardSettings, DurableSettings } from "./flags.ts"
import { bothEvents, handler, jobLines, silent, type SimulatedFailure } from "./jobs.ts"
import { isClean, makeTally, renderDurableReport } from "./report.ts"
import { formatMillis, makeScreen, type Screen } from "./screen.ts"
import { ExitCode, type Signals } from "./signals.ts"
import { stopOnSignal, untilStopped } from "./stopping.ts"

type DemoPool = Durable.DurablePool<number, void, SimulatedFailure>

/** What the durable pool adds to the drain deadline for the last acknowledgements and releases. */
const END_ALLOWANCE_MS = 5_000

/** The URL with its password replaced, fit to print. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password === "") return url
    parsed.password = "***"
    return parsed.toString()
  } catch {
    return url
  }
}

/** Connects to the store. Loaded on demand: only a durable run needs the Redis and PostgreSQL clients. */
const connect = (url: string) =>
  Effect.flatMap(Effect.promise(() => import("../durable/fromUrl.ts")), ({ fromUrl }) => fromUrl(url))

/** A store failure as the program reports it: one line on stderr, naming the store's error. */
const sayStoreFailed = (error: StoreError | Schema.SchemaError) =>
  Effect.sync(() => {
    process.stderr.write(`worker-pool: ${error.message}\n`)
    return ExitCode.unfinished
  })

/** Waits until no job of the queue is ready or leased: all completed or dead-lettered. */
const queueEmptied = (pool: DemoPool) =>
  Effect.repeat(pool.counts, {
    until: (counts) => counts.ready + counts.leased === 0,
    schedule: Schedule.spaced("100 millis")
  })

const stopNotice = (drainTimeout: number, working: boolean): string => {
  const limit = formatMillis(drainTimeout)
  if (!working) return `already draining; waiting up to ${limit} for the remaining jobs.`
  return `no more jobs are taken from the store; the jobs in hand finish (up to ${limit}), and any left go back to it.`
}

/** Milliseconds left until `at`, never below 0. */
const left = (at: number) => Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, at - now))

/**
 * The queue's counts if the store answers by `endBy`; otherwise a note that
 * they were skipped, and the store's failure (a timeout counts as one).
 */
const finalCounts = (pool: DemoPool, queue: string, endBy: number) =>
  Effect.gen(function*() {
    const skipped = (why: string, failure: StoreError) => ({ line: `Queue ${queue}: counts skipped, ${why}.`, failure })
    const noAnswer = skipped(
      "the store did not answer in time",
      new StoreError({ operation: "count the queue", reason: "no answer within the drain deadline + 5 s" })
    )
    const budget = yield* left(endBy)
    if (budget === 0) return noAnswer
    const answer = yield* pool.counts.pipe(Effect.timeoutOption(budget), Effect.result)
    if (Result.isFailure(answer)) return skipped("the store failed", answer.failure)
    return Option.match(answer.success, {
      onNone: () => noAnswer,
      onSome: (counts) => ({ line: countsLine(queue, counts), failure: undefined })
    })
  })

const countsLine = (queue: string, counts: Counts): string =>
  `Queue ${queue}: ${counts.completed} completed, ${counts.buried} dead-lettered, ` +
  `${counts.ready} ready, ${counts.leased} leased.`

/** The worker's first line: it is connected, and to what (without the password), and works. */
const connectedLine = (settings: DurableSettings, workers: number): string =>
  `Connected to the store (${redactUrl(settings.url)}); working queue ${settings.queue} with ${workers} ` +
  `${workers === 1 ? "worker" : "workers"}.`

/** The options of the offered jobs: `--delay`, if given. */
const delayed = (settings: DurableSettings): Durable.JobOptions | undefined =>
  settings.delay > 0 ? { delay: settings.delay } : undefined

/** The name of the program's periodic demo job. */
const periodicName = "demo-tick"

/**
 * Declares the periodic demo job of `--cron`, if given, in the current
 * scope: each tick's payload is the tick's time in seconds, so the job
 * lines say which tick ran.
 */
const declarePeriodic = (store: Store, settings: DurableSettings, screen: Screen) =>
  settings.cron === undefined ? Effect.void : Effect.andThen(
    Periodic.declare({
      store,
      queue: settings.queue,
      schema: Schema.Number,
      name: periodicName,
      cron: settings.cron,
      payload: (tick) => Math.floor(DateTime.toEpochMillis(tick) / 1000)
    }),
    Effect.sync(() =>
      screen.line(`Declared periodic job ${periodicName} on queue ${settings.queue}: a job per tick of "${settings.cron}" (UTC).`)
    )
  )

/** How many jobs one offer carries: `--jobs` may be far more than one array can hold. */
const offerBatch = 10_000

/** Submits jobs 1..`n` with `submitAll`, a batch at a time, in order. */
const submitJobs = <E>(n: number, submitAll: (batch: ReadonlyArray<number>) => Effect.Effect<unknown, E>) =>
  Effect.gen(function*() {
    for (let from = 1; from <= n; from += offerBatch) {
      yield* submitAll(Array.from({ length: Math.min(offerBatch, n - from + 1) }, (_, i) => from + i))
    }
  })

/** Offers jobs 1..N to the queue; with `--cron`, then offers the periodic job's ticks until a signal. */
const produce = (store: Store, config: Config, settings: DurableSettings, signals: Signals, screen: Screen) =>
  Effect.gen(function*() {
    const producer = Durable.producer({ store, queue: settings.queue, schema: Schema.Number })
    yield* submitJobs(config.jobs, (batch) => producer.submitAll(batch, delayed(settings))).pipe(Effect.withSpan("worker-pool.submit"))
    const when = settings.delay > 0 ? `, to run in ${formatMillis(settings.delay)}` : ""
    screen.line(`Offered ${config.jobs} jobs to queue ${settings.queue}${when}.`)
    if (settings.cron === undefined) return ExitCode.clean
    yield* declarePeriodic(store, settings, screen)
    const stopped = yield* stopOnSignal(signals, screen.line, () => "no more ticks are offered.")
    yield* stopped
    signals.settle()
    return ExitCode.clean
  })

/**
 * Works the queue until the work ends (role `both`: the queue is empty) or a
 * signal; then drains, prints the report and the queue's counts, and returns
 * the exit code. `endBy` is set once the work stops: closing the store is
 * bounded by it too.
 */
const work = (
  store: Store,
  config: Config,
  settings: DurableSettings,
  signals: Signals,
  screen: Screen,
  end: { endBy: number },
  dashboard: DashboardSettings | undefined
) =>
  Effect.gen(function*() {
    const tally = makeTally(settings.maxAttempts)
    const lines = config.output === "quiet" ? silent : jobLines(screen)
    const pool: DemoPool = yield* Durable.make({
      store,
      queue: settings.queue,
      schema: Schema.Number,
      workers: config.workers,
      lease: settings.lease,
      maxAttempts: settings.maxAttempts,
      retry: Schedule.exponential(settings.retryDelay),
      handler: handler(config, bothEvents(lines, tally.events)),
      shutdown: { timeout: config.drainTimeout, backlog: config.backlog }
    })
    // Once the pool took its options: a queue it refuses is a bad flag, not a queue worked.
    screen.line(connectedLine(settings, config.workers))
    if (dashboard !== undefined) {
      const periodic = settings.cron === undefined ? [] : [{ name: periodicName, cron: settings.cron }]
      yield* serveDashboard(dashboard, [Dashboard.durable(settings.queue, pool, { periodic })], screen)
    }
    let working = true
    const stopped = yield* stopOnSignal(signals, screen.line, () => stopNotice(config.drainTimeout, working))
    yield* declarePeriodic(store, settings, screen)
    // A periodic job never empties the queue for good: with one, the run works until a signal.
    const untilEmpty = settings.cron === undefined ? queueEmptied(pool) : Effect.never
    const worked = yield* untilStopped(
      settings.role === "worker"
        ? Effect.never
        : Effect.andThen(
          submitJobs(config.jobs, (batch) => pool.submitAll(batch, delayed(settings))).pipe(Effect.withSpan("worker-pool.submit")),
          untilEmpty
        ),
      stopped
    )
    working = false
    end.endBy = (yield* Clock.currentTimeMillis) + config.drainTimeout + END_ALLOWANCE_MS

    const report = yield* pool.shutdown()
    signals.settle()
    const settingsShown = { drainTimeout: config.drainTimeout, maxAttempts: settings.maxAttempts }
    for (const line of renderDurableReport(report, tally, settingsShown)) screen.line(line)
    const counts = yield* finalCounts(pool, settings.queue, end.endBy)
    screen.line(counts.line)

    // The store's first failure is the one reported (and makes the exit code 1).
    if (worked !== "stopped" && Exit.isFailure(worked)) return yield* Effect.failCause(worked.cause)
    if (counts.failure !== undefined) return yield* Effect.fail(counts.failure)
    return isClean(report) ? ExitCode.clean : ExitCode.unfinished
  })

/**
 * The durable run, in a scope of its own whose closing (the store's
 * connection) is waited for only until the end's budget runs out: a store
 * that hangs must not hold the exit.
 */
export const runDurable = (
  config: Config,
  settings: DurableSettings,
  signals: Signals,
  dashboard: DashboardSettings | undefined
) =>
  Effect.gen(function*() {
    const screen = makeScreen(false)
    const scope = yield* Scope.make()
    const end = { endBy: Number.POSITIVE_INFINITY }
    const ran = yield* Effect.exit(Scope.provide(
      Effect.gen(function*() {
        const store = yield* connect(settings.url)
        return settings.role === "producer"
          ? yield* produce(store, config, settings, signals, screen)
          : yield* work(store, config, settings, signals, screen, end, dashboard)
      }),
      scope
    ))
    // A run that ended before its work stopped (a producer, a failed connect)
    // gives the closing the same 5 s as the pool's last acknowledgements.
    if (!Number.isFinite(end.endBy)) end.endBy = (yield* Clock.currentTimeMillis) + END_ALLOWANCE_MS
    const closing = yield* Effect.forkDetach(Scope.close(scope, ran))
    yield* Effect.timeoutOption(Fiber.await(closing), yield* left(end.endBy))
    return yield* ran
  }).pipe(
    Effect.catchTags({ StoreError: sayStoreFailed, SchemaError: sayStoreFailed })
  )
