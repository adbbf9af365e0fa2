/**
 * What the Redis engine knows of a queue's `delayed` set without asking:
 * `due`'s answer as the last short claim read it (the claim script adds it
 * to its reply when it takes fewer jobs than asked). An idle worker asks
 * `due` right after each short claim; answered from here, that is a round
 * trip less per idle turn (on an idle queue, one of the four the consumer
 * makes per job, in the way of the next job's pickup).
 *
 * The answer stays true until something adds to `delayed` (only a later
 * job can: a claim or a cancel that takes from it makes the answer early,
 * which costs an idle worker one claim that finds nothing, never a job),
 * and every script that adds to it notifies the queue with a message other
 * than `wakeMessage.readyOnly`. So a queue's memo is kept only while this
 * engine listens to the queue (it hears every such notification) and is
 * dropped, by a count of changes (`epoch`), when:
 *
 * - a notification comes that may concern `delayed` (from any process);
 * - this engine itself sends an operation that may add to it (an offer
 *   with times of its own, a retry with a delay): its notification may
 *   come after the caller's next `due`;
 * - a listener starts or is lost (what happened while nobody listened is
 *   unknown);
 * - and a claim's reading is not kept if the epoch moved while it was in
 *   flight.
 *
 * While nothing listens to a queue, `due` asks the server, as before.
 * Memory: one entry per queue listened to, dropped with its last listener.
 *
 * Internal: not an entry point of the package.
 */

/** A reading of `due`, kept until a change drops it: milliseconds from `at` (undefined: nothing waits). */
interface Reading {
  /** When the reading came back, on `clock`'s scale (ms). */
  readonly at: number
  readonly untilDue: number | undefined
}

/** A queue listened to. */
interface Entry {
  /** Listeners of this engine on the queue, alive. */
  listeners: number
  /** Bumped on every change that may make a reading stale. */
  epoch: number
  reading: Reading | undefined
}

/** The memos of one engine, by queue. */
export interface DueMemo {
  readonly queues: Map<string, Entry>
  /** A monotonic clock in milliseconds. */
  readonly clock: () => number
}

export const make = (clock: () => number = () => performance.now()): DueMemo => ({ queues: new Map(), clock })

/** Something may have added to `queue`'s `delayed`: what was read before is stale. */
export const changed = (memo: DueMemo, queue: string): void => {
  const entry = memo.queues.get(queue)
  if (entry === undefined) return
  entry.epoch++
  entry.reading = undefined
}

/**
 * A listener of `queue` is up; returns what to call once it is lost or
 * closed (idempotent). Both drop the reading: what happened meanwhile was
 * not heard.
 */
export const listening = (memo: DueMemo, queue: string): () => void => {
  let entry = memo.queues.get(queue)
  if (entry === undefined) {
    entry = { listeners: 0, epoch: 0, reading: undefined }
    memo.queues.set(queue, entry)
  }
  entry.listeners++
  changed(memo, queue)
  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    changed(memo, queue)
    if (--entry.listeners === 0 && memo.queues.get(queue) === entry) memo.queues.delete(queue)
  }
}

/** The epoch a claim is sent under (undefined: nobody listens, nothing will be kept). */
export const epochOf = (memo: DueMemo, queue: string): number | undefined => memo.queues.get(queue)?.epoch

/** Keeps a short claim's reading, if nothing changed since it was sent under `epoch`. */
export const learned = (memo: DueMemo, queue: string, epoch: number | undefined, untilDue: number | undefined): void => {
  const entry = memo.queues.get(queue)
  if (entry === undefined || epoch === undefined || entry.epoch !== epoch) return
  entry.reading = { at: memo.clock(), untilDue }
}

/** What `due` would answer, from the reading, if it still holds: `{ untilDue }`; undefined if the server must be asked. */
export const recall = (memo: DueMemo, queue: string): { readonly untilDue: number | undefined } | undefined => {
  const reading = memo.queues.get(queue)?.reading
  if (reading === undefined) return undefined
  if (reading.untilDue === undefined) return { untilDue: undefined }
  return { untilDue: Math.max(0, Math.ceil(reading.untilDue - (memo.clock() - reading.at))) }
}
