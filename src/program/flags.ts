/**
 * The program's flags, what they parse to, and the checks that need more
 * than one flag (the durable queue's flags need `--store`).
 */
import { Cron, Duration, Effect, Option, Result } from "effect"
import { CliError, type Command, Flag } from "effect/cli"
import * as Durable from "../Durable.ts"
import { type ListenAddress, listenAddress } from "./address.ts"
import { isHttpUrl } from "./observe.ts"

export const NAME = "worker-pool"

/** An integer flag with a lower bound, shown in `--help` with its default. */
const intFlag = (name: string, options: {
  readonly min: number
  readonly fallback: number
  readonly metavar: string
  readonly description: string
}) =>
  Flag.Int(name).pipe(
    Flag.filter((n) => n >= options.min, () => `an integer >= ${options.min}`),
    Flag.withMetavar(options.metavar),
    Flag.withDescription(`${options.description} (default ${options.fallback})`)
  )

/** The store URL schemes the program knows; anything else is a bad flag, not a failure to connect. */
const storeSchemes = ["redis", "rediss", "postgres", "postgresql", "memory"]

export const storeScheme = (url: string): string | undefined =>
  /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()

const knownStore = (url: string): boolean => storeSchemes.includes(storeScheme(url) ?? "")

/**
 * The defaults of the flags that only apply with `--store`. Those flags parse
 * to `Option`s so that the program can tell a flag given without `--store`
 * (refused) from one left out.
 */
export const durableDefaults = {
  role: "both",
  queue: "demo",
  lease: 30_000,
  maxAttempts: 3,
  retryDelay: 200,
  delay: 0
} as const

export const flags = {
  workers: intFlag("workers", { min: 1, fallback: 3, metavar: "n", description: "number of workers" }).pipe(
    Flag.withDefault(3)
  ),
  jobs: intFlag("jobs", { min: 0, fallback: 5, metavar: "n", description: "number of jobs to submit" }).pipe(
    Flag.withDefault(5)
  ),
  duration: intFlag("duration", {
    min: 0,
    fallback: 500,
    metavar: "ms",
    description: "how long each job works, in ms"
  }).pipe(Flag.withDefault(500)),
  failureRate: Flag.Finite("failure-rate").pipe(
    Flag.filter((rate) => rate >= 0 && rate <= 1, () => "a number from 0 to 1"),
    Flag.withDefault(0),
    Flag.withMetavar("0..1"),
    Flag.withDescription(
      "fraction of jobs that fail with a typed error, spread evenly: 0.2 fails every 5th job (default 0)"
    )
  ),
  work: Flag.Literals("work", ["sleep", "cpu"]).pipe(
    Flag.withDefault("sleep"),
    Flag.withMetavar("sleep|cpu"),
    Flag.withDescription(
      "what each job does for --duration: wait on a timer (sleep), or compute, keeping its thread busy (cpu) " +
        "(default sleep)"
    )
  ),
  threads: Flag.Int("threads").pipe(
    Flag.filter((n) => n >= 1, () => "an integer >= 1"),
    Flag.optional,
    Flag.withMetavar("n"),
    Flag.withDescription(
      "run the jobs in n worker threads instead of fibers of the main thread; replaces --workers, in memory " +
        "only (with --work cpu, n jobs compute at once, on as many cores) (default: no threads)"
    )
  ),
  capacity: intFlag("capacity", {
    min: 1,
    fallback: 100,
    metavar: "n",
    description: "queue capacity; submitting waits while the queue is full"
  }).pipe(Flag.withDefault(100)),
  drainTimeout: intFlag("drain-timeout", {
    min: 0,
    fallback: 30_000,
    metavar: "ms",
    description: "how long shutdown waits for jobs before interrupting them, in ms; bounds the end of every run"
  }).pipe(Flag.withDefault(30_000)),
  backlog: Flag.Literals("backlog", ["drain", "return"]).pipe(
    Flag.withDefault("drain"),
    Flag.withMetavar("drain|return"),
    Flag.withDescription(
      "on Ctrl-C/SIGTERM/SIGHUP while jobs are still being submitted, run the queued jobs too (drain) or hand them " +
        "back unstarted (return); once all are submitted the run drains them (default drain)"
    )
  ),
  output: Flag.Literals("output", ["auto", "lines", "progress", "quiet"]).pipe(
    Flag.withDefault("auto"),
    Flag.withMetavar("auto|lines|progress|quiet"),
    Flag.withDescription(
      "a line per job, a live progress line, or the report only; auto picks lines for up to 50 jobs " +
        "or when stdout is not a terminal (default auto)"
    )
  ),
  store: Flag.String("store").pipe(
    Flag.filter(knownStore, () => "a store URL: redis://host:port, postgres://user@host:port/db or memory:"),
    Flag.optional,
    Flag.withMetavar("url"),
    Flag.withDescription(
      "keep the jobs in a durable queue: redis://host:port, postgres://user@host:port/db, or memory: " +
        "(in this process) (default: in memory, not durable)"
    )
  ),
  role: Flag.Literals("role", ["both", "producer", "worker"]).pipe(
    Flag.optional,
    Flag.withMetavar("both|producer|worker"),
    Flag.withDescription(
      "with --store: offer the jobs and exit (producer), work the queue until a signal (worker), " +
        "or offer them and work until the queue is empty (default both)"
    )
  ),
  queue: Flag.String("queue").pipe(
    Flag.optional,
    Flag.withMetavar("name"),
    Flag.withDescription("with --store: the queue's name in the store (default demo)")
  ),
  lease: intFlag("lease", {
    // Checked here, not only by the pool, so that a bad lease is a bad flag before any store is tried.
    min: Duration.toMillis(Durable.minimumLease),
    fallback: durableDefaults.lease,
    metavar: "ms",
    description: "with --store: how long a crashed worker's jobs stay taken before another worker gets them, in ms"
  }).pipe(Flag.optional),
  maxAttempts: intFlag("max-attempts", {
    min: 1,
    fallback: durableDefaults.maxAttempts,
    metavar: "n",
    description: "with --store: deliveries of a failing job before it is dead-lettered"
  }).pipe(Flag.optional),
  retryDelay: intFlag("retry-delay", {
    min: 0,
    fallback: durableDefaults.retryDelay,
    metavar: "ms",
    description: "with --store: the wait before a failed job's first retry, in ms; it doubles for each next one"
  }).pipe(Flag.optional),
  cron: Flag.String("cron").pipe(
    Flag.filter((expression) => Result.isSuccess(Cron.parse(expression)), () => "a cron expression of 5 or 6 fields (seconds first)"),
    Flag.optional,
    Flag.withMetavar("expr"),
    Flag.withDescription(
      "with --store: also declare a periodic demo job on the queue, one job per tick of this cron (UTC; " +
        "6 fields for seconds: \"*/5 * * * * *\"), offered until a signal; the run then works until a signal too"
    )
  ),
  dashboard: Flag.String("dashboard").pipe(
    Flag.filter((text) => listenAddress(text) !== undefined, () =>
      "host:port, or a port alone for 127.0.0.1 (a port from 0 to 65535; 0 picks a free one)"),
    Flag.optional,
    Flag.withMetavar("host:port"),
    Flag.withDescription(
      "serve the dashboard of the pool (or queue) on host:port while the run lasts; a port alone binds " +
        "127.0.0.1 (default: no dashboard)"
    )
  ),
  dashboardToken: Flag.String("dashboard-token").pipe(
    Flag.filter((token) => token.length > 0, () => "a non-empty token"),
    Flag.optional,
    Flag.withMetavar("token"),
    Flag.withDescription(
      "with --dashboard: the token its actions (retry, delete, cancel) need (default: a random one, printed " +
        "once in the dashboard's URL)"
    )
  ),
  metrics: Flag.String("metrics").pipe(
    Flag.filter((input) => listenAddress(input) !== undefined, () =>
      "host:port, or a port alone for 127.0.0.1 (a port from 0 to 65535), e.g. 127.0.0.1:9464"),
    Flag.optional,
    Flag.withMetavar("host:port"),
    Flag.withDescription(
      "serve the pool's metrics in Prometheus text at http://host:port/metrics while the program runs (default: not served)"
    )
  ),
  otlp: Flag.String("otlp").pipe(
    Flag.filter(isHttpUrl, () => "an http(s) URL of an OTLP collector, e.g. http://127.0.0.1:4318"),
    Flag.optional,
    Flag.withMetavar("url"),
    Flag.withDescription(
      "send traces (a span per job) and metrics to the OpenTelemetry collector at url, as OTLP JSON " +
        "to url/v1/traces and url/v1/metrics (default: not sent)"
    )
  ),
  delay: intFlag("delay", {
    min: 0,
    fallback: durableDefaults.delay,
    metavar: "ms",
    description: "with --store: offer the jobs to run this many ms from now, by the store's clock"
  }).pipe(Flag.optional)
}

/** The dashboard's settings, when `--dashboard` is given. */
export interface DashboardSettings extends ListenAddress {
  /** The token of `--dashboard-token`; `undefined`: the program makes one and prints it once. */
  readonly token: string | undefined
}

/**
 * The dashboard's settings with `--dashboard`, `undefined` without it. Its
 * token without it, or it on a run that has no pool (a producer's), is a
 * bad flag: it would do nothing.
 */
export const dashboardSettings = (config: Config): Effect.Effect<DashboardSettings | undefined, CliError.ShowHelp> => {
  if (Option.isNone(config.dashboard)) {
    return Option.isSome(config.dashboardToken)
      ? Effect.fail(badFlag("--dashboard-token needs --dashboard"))
      : Effect.succeed(undefined)
  }
  if (Option.isSome(config.store) && Option.getOrUndefined(config.role) === "producer") {
    return Effect.fail(badFlag("--dashboard shows a pool, and --role producer runs none"))
  }
  const address = listenAddress(config.dashboard.value)!
  return Effect.succeed({ ...address, token: Option.getOrUndefined(config.dashboardToken) })
}

/** What the flags parse to. */
export type Config = Command.Command.Config.Infer<typeof flags>

/** The settings of a run on a durable queue, defaults filled in. */
export interface DurableSettings {
  readonly url: string
  readonly role: "both" | "producer" | "worker"
  readonly queue: string
  readonly lease: number
  readonly maxAttempts: number
  readonly retryDelay: number
  /** How long the offered jobs wait in the store before they may run, in ms. */
  readonly delay: number
  /** The cron of the periodic demo job, if one is declared. */
  readonly cron: string | undefined
}

/** The flags that mean something only with `--store`, by their names on the command line. */
const storeOnly = {
  role: "--role",
  queue: "--queue",
  lease: "--lease",
  maxAttempts: "--max-attempts",
  retryDelay: "--retry-delay",
  delay: "--delay",
  cron: "--cron"
} as const

/**
 * The durable settings with `--store`, `undefined` without it; a flag of the
 * durable queue given without `--store` is a bad flag (they would be ignored
 * silently otherwise).
 */
export const durableSettings = (config: Config): Effect.Effect<DurableSettings | undefined, CliError.ShowHelp> => {
  if (Option.isSome(config.store) && Option.isSome(config.threads)) {
    return Effect.fail(badFlag("--threads runs the jobs in memory: it does not go with --store"))
  }
  if (Option.isNone(config.store)) {
    const given = Object.entries(storeOnly).filter(([key]) => Option.isSome<unknown>(config[key as keyof typeof storeOnly]))
    if (given.length === 0) return Effect.succeed(undefined)
    const names = given.map(([, name]) => name).join(", ")
    return Effect.fail(badFlag(`${names} ${given.length === 1 ? "needs" : "need"} --store (a durable queue)`))
  }
  return Effect.succeed({
    url: config.store.value,
    role: Option.getOrElse(config.role, () => durableDefaults.role),
    queue: Option.getOrElse(config.queue, () => durableDefaults.queue),
    lease: Option.getOrElse(config.lease, () => durableDefaults.lease),
    maxAttempts: Option.getOrElse(config.maxAttempts, () => durableDefaults.maxAttempts),
    retryDelay: Option.getOrElse(config.retryDelay, () => durableDefaults.retryDelay),
    delay: Option.getOrElse(config.delay, () => durableDefaults.delay),
    cron: Option.getOrUndefined(config.cron)
  })
}

/** A bad flag found after parsing: shown like the parser's own errors (one line, then the usage; exit 2). */
export const badFlag = (message: string): CliError.ShowHelp =>
  new CliError.ShowHelp({ commandPath: [NAME], errors: [new CliError.ValidationError({ message })] })
