/**
 * What crosses between the pool and a thread, on top of Effect's worker
 * protocol (`effect/workers`): one job out, one answer back. Tuples, not
 * records: they are cloned once per job each way, and a tuple clones faster.
 *
 * A thread runs one job at a time, but the pool may send it the next job
 * before the running one has ended (one queued ahead), so that the thread
 * never waits for the pool between two jobs. Each job a thread is sent has
 * a sequence number, 1, 2, 3... for that thread, and the thread and the
 * pool share one word, the claim (`ThreadData.claim`): the number of the
 * last job the thread started, or that the pool withdrew before the thread
 * started it. Both change it only by compare-and-swap, so exactly one of
 * them decides the fate of each job:
 *
 * - the thread starts job `n` only by swapping the claim from `n - 1` to `n`;
 * - the pool withdraws a job `n` not started by the same swap (the thread
 *   then skips it), and stops a thread running job `n` by swapping the
 *   claim to `GONE` from `n`, or from the number of a job queued behind `n`
 *   that it withdrew (it keeps the run it withdrew: `thread.ts`'s
 *   `claimedByThread`): if that swap fails, the thread has already moved
 *   on to the next job, and job `n` has ended in it;
 * - a job behind gaps the thread has not reached is withdrawn by moving the
 *   claim over them at once: it skips gaps anyway;
 * - a job behind one the thread has not claimed yet (sent, and not read:
 *   the claim cannot pass over that one) is withdrawn in a cell of its own
 *   (`aheadCell`), each taking the number of the last job decided there:
 *   the pool withdraws job `n` by swapping its cell to `-n`, and the thread,
 *   having claimed `n`, swaps it to `n` and skips the job if it was `-n`.
 *   The cells are reused every `AHEAD` jobs: the pool withdraws a job ahead
 *   only while the thread has claimed one of the `AHEAD - 1` before it.
 *
 * @internal
 */

/** What the pool tells a thread when it starts it (`workerData`). */
export interface ThreadData {
  /** The handler module, as a URL string. */
  readonly module: string
  /** The claim word, then the `AHEAD` cells (an `Int32Array` over it), shared by the pool and the thread: see above. */
  readonly claim: SharedArrayBuffer
}

/** How many jobs ahead of the claim the pool can withdraw in their own cells (a pool sends a thread at most 2). */
export const AHEAD = 32

/** The index of job `seq`'s cell in the claim's `Int32Array` (the claim word is at 0). */
export const aheadCell = (seq: number): number => 1 + seq % AHEAD

/** The claim once the pool is stopping the thread: it starts no job after that. */
export const GONE = -1

/**
 * One job: its sequence number (negated for a gap: a number the pool gave a
 * job it then could not send, which the thread claims and skips), id, payload (encoded by the payload schema, if any), attempt, and timeout in milliseconds. */
export type Request = readonly [
  seq: number,
  id: string,
  payload: unknown,
  attempt: number,
  timeout: number | undefined
]

/** How the job numbered `seq` ended. */
export type Answer = readonly [seq: number, reply: Reply]

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
export const portable = (u: unknown): Record<string, unknown> | undefined => {
  // A handler may fail with an error whose getter throws, or a Proxy whose
  // traps do: read in the observer that answers the job, a throw would end
  // the thread. Such an error crosses without its fields (or, if it cannot
  // be cloned either, as a defect saying so: see `threadMain.ts`).
  try {
    return u instanceof Error ? { ...u, name: u.name, message: u.message } : undefined
  } catch {
    return undefined
  }
}

/** An error or defect from a thread, with the fields `portable` kept put back. */
export const restore = (u: unknown, fields: Record<string, unknown> | undefined): unknown =>
  fields !== undefined && typeof u === "object" && u !== null ? Object.assign(u, fields) : u
