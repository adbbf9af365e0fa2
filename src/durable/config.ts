/**
 * The durable pool's options, and the producer's: read once, checked with
 * the vocabulary of `../internal/options.ts`, their defaults applied, for
 * `Durable.make`, `Durable.layer` and `Durable.producer` to use as they are.
 *
 * The one value it takes from `../Durable.ts` (`minimumLease`) is used only
 * when `validate` runs: `Durable.ts` imports this module, and by then it is
 * defined.
 *
 * Internal: not an entry point of the package.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { minimumLease, type Options, type ProducerOptions } from "../Durable.ts"
import {
  checked,
  describe,
  duration,
  effectFunction,
  field,
  type Invalid,
  isBoolean,
  isFunction,
  keepableQueue,
  must,
  nonEmptyString,
  orDefault,
  orRefuse,
  policy,
  positive,
  positiveInteger,
  record,
  refuse,
  refuseUnknown,
  reportFunction,
  timeoutOption,
  zeroOrMore
} from "../internal/options.ts"
import { defaultResolved, resolve, type Resolved } from "../internal/policy.ts"
import { defaultName } from "../internal/poolOptions.ts"
import { maxThreads } from "../internal/threads/config.ts"
import type * as Job from "../Job.ts"
import type * as Shutdown from "../Shutdown.ts"
import * as Threads from "../Threads.ts"
import { engineOf, isOwnOperation } from "./boundary.ts"
import { defaultCommandTimeout, guarded } from "./guard.ts"
import { defaultRetry } from "./retryDelay.ts"
import type { Retention, Store } from "./Store.ts"

/** The checked options of a producer. */
export interface ProducerConfig<A, I> {
  readonly store: Store
  /** The store's engine ("redis"...), for the line the pool logs once it works. */
  readonly engine: string
  readonly queue: string
  readonly schema: Schema.Codec<A, I>
}

/** The options, checked and read once, with their defaults. */
export interface Config<A, I, B, E, R> extends ProducerConfig<A, I> {
  readonly workers: number
  readonly handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>
  readonly maxAttempts: number
  readonly retry: Schedule.Schedule<unknown, unknown>
  readonly retryable: ((error: E | Job.JobTimeoutError) => boolean) | undefined
  readonly lease: Duration.Duration
  readonly pollInterval: Duration.Duration
  readonly prefetch: number
  readonly jobTimeout: Duration.Duration | undefined
  /** As given (read once), for the pool and for `shutdown(policy)` to apply on top. */
  readonly shutdown: Partial<Shutdown.Policy> | undefined
  readonly shutdownResolved: Resolved
  readonly onShutdown: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>) | undefined
  /** How long ended jobs are kept: completed (and cancelled) ones, and dead letters. */
  readonly retention: Retention
  readonly maintenanceInterval: Duration.Duration
  readonly maintenanceBatch: number
  readonly name: string
  readonly metrics: boolean
  readonly jobTimings: boolean
  readonly tracing: boolean
}

/** Every operation a `Store` has, in the order the contract lists them. */
const storeOperations = [
  "offer",
  "claim",
  "complete",
  "retry",
  "bury",
  "release",
  "extend",
  "counts",
  "buried",
  "lookup",
  "redrive",
  "remove",
  "cancel",
  "purge"
] as const satisfies ReadonlyArray<keyof Store>

/** `operation` bound to `source`; one of our stores' needs no `this`, and is kept as it is. */
const boundTo = (operation: unknown, source: object): unknown =>
  isOwnOperation(operation) ? operation : (operation as (...args: ReadonlyArray<unknown>) => unknown).bind(source)

/**
 * `input` as a `Store`: each operation read once and bound to it (a store
 * written as a class keeps its `this`), so that a getter is not run again on
 * every claim. An operation of one of our stores (taken over by the
 * caller's) is kept as it is, for `guard.ts` to know it.
 */
const store = (option: string, input: unknown): Store => {
  const source = record(option, input)
  const operations: Record<string, unknown> = {}
  for (const name of storeOperations) {
    const operation = field(source, name, option)
    if (typeof operation !== "function") {
      refuse(option, `must be a Store (${storeOperations.join(", ")}): its ${name} is ${describe(operation)}`)
    }
    operations[name] = boundTo(operation, source)
  }
  // Optional: a store without `listen` or `due` is polled; one without `upcoming` lists no waiting jobs;
  // one without `pause` and `paused` cannot be paused; one without `cancelWaiting` cancels one job at a time.
  for (const name of ["listen", "due", "upcoming", "pause", "paused", "cancelWaiting"] as const) {
    const operation = field(source, name, option)
    if (operation === undefined) continue
    if (typeof operation !== "function") refuse(option, `must be a Store: its ${name} is ${describe(operation)}`)
    operations[name] = boundTo(operation, source)
  }
  // What the store says of itself (`Store.overlappingClaimsCostly`): read once too, kept only when true.
  if (field(source, "overlappingClaimsCostly", option) === true) operations.overlappingClaimsCostly = true
  // Its bound (`Store.commandTimeout`), checked as an engine's option of that name is.
  operations.commandTimeout = timeoutOption(
    `${option}.commandTimeout`,
    field(source, "commandTimeout", option),
    defaultCommandTimeout
  )
  return operations as unknown as Store
}

/** The checked options of an admin handle: where, and which queue. */
export interface AdminConfig {
  readonly store: Store
  /** The store's engine ("redis"...), for the line the pool logs once it works. */
  readonly engine: string
  readonly queue: string
}

/**
 * Reads and checks `store` and `queue` (a name every store can keep:
 * `keepableQueue`); `contextStore` stands in for an absent `store`.
 */
const queueFields = (source: object, contextStore?: Store): AdminConfig => {
  const given = field(source, "store", "store")
  const chosen = given === undefined && contextStore !== undefined ? contextStore : given
  const engine = engineOf(chosen)
  // Ours answer through the boundary already; any other (from the option or the context) is read
  // and bound as the option is, and held to the same rules as ours (`guard.ts`).
  const checkedStore = engine === "custom" ? guarded(store("store", chosen)) : chosen as Store
  return { store: checkedStore, engine, queue: keepableQueue(field(source, "queue", "queue")) }
}

/** Reads and checks the options a producer shares with a pool; `contextStore` stands in for an absent `store`. */
export const producerFields = <A, I>(source: object, contextStore?: Store): ProducerConfig<A, I> => {
  const where = queueFields(source, contextStore)
  const schema = must("schema", field(source, "schema", "schema"), Schema.isSchema, "a Schema")
  return { ...where, schema: schema as unknown as Schema.Codec<A, I> }
}

/** Checks `Durable.admin`'s options: only `store` and `queue` are read. */
export const validateAdmin = (options: unknown): AdminConfig | Invalid =>
  checked("options", () => queueFields(record("options", options)))

/** Checks `Durable.producer`'s options: only `store`, `queue` and `schema` are read. */
export const validateProducer = <A, I>(options: ProducerOptions<A, I>): ProducerConfig<A, I> | Invalid =>
  checked("options", () => producerFields<A, I>(record("options", options)))

/** Every option `make` reads: any other key is a mistake (a typo would otherwise be ignored). */
const knownOptions: ReadonlySet<string> = new Set([
  "store",
  "queue",
  "schema",
  "workers",
  "handler",
  "maxAttempts",
  "retry",
  "retryable",
  "lease",
  "pollInterval",
  "prefetch",
  "jobTimeout",
  "shutdown",
  "onShutdown",
  "completedRetention",
  "deadLetterRetention",
  "maintenanceInterval",
  "maintenanceBatch",
  "name",
  "metrics",
  "jobTimings",
  "tracing"
] satisfies ReadonlyArray<keyof Options<unknown, unknown, unknown, unknown, unknown>>)

/** What to say of an unknown option that is another pool's, or a likely slip. */
const instead: Readonly<Record<string, string>> = {
  capacity: " (the durable pool's room for claimed jobs is `prefetch`)",
  timeout: " (use `jobTimeout`, or `shutdown.timeout`)",
  maxAttempt: " (did you mean `maxAttempts`?)",
  retries: " (use `maxAttempts` and `retry`)",
  retention: " (use `completedRetention` and `deadLetterRetention`)"
}

/** What `Threads.handler` takes besides its module: the rest of a threaded pool is the durable pool's. */
const threadedOptions: ReadonlySet<string> = new Set(["handler", "transfer", "resourceLimits", "schema", "startTimeout"])

/** What to say of an option given to `Threads.handler` that is the durable pool's. */
const threadedInstead: Readonly<Record<string, string>> = {
  ...Object.fromEntries([...knownOptions].map((option) => [option, " (an option of Durable.make: give it there)"])),
  threads: " (the durable pool's `workers` are its threads)"
}

const aSchedule = "a Schedule (of the delays between attempts)"

/** The `lease` option: finite, and at least `minimumLease`. */
const lease = (input: unknown): Duration.Duration => {
  const decoded = duration("lease", orDefault(input, "30 seconds"), positive)
  if (!Duration.isFinite(decoded)) refuse("lease", "must be finite: a dead process's jobs must come back")
  if (Duration.isLessThan(decoded, minimumLease)) {
    refuse("lease", `must be at least ${Duration.toMillis(minimumLease)} millis, got ${Duration.format(decoded)}`)
  }
  return decoded
}

/**
 * Checks `Durable.make`'s options, in a fixed order that decides which
 * option a bag with several wrong ones names: the producer's, then unknown
 * keys, then the rest.
 */
export const validate = <A, I, B, E, R>(
  options: Options<A, I, B, E, R>,
  contextStore: Store | undefined
): Config<A, I, B, E, R> | Invalid =>
  checked("options", () => {
    const source = record("options", options)
    const read = (key: string) => field(source, key, key)
    const producer = producerFields<A, I>(source, contextStore)
    refuseUnknown(source, knownOptions, "the durable pool", instead)
    const handler = must("handler", read("handler"), isFunction, effectFunction)
    const threaded = Threads.threadedOptions(handler)
    if (threaded !== undefined) refuseUnknown(threaded, threadedOptions, "Threads.handler", threadedInstead, "handler")
    const maxAttempts = positiveInteger("maxAttempts", orDefault(read("maxAttempts"), 5))
    // Before prefetch, which defaults to it: a bad `workers` is named as such.
    const workers = positiveInteger("workers", read("workers"))
    // On threads, `workers` is how many start: each one a thread (see `Threads`' `maxThreads`).
    if (threaded !== undefined && workers > maxThreads) refuse("workers", `must be at most ${maxThreads} on threads, got ${workers}`)
    const prefetch = positiveInteger("prefetch", orDefault(read("prefetch"), workers))
    const retry = must("retry", orDefault(read("retry"), defaultRetry), Schedule.isSchedule, aSchedule)
    const retryableInput = read("retryable")
    const retryable = retryableInput === undefined
      ? undefined
      : must("retryable", retryableInput, isFunction, "a function of a failure returning a boolean")
    const checkedLease = lease(read("lease"))
    const pollInterval = duration("pollInterval", orDefault(read("pollInterval"), "200 millis"), positive)
    const jobTimeoutInput = read("jobTimeout")
    const jobTimeout = jobTimeoutInput === undefined ? undefined : duration("jobTimeout", jobTimeoutInput, positive)
    const shutdown = policy("shutdown", read("shutdown"))
    const shutdownResolved = orRefuse(resolve(defaultResolved, shutdown))
    const onShutdownInput = read("onShutdown")
    const onShutdown = onShutdownInput === undefined
      ? undefined
      : must("onShutdown", onShutdownInput, isFunction, reportFunction)
    const retention: Retention = {
      completed: duration("completedRetention", orDefault(read("completedRetention"), "1 day"), zeroOrMore),
      buried: duration("deadLetterRetention", orDefault(read("deadLetterRetention"), "7 days"), zeroOrMore)
    }
    const maintenanceInterval = duration("maintenanceInterval", orDefault(read("maintenanceInterval"), "1 minute"), positive)
    if (!Duration.isFinite(maintenanceInterval)) refuse("maintenanceInterval", "must be finite")
    const maintenanceBatch = positiveInteger("maintenanceBatch", orDefault(read("maintenanceBatch"), 1000))
    const name = nonEmptyString("name", orDefault(read("name"), defaultName))
    const metrics = must("metrics", orDefault(read("metrics"), true), isBoolean, "true or false")
    const jobTimings = must("jobTimings", orDefault(read("jobTimings"), true), isBoolean, "true or false")
    const tracing = must("tracing", orDefault(read("tracing"), true), isBoolean, "true or false")
    return {
      name,
      metrics,
      jobTimings,
      tracing,
      ...producer,
      retention,
      maintenanceInterval,
      maintenanceBatch,
      workers,
      handler: handler as Config<A, I, B, E, R>["handler"],
      maxAttempts,
      retry: retry as Schedule.Schedule<unknown, unknown>,
      retryable: retryable as Config<A, I, B, E, R>["retryable"],
      lease: checkedLease,
      pollInterval,
      prefetch,
      jobTimeout,
      shutdown,
      shutdownResolved,
      onShutdown: onShutdown as Config<A, I, B, E, R>["onShutdown"]
    }
  })
