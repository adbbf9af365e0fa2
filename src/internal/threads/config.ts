/**
 * A threaded pool's own options, checked with the vocabulary of
 * `../options.ts`: the handler module, how many threads, what to transfer,
 * the threads' resource limits. The options it shares with the in-memory
 * pool are checked by `../poolOptions.ts`, before any thread starts.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as Os from "node:os"
import type * as WorkerThreads from "node:worker_threads"
import type { Options } from "../../Threads.ts"
import { sharedOptions } from "../poolOptions.ts"
import {
  atMost,
  checked,
  field,
  type Invalid,
  isFunction,
  must,
  orDefault,
  positiveInteger,
  record,
  refuse,
  refuseUnknown,
  timeoutOption
} from "../options.ts"
import * as Thread from "./thread.ts"
import { failureSchema, type Schemas } from "./codec.ts"

/** The threaded pool's own options, checked, with their defaults. */
export interface ThreadConfig<A> {
  readonly module: URL
  readonly threads: number
  readonly transfer: ((payload: A) => Iterable<unknown>) | undefined
  readonly resourceLimits: WorkerThreads.ResourceLimits | undefined
  readonly schemas: Schemas
  readonly startTimeout: Duration.Duration
  /** The options shared with the in-memory pool, as read once (checked by its `validate`). */
  readonly shared: Readonly<Record<(typeof sharedOptions)[number], unknown>>
}

/** The handler module as a URL: a `URL`, or a string that parses as one (`file:` for a path). */
const moduleUrl = (input: unknown): URL => {
  // A copy, made here: a Proxy over a URL passes `instanceof` and throws where it is read.
  if (input instanceof URL) return new URL(field(input, "href", "handler") as string)
  if (typeof input !== "string") return refuse("handler", "must be the URL of a module exporting handler")
  try {
    return new URL(input)
  } catch {
    return refuse("handler", `must be the URL of a module (new URL("./jobs.ts", import.meta.url)), got "${input}"`)
  }
}

const limits = ["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"] as const

const knownLimits: ReadonlySet<string> = new Set(limits)

/**
 * The least old generation a thread may be given, in megabytes. At 1 or 2,
 * V8 runs out of memory while the thread deserializes its start-up
 * snapshot, which aborts the whole process, not the thread; from 3 to
 * about 19 the thread fails to start (ERR_WORKER_OUT_OF_MEMORY), cleanly.
 */
export const minOldGenerationSizeMb = 16

/** `resourceLimits`: each field, when given, a positive integer (megabytes); the old generation at least `minOldGenerationSizeMb`. */
const resourceLimits = (input: unknown): WorkerThreads.ResourceLimits | undefined => {
  if (input === undefined) return undefined
  const source = record("resourceLimits", input)
  const result: Record<string, number> = {}
  for (const key of limits) {
    const value = field(source, key, `resourceLimits.${key}`)
    if (value !== undefined) result[key] = positiveInteger(`resourceLimits.${key}`, value)
  }
  // A slip (`maxOldSpaceSizeMb`) would otherwise leave the thread unbounded without a word.
  refuseUnknown(source, knownLimits, "resourceLimits", {}, "resourceLimits")
  const old = result.maxOldGenerationSizeMb
  if (old !== undefined && old < minOldGenerationSizeMb) {
    refuse("resourceLimits.maxOldGenerationSizeMb", `must be at least ${minOldGenerationSizeMb}: less aborts the process or fails the thread's start, got ${old}`)
  }
  return result
}

/** `schema`: absent, or a record whose `payload`, `success` and `failure` are schemas when present. */
const schemas = (input: unknown): Schemas => {
  if (input === undefined) return {}
  const source = record("schema", input)
  const one = (key: "payload" | "success" | "failure"): Schema.Top | undefined => {
    const value = field(source, key, `schema.${key}`)
    return value === undefined ? undefined : must(`schema.${key}`, value, Schema.isSchema, "a Schema")
  }
  return { payload: one("payload"), success: one("success"), failure: failureSchema(one("failure")) }
}

/** Every option `Threads.make` reads: its own, and those it shares with the in-memory pool. */
const knownOptions: ReadonlySet<string> = new Set([
  ...(["handler", "threads", "transfer", "resourceLimits", "schema", "startTimeout"] satisfies ReadonlyArray<keyof Options<unknown, unknown, unknown>>),
  ...(sharedOptions satisfies ReadonlyArray<keyof Options<unknown, unknown, unknown>>)
])

/** What to say of an unknown option that is another pool's, or a likely slip. */
const instead: Readonly<Record<string, string>> = {
  workers: " (a threaded pool's size is `threads`)",
  timeout: " (use `jobTimeout`, or `shutdown.timeout`)"
}

/**
 * Checks the threaded pool's own options, and that it was given no other
 * than those it shares; `threads` defaults to the machine's available
 * parallelism.
 */
export const validate = <A>(options: unknown): ThreadConfig<A> | Invalid =>
  checked("options", () => {
    const source = record("options", options)
    const handler = field(source, "handler", "handler")
    const threads = field(source, "threads", "threads")
    const transfer = field(source, "transfer", "transfer")
    const limitsInput = field(source, "resourceLimits", "resourceLimits")
    const schemaInput = field(source, "schema", "schema")
    const startTimeout = field(source, "startTimeout", "startTimeout")
    // Read once here, where a getter that throws is named: the in-memory pool's check reads this copy.
    const shared = Object.fromEntries(sharedOptions.map((key) => [key, field(source, key, key)])) as ThreadConfig<A>["shared"]
    refuseUnknown(source, knownOptions, "the threaded pool", instead)
    return {
      module: moduleUrl(handler),
      threads: atMost("threads", positiveInteger("threads", orDefault(threads, Os.availableParallelism())), maxThreads),
      transfer: transfer === undefined
        ? undefined
        : must("transfer", transfer, isFunction, "a function of the payload returning its transferables") as
          ThreadConfig<A>["transfer"],
      resourceLimits: resourceLimits(limitsInput),
      schemas: schemas(schemaInput),
      startTimeout: timeoutOption("startTimeout", startTimeout, Thread.defaultStartTimeout),
      shared
    }
  })

/**
 * The most threads a pool starts: each is a V8 isolate of its own, with
 * its own heap (tens of MB) and a copy of the module; more than this is a
 * slip (a count of jobs given as `threads`), and far more would fail with
 * a defect of the runtime rather than a refusal.
 */
export const maxThreads = 1024

