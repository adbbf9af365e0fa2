/**
 * The in-memory pool's options: read once, checked with the vocabulary of
 * `options.ts`, their defaults applied, for `Pool.make` to use as they are.
 *
 * The values it takes from `../Pool.ts` (`PoolConfigError`, the default
 * outcome buffer) are used only when its functions run: `Pool.ts` imports
 * this module, and by then both are defined.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Job from "../Job.ts"
import { defaultOutcomeBuffer, type Options, type OutcomeBuffer, PoolConfigError, type ResolvedOutcomeBuffer } from "../Pool.ts"
import type * as Shutdown from "../Shutdown.ts"
import {
  atMost,
  checked,
  duration,
  effectFunction,
  field,
  type Invalid,
  isFunction,
  isBoolean,
  isInvalid,
  must,
  nonEmptyString,
  oneOf,
  orDefault,
  orRefuse,
  payloadList,
  positive,
  positiveInteger,
  record,
  refuseUnknown,
  reportFunction
} from "./options.ts"
import { defaultResolved, resolve, type Resolved } from "./policy.ts"

/** The options, checked, with their defaults. */
export interface Config<A, B, E, R> {
  readonly workers: number
  readonly capacity: number
  readonly handler: (job: Job.Job<A>) => Effect.Effect<B, E, R>
  readonly jobTimeout: Duration.Duration | undefined
  readonly shutdown: Resolved
  readonly outcomes: ResolvedOutcomeBuffer
  readonly onShutdown: ((report: Shutdown.Report<A>) => Effect.Effect<unknown, unknown, R>) | undefined
  readonly name: string
  readonly metrics: boolean
  readonly jobTimings: boolean
  readonly tracing: boolean
}

/** The name of a pool given none: its metrics' `pool` attribute. */
export const defaultName = "default"

/** A refusal as the typed error every entry point fails with. */
export const configError = ({ option, reason }: Invalid): PoolConfigError => new PoolConfigError({ option, reason })

/**
 * The most workers a pool starts: each is a fiber, started before `make`
 * returns (a few kB each, so a million is gigabytes already); more is a
 * slip (a count of jobs given as `workers`), which would otherwise run the
 * process out of memory rather than be refused.
 */
export const maxWorkers = 1_000_000

/** The options `make` shares with the threaded pool (`Threads.make`), which checks them here too. */
export const sharedOptions = [
  "capacity",
  "jobTimeout",
  "shutdown",
  "outcomes",
  "onShutdown",
  "name",
  "metrics",
  "jobTimings",
  "tracing"
] as const satisfies ReadonlyArray<keyof Options<unknown, unknown, unknown, unknown>>

/** Every option `make` reads. */
const knownOptions: ReadonlySet<string> = new Set(["workers", "handler", ...sharedOptions])

/** What to say of an unknown option that is another pool's, or a likely slip. */
const instead: Readonly<Record<string, string>> = {
  concurrency: " (use `workers`)",
  prefetch: " (the in-memory pool's room for waiting jobs is `capacity`)",
  timeout: " (use `jobTimeout`, or `shutdown.timeout`)",
  threads: " (a pool on threads is `Threads.make`)"
}

/**
 * Checks `Pool.make`'s options. Every field is read once, all before any is
 * checked (a getter could answer differently twice; one that throws is
 * named), and checked in the order they are read.
 */
export const validate = <A, B, E, R>(options: Options<A, B, E, R>): Config<A, B, E, R> | Invalid =>
  checked("options", () => {
    const source = record("options", options)
    const read = (key: keyof Options<A, B, E, R>) => field(source, key, key)
    const workers = read("workers")
    const capacity = read("capacity")
    const handler = read("handler")
    const jobTimeout = read("jobTimeout")
    const shutdown = read("shutdown")
    const outcomes = read("outcomes")
    const onShutdown = read("onShutdown")
    const name = read("name")
    const metrics = read("metrics")
    const jobTimings = read("jobTimings")
    const tracing = read("tracing")
    // After the reads: a getter or trap that throws is named by its field first.
    refuseUnknown(source, knownOptions, "the pool", instead)
    return {
      workers: atMost("workers", positiveInteger("workers", workers), maxWorkers),
      capacity: positiveInteger("capacity", orDefault(capacity, 100)),
      handler: must("handler", handler, isFunction, effectFunction) as Config<A, B, E, R>["handler"],
      jobTimeout: jobTimeout === undefined ? undefined : duration("jobTimeout", jobTimeout, positive),
      shutdown: orRefuse(resolve(defaultResolved, shutdown as Partial<Shutdown.Policy> | undefined)),
      outcomes: orRefuse(resolveBuffer(defaultOutcomeBuffer, outcomes)),
      onShutdown: onShutdown === undefined
        ? undefined
        : must("onShutdown", onShutdown, isFunction, reportFunction) as Config<A, B, E, R>["onShutdown"],
      name: nonEmptyString("name", orDefault(name, defaultName)),
      metrics: must("metrics", orDefault(metrics, true), isBoolean, "true or false"),
      jobTimings: must("jobTimings", orDefault(jobTimings, false), isBoolean, "true or false"),
      tracing: must("tracing", orDefault(tracing, true), isBoolean, "true or false")
    }
  })

const strategies = ["sliding", "dropping"] as const

/** An outcome buffer's fields: any other key is a slip. */
const bufferKeys: ReadonlySet<string> = new Set(["capacity", "strategy"] satisfies ReadonlyArray<keyof OutcomeBuffer>)

/** Applies `buffer` on top of `base`, each field read once and checked (`"outcomes.capacity"`). */
export const resolveBuffer = (base: ResolvedOutcomeBuffer, buffer: unknown): ResolvedOutcomeBuffer | Invalid =>
  buffer === undefined ? base : checked("outcomes", () => {
    const source = record("outcomes", buffer)
    const capacity = field(source, "capacity", "outcomes.capacity")
    const strategy = field(source, "strategy", "outcomes.strategy")
    refuseUnknown(source, bufferKeys, "outcomes", {}, "outcomes")
    return {
      capacity: positiveInteger("outcomes.capacity", orDefault(capacity, base.capacity)),
      strategy: oneOf("outcomes.strategy", orDefault(strategy, base.strategy), strategies)
    }
  })

/**
 * `submitAll`'s payloads (see `payloadList`), or why they cannot be. In a
 * wrapper: the pool tells the two apart by the wrapper, never by looking
 * into the caller's array.
 */
export const payloadsOf = <A>(payloads: Iterable<A>): { readonly items: ReadonlyArray<A> } | Invalid => {
  const items = checked("payloads", () => payloadList(payloads))
  return isInvalid(items) ? items : { items }
}
