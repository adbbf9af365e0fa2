/**
 * A `Store` in this process's memory, on Effect's `Clock`: the durable pool's
 * semantics (leases, retries, dead letters) without a server, for unit tests
 * (under `TestClock`) and for trying things out. Nothing survives the
 * process, and each claim scans the queue: not for production volumes.
 * Payloads are kept as given, but one over 8 MiB of JSON is refused, as
 * PostgreSQL refuses it by default (`payloadSize.ts`).
 *
 * Listeners of a queue share one `PubSub`, published to by whatever stores
 * jobs or makes them ready (an offer, a release, a retry, a redrive).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Boundary from "./boundary.ts"
import * as Cursor from "./cursor.ts"
import { memoryLimit } from "./payloadSize.ts"
import {
  type Buried,
  type Claimed,
  type ClaimedJobs,
  type Completion,
  type Counts,
  type JobInfo,
  type JobState,
  type Lease,
  type Offered,
  type Refused,
  type Upcoming,
  Store,
  withDue
} from "./Store.ts"

interface Entry {
  readonly id: string
  readonly payload: unknown
  readonly priority: number
  readonly settings: string | undefined
  state: JobState
  attempts: number
  /** Ready: when it may be claimed. Leased: when the lease runs out. Ended: when it ended. */
  visibleAt: number
  token: string | undefined
  error: string | undefined
  /** Made ready for a later time (a delay, a run-at, a retry's delay): `due` counts it until it is claimed, as the servers' engines do. */
  waiting: boolean
  /** Buried: the order of the burials (several can share a millisecond). */
  buriedAs: number
  /** The order of the offers: among jobs due in one millisecond, `upcoming` lists the first offered first. */
  readonly offeredAs: number
  /** The size of the payload's JSON text, once a listing has needed it: a payload never changes. */
  payloadBytes?: number
}

/** A queue: its jobs by id, in the order they were offered, and the jobs completed over its life. */
interface Queue {
  readonly entries: Map<string, Entry>
  completed: number
}

/** Whether `entry` has ended for good (what `purge` may delete), and when it may be: its retention's age. */
const retentionOf = (entry: Entry, retention: { readonly completed: number; readonly buried: number }) =>
  entry.state === "buried"
    ? retention.buried
    : entry.state === "completed" || entry.state === "cancelled"
    ? retention.completed
    : undefined

/** When an offered job may first be claimed: after its delay, at its run-at, or now. */
const readyFrom = (job: Offered, now: number): number =>
  job.delay !== undefined ? now + job.delay : job.runAt !== undefined ? Math.max(now, job.runAt) : now

/**
 * The order of a claim among claimable entries (`sort` is stable: ties keep
 * the order of offer): leases that ran out first, oldest first; then ready
 * jobs by priority, and within one by when they became ready.
 */
const claimOrder = (a: Entry, b: Entry): number =>
  a.state !== b.state
    ? (a.state === "leased" ? -1 : 1)
    : a.state === "leased"
    ? a.visibleAt - b.visibleAt
    : a.priority - b.priority || a.visibleAt - b.visibleAt

let lastToken = 0
let lastBurial = 0

/** The last offer's number (`Entry.offeredAs`), for the whole process like `lastBurial`. */
let lastOffer = 0

/** A store's state: its queues by name, and the notifications of each queue someone listens to. */
interface MemoryState {
  readonly queues: Map<string, Queue>
  readonly wakeups: Map<string, PubSub.PubSub<void>>
  /** The queues paused (`Store.pause`). */
  readonly paused: Set<string>
}

const queueOf = (state: MemoryState, name: string): Queue => {
  let queue = state.queues.get(name)
  if (queue === undefined) state.queues.set(name, queue = { entries: new Map(), completed: 0 })
  return queue
}

const entriesOf = (state: MemoryState, name: string) => queueOf(state, name).entries

/** The entry of `id`, without making its queue. */
const entryOf = (state: MemoryState, queue: string, id: string): Entry | undefined =>
  state.queues.get(queue)?.entries.get(id)

/** The entry whose lease `lease` still is, if any. */
const held = (state: MemoryState, queue: string, lease: Lease): Entry | undefined => {
  const entry = entryOf(state, queue, lease.id)
  return entry?.state === "leased" && entry.token === lease.token ? entry : undefined
}

/** The dead letters and cancelled jobs among `ids`, each once. */
const parked = (state: MemoryState, queue: string, ids: ReadonlyArray<string>): Array<Entry> => {
  const found = new Set<Entry>()
  for (const id of ids) {
    const entry = entryOf(state, queue, id)
    if (entry?.state === "buried" || entry?.state === "cancelled") found.add(entry)
  }
  return [...found]
}

/** Tells `queue`'s listeners, if it has any, that jobs were stored or made ready. */
const notify = (state: MemoryState, queue: string): void => {
  const pubsub = state.wakeups.get(queue)
  if (pubsub !== undefined) PubSub.publishUnsafe(pubsub, undefined)
}

/** Ends `entry`'s lease, or its wait, in `to` at `now`. */
const end = (entry: Entry, to: "completed" | "buried" | "cancelled", now: number): void => {
  entry.state = to
  entry.waiting = false
  entry.token = undefined
  entry.visibleAt = now
}

const offer = (state: MemoryState, queue: string, jobs: ReadonlyArray<Offered>, now: number): Array<Refused> => {
  const entries = entriesOf(state, queue)
  const refused: Array<Refused> = []
  let fresh = 0
  for (const job of jobs) {
    const { id } = job
    const known = entries.get(id)
    if (known === undefined) {
      const visibleAt = readyFrom(job, now)
      entries.set(id, {
        id,
        payload: job.payload,
        priority: job.priority ?? 0,
        settings: job.settings,
        state: "ready",
        attempts: 0,
        visibleAt,
        waiting: visibleAt > now,
        token: undefined,
        error: undefined,
        buriedAs: 0,
        offeredAs: ++lastOffer
      })
      fresh++
    } else if (known.state === "buried" || known.state === "cancelled") {
      refused.push({ id, state: known.state })
    }
  }
  if (fresh > 0) notify(state, queue)
  return refused
}

const claim = (state: MemoryState, queue: string, max: number, lease: Duration.Duration, now: number): ClaimedJobs => {
  // Paused: nothing leased, and no reading of `due` (a job due now would have its pool claim back to back).
  if (state.paused.has(queue)) return withDue([], undefined)
  const claimed: Array<Claimed> = []
  const token = `memory-${++lastToken}`
  const ready = [...entriesOf(state, queue).values()]
    .filter((entry) => (entry.state === "ready" || entry.state === "leased") && entry.visibleAt <= now)
    .sort(claimOrder)
  for (const entry of ready.slice(0, max)) {
    entry.state = "leased"
    entry.waiting = false
    entry.attempts++
    entry.visibleAt = now + Duration.toMillis(lease)
    entry.token = token
    const { id, payload, settings } = entry
    claimed.push({ id, payload, attempt: entry.attempts, token, ...(settings === undefined ? {} : { settings }) })
  }
  // Short: what `due` says now, so that an idle worker need not ask.
  return claimed.length < max ? withDue(claimed, due(state, queue, now)) : claimed
}

/** Completes the leases still held: kept until purged, or deleted at once when not to be kept (still counted). */
const complete = (
  state: MemoryState,
  queue: string,
  leases: ReadonlyArray<Lease>,
  completion: Completion | undefined,
  now: number
): void => {
  const keep = completion?.keep !== false
  for (const lease of leases) {
    const entry = held(state, queue, lease)
    if (entry === undefined) continue
    if (keep) end(entry, "completed", now)
    else entriesOf(state, queue).delete(entry.id)
    queueOf(state, queue).completed++
  }
}

const retry = (
  state: MemoryState,
  queue: string,
  lease: Lease,
  delay: Duration.Duration,
  attemptGivenBack: boolean,
  now: number
): boolean => {
  const entry = held(state, queue, lease)
  if (entry === undefined) return false
  if (attemptGivenBack) entry.attempts--
  entry.state = "ready"
  entry.visibleAt = now + Duration.toMillis(delay)
  entry.waiting = Duration.toMillis(delay) > 0
  notify(state, queue)
  return true
}

const bury = (state: MemoryState, queue: string, lease: Lease, error: string, now: number): boolean => {
  const entry = held(state, queue, lease)
  if (entry === undefined) return false
  end(entry, "buried", now)
  entry.error = error
  entry.buriedAs = ++lastBurial
  return true
}

const release = (state: MemoryState, queue: string, leases: ReadonlyArray<Lease>, now: number): void => {
  let released = 0
  for (const lease of leases) {
    const entry = held(state, queue, lease)
    if (entry === undefined) continue
    entry.state = "ready"
    entry.attempts--
    entry.visibleAt = now
    released++
  }
  if (released > 0) notify(state, queue)
}

const extend = (state: MemoryState, queue: string, leases: ReadonlyArray<Lease>, lease: Duration.Duration, now: number) => {
  const renewed = new Set<string>()
  const lost = new Set<string>()
  for (const one of leases) {
    const entry = held(state, queue, one)
    if (entry) {
      entry.visibleAt = now + Duration.toMillis(lease)
      renewed.add(one.id)
    } else lost.add(one.id)
  }
  return Array.from(lost).filter((id) => !renewed.has(id))
}

const counts = (state: MemoryState, queue: string): Counts => {
  const { completed, entries } = queueOf(state, queue)
  const counted = { ready: 0, leased: 0, completed, buried: 0 }
  for (const entry of entries.values()) {
    if (entry.state === "ready" || entry.state === "leased" || entry.state === "buried") counted[entry.state]++
  }
  return counted
}

/** The size of `entry`'s payload as JSON text in UTF-8 bytes, as the servers would hold it; measured once. */
const payloadBytes = (entry: Entry): number =>
  entry.payloadBytes ??= Buffer.byteLength(JSON.stringify(entry.payload) ?? "", "utf8")

/** The dead letters buried after the cursor `after` (any number: a burial's), in burial order, at most `limit`. */
const buried = (state: MemoryState, queue: string, limit: number, maxPayloadBytes = Infinity, after = "0"): Array<Buried> => {
  const from = Number(after)
  return [...entriesOf(state, queue).values()]
    .filter((entry) => entry.state === "buried" && entry.buriedAs > from)
    .sort((a, b) => a.buriedAs - b.buriedAs)
    .slice(0, limit)
    .map((entry) => ({
      id: entry.id,
      payload: maxPayloadBytes < Infinity && payloadBytes(entry) > maxPayloadBytes ? undefined : entry.payload,
      attempts: entry.attempts,
      error: entry.error ?? "",
      cursor: String(entry.buriedAs)
    }))
}

const due = (state: MemoryState, queue: string, now: number): number | undefined => {
  if (state.paused.has(queue)) return undefined
  let earliest: number | undefined
  for (const entry of entriesOf(state, queue).values()) {
    if (entry.waiting && (earliest === undefined || entry.visibleAt < earliest)) earliest = entry.visibleAt
  }
  return earliest === undefined ? undefined : Math.max(0, earliest - now)
}

/**
 * A waiting job's place in `upcoming`: its run-at's whole millisecond (a
 * delay may have a fraction, which a cursor's digits would not hold), then
 * the offer's number. Soonest first; jobs due in one millisecond in the
 * order they were offered, as on PostgreSQL.
 */
const placeOf = (entry: Entry): Place => [Math.max(0, Math.floor(entry.visibleAt)), entry.offeredAs]

type Place = readonly [millis: number, offer: number]

const before = (a: Place, b: Place): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])

/** The place a cursor names (its two numbers). */
const placeNamed = (cursor: string): Place => {
  const [millis, offer] = Cursor.parts(cursor)
  return [Number(millis), Number(offer)]
}

const upcoming = (state: MemoryState, queue: string, limit: number, after?: string): Array<Upcoming> => {
  const from = after === undefined ? undefined : placeNamed(after)
  return [...entriesOf(state, queue).values()]
    .filter((entry) => entry.state === "ready" && entry.waiting)
    .map((entry) => ({ entry, place: placeOf(entry) }))
    .filter(({ place }) => from === undefined || before(from, place))
    .sort((a, b) => before(a.place, b.place) ? -1 : 1)
    .slice(0, limit)
    .map(({ entry, place }) => ({
      id: entry.id,
      runAt: new Date(entry.visibleAt),
      attempts: entry.attempts,
      cursor: `${place[0]}.${place[1]}`
    }))
}

/** Pauses or resumes `queue`; a resumed queue's listeners are woken. Whether the state changed. */
const pause = (state: MemoryState, queue: string, paused: boolean): boolean => {
  if (state.paused.has(queue) === paused) return false
  if (paused) {
    state.paused.add(queue)
  } else {
    state.paused.delete(queue)
    notify(state, queue)
  }
  return true
}

/** A subscription to `queue`'s notifications, and what takes the next one. */
const listen = (state: MemoryState, queue: string) =>
  Effect.gen(function*() {
    if (!state.wakeups.has(queue)) {
      const created = yield* PubSub.unbounded<void>()
      // Another listener of the queue may have made its own meanwhile.
      if (!state.wakeups.has(queue)) state.wakeups.set(queue, created)
    }
    // Unbounded, yet small: a listener takes each notification as it comes.
    const subscription = yield* PubSub.subscribe(state.wakeups.get(queue)!)
    // Heard a scheduler step after the operation that sent it, as a remote
    // store's notification usually comes after its operation's reply (it
    // travels on a connection of its own): the caller of an offer acts on
    // it first (it can cancel the job while it is still ready), however
    // soon the pool claims once woken.
    return Effect.andThen(PubSub.take(subscription), Effect.yieldNow)
  })

const lookup = (state: MemoryState, queue: string, id: string): JobInfo | undefined => {
  const entry = entryOf(state, queue, id)
  if (entry === undefined) return undefined
  const { attempts, error, priority, state: jobState } = entry
  const runAt = jobState === "ready" || jobState === "leased" ? new Date(entry.visibleAt) : undefined
  return { id, state: jobState, attempts, runAt, priority, error: jobState === "buried" ? error : undefined }
}

const redrive = (state: MemoryState, queue: string, ids: ReadonlyArray<string>, now: number): number => {
  const entries = entriesOf(state, queue)
  const redriven = parked(state, queue, ids)
  for (const entry of redriven) {
    // Offered again, in effect: to the end of the queue's order.
    entries.delete(entry.id)
    entries.set(entry.id, { ...entry, state: "ready", attempts: 0, visibleAt: now, error: undefined })
  }
  if (redriven.length > 0) notify(state, queue)
  return redriven.length
}

const remove = (state: MemoryState, queue: string, ids: ReadonlyArray<string>): number => {
  const removed = parked(state, queue, ids)
  for (const entry of removed) entriesOf(state, queue).delete(entry.id)
  return removed.length
}

const cancel = (state: MemoryState, queue: string, id: string, now: number): JobState | undefined => {
  const entry = entryOf(state, queue, id)
  if (entry === undefined) return undefined
  const found = entry.state
  if (found === "ready" || found === "leased") end(entry, "cancelled", now)
  return found
}

/** Cancels up to `limit` of the jobs of `queue` that wait (ready now or later), in the order they were stored. */
const cancelWaiting = (state: MemoryState, queue: string, limit: number, now: number): number => {
  let n = 0
  for (const entry of entriesOf(state, queue).values()) {
    if (n >= limit) break
    if (entry.state !== "ready") continue
    end(entry, "cancelled", now)
    n++
  }
  return n
}

const purge = (
  state: MemoryState,
  queue: string,
  retention: { readonly completed: Duration.Duration; readonly buried: Duration.Duration },
  limit: number,
  now: number
): number => {
  const ages = { completed: Duration.toMillis(retention.completed), buried: Duration.toMillis(retention.buried) }
  const entries = entriesOf(state, queue)
  let purged = 0
  for (const entry of entries.values()) {
    if (purged >= limit) break
    const age = retentionOf(entry, ages)
    if (age !== undefined && entry.visibleAt + age <= now) {
      entries.delete(entry.id)
      purged++
    }
  }
  return purged
}

/** Makes an empty store. */
export const make: Effect.Effect<Store> = Effect.sync(() => {
  const state: MemoryState = { queues: new Map(), wakeups: new Map(), paused: new Set() }
  const at = Clock.currentTimeMillis
  const engine: Boundary.Engine = {
    offer: (queue, jobs) => Effect.map(at, (now) => offer(state, queue, jobs, now)),
    claim: (queue, max, lease) => Effect.map(at, (now) => claim(state, queue, max, lease, now)),
    complete: (queue, leases, completion) => Effect.map(at, (now) => complete(state, queue, leases, completion, now)),
    retry: (queue, lease, delay, retrying) =>
      Effect.map(at, (now) => retry(state, queue, lease, delay, retrying?.attemptGivenBack === true, now)),
    bury: (queue, lease, error) => Effect.map(at, (now) => bury(state, queue, lease, error, now)),
    release: (queue, leases) => Effect.map(at, (now) => release(state, queue, leases, now)),
    extend: (queue, leases, lease) => Effect.map(at, (now) => extend(state, queue, leases, lease, now)),
    counts: (queue) => Effect.sync(() => counts(state, queue)),
    buried: (queue, limit, maxPayloadBytes, after) => Effect.sync(() => buried(state, queue, limit, maxPayloadBytes, after)),
    due: (queue) => Effect.map(at, (now) => due(state, queue, now)),
    upcoming: (queue, limit, after) => Effect.sync(() => upcoming(state, queue, limit, after)),
    pause: (queue, paused) => Effect.sync(() => pause(state, queue, paused)),
    paused: (queue) => Effect.sync(() => state.paused.has(queue)),
    listen: (queue) => listen(state, queue),
    lookup: (queue, id) => Effect.sync(() => lookup(state, queue, id)),
    redrive: (queue, ids) => Effect.map(at, (now) => redrive(state, queue, ids, now)),
    remove: (queue, ids) => Effect.sync(() => remove(state, queue, ids)),
    cancel: (queue, id) => Effect.map(at, (now) => cancel(state, queue, id, now)),
    cancelWaiting: (queue, limit) => Effect.map(at, (now) => cancelWaiting(state, queue, limit, now)),
    purge: (queue, retention, limit) => Effect.map(at, (now) => purge(state, queue, retention, limit, now))
  }
  return Boundary.makeStore(engine, { engine: "memory", maxPayloadBytes: memoryLimit })
})

/** An empty store as the `Store` service, for `Durable.layer` without a `store` option. */
export const layer: Layer.Layer<Store> = Layer.effect(Store, make)
