/**
 * What crosses between the pool and a thread, on top of Effect's worker
 * protocol (`effect/workers`): one job out, one reply back. A thread runs
 * one job at a time, so a reply needs no id. Tuples, not records: they are
 * cloned once per job each way, and a tuple clones faster.
 *
 * @internal
 */

/** What the pool tells a thread when it starts it (`workerData`). */
export interface ThreadData {
  /** The handler module, as a URL string. */
  readonly module: string
}

/** One job: its id, payload (encoded by the payload schema, if any), attempt, and timeout in milliseconds. */
export type Request = readonly [id: string, payload: unknown, attempt: number, timeout: number | undefined]

/** The handler returned `value` (encoded by the success schema, if any). */
export const SUCCEEDED = 0
/** The handler failed with its own `error` (encoded by the failure schema, if any). */
export const FAILED = 1
/** The handler threw or died with `defect`. */
export const DIED = 2
/** The handler interrupted itself. */
export const INTERRUPTED = 3

/**
 * How the job ended in the thread. An error or defect that is an `Error`
 * comes with `fields`: see `portable`.
 */
export type Reply =
  | readonly [typeof SUCCEEDED, value: unknown]
  | readonly [typeof FAILED, error: unknown, fields?: Record<string, unknown> | undefined]
  | readonly [typeof DIED, defect: unknown, fields?: Record<string, unknown> | undefined]
  | readonly [typeof INTERRUPTED]

/**
 * What of an `Error` structured clone would lose: its own enumerable fields
 * (a tagged error's `_tag` and data), its `name`, and a `message` computed by
 * a getter. The clone keeps the message, stack and cause but not the class:
 * `restore` puts the fields back, so `_tag` (and `Effect.catchTag`) work
 * across the thread; `instanceof` does not.
 */
export const portable = (u: unknown): Record<string, unknown> | undefined =>
  u instanceof Error ? { ...u, name: u.name, message: u.message } : undefined

/** An error or defect from a thread, with the fields `portable` kept put back. */
export const restore = (u: unknown, fields: Record<string, unknown> | undefined): unknown =>
  fields !== undefined && typeof u === "object" && u !== null ? Object.assign(u, fields) : u
