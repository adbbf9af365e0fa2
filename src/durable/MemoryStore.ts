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
import { memoryLimit } from "./payloadSize.ts"
import {
  type Buried,
  type Claimed,
  type Counts,
  type JobInfo,
  type JobState,
  type Lease,
  type Offered,
  type Refused,
  type Upcoming,
  Store
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

/** Makes an empty store. */
export const make: Effect.Effect<Store> = Effect.sync(() => {
  const queues = new Map<string, Queue>()
  const queueOf = (name: string) => {
    let queue = queues.get(name)
    if (queue === undefined) queues.set(name, queue = { entries: new Map(), completed: 0 })
    return queue
  }
  const entriesOf = (name: string) => queueOf(name).entries
  /** The entry whose lease `lease` still is, if any. */
  const held = (queue: string, lease: Lease): Entry | undefined => {
    const entry = queues.get(queue)?.entries.get(lease.id)
    return entry?.state === "leased" && entry.token === lease.token ? entry : undefined
  }
  /** The dead letters and cancelled jobs among `ids`, each once. */
  const parked = (queue: string, ids: ReadonlyArray<string>): Array<Entry> => {
    const entries = entriesOf(queue)
    const found = new Set<Entry>()
    for (const id of ids) {
      const entry = entries.get(id)
      if (entry?.state === "buried" || entry?.state === "cancelled") found.add(entry)
    }
    return [...found]
  }
  const withClock = <A>(f: (now: number) => A) => Effect.map(Clock.currentTimeMillis, f)
  /** Each listened queue's notifications; a queue nobody listens to has none. */
  const wakeups = new Map<string, PubSub.PubSub<void>>()
  const notify = (queue: string) => {
    const pubsub = wakeups.get(queue)
    if (pubsub !== undefined) PubSub.publishUnsafe(pubsub, undefined)
  }

  const engine: Boundary.Engine = {
    offer: (queue, jobs: ReadonlyArray<Offered>) =>
      withClock((now) => {
        const entries = entriesOf(queue)
        const refused: Array<Refused> = []
        let fresh = 0
        for (const job of jobs) {
          const { id } = job
          const known = entries.get(id)
          if (known === undefined) {
            entries.set(id, {
              id,
              payload: job.payload,
              priority: job.priority ?? 0,
              settings: job.settings,
              state: "ready",
              attempts: 0,
              visibleAt: readyFrom(job, now),
              waiting: readyFrom(job, now) > now,
              token: undefined,
              error: undefined,
              buriedAs: 0
            })
            fresh++
          } else if (known.state === "buried" || known.state === "cancelled") {
            refused.push({ id, state: known.state })
          }
        }
        if (fresh > 0) notify(queue)
        return refused
      }),
    claim: (queue, max, lease) =>
      withClock((now) => {
        const claimed: Array<Claimed> = []
        const token = `memory-${++lastToken}`
        const ready = [...entriesOf(queue).values()]
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
        return claimed
      }),
    complete: (queue, leases) =>
      withClock((now) => {
        for (const lease of leases) {
          const entry = held(queue, lease)
          if (entry === undefined) continue
          entry.state = "completed"
          entry.token = undefined
          entry.visibleAt = now
          queueOf(queue).completed++
        }
      }),
    retry: (queue, lease, delay) =>
      withClock((now) => {
        const entry = held(queue, lease)
        if (entry === undefined) return
        entry.state = "ready"
        entry.visibleAt = now + Duration.toMillis(delay)
        entry.waiting = Duration.toMillis(delay) > 0
        notify(queue)
      }),
    bury: (queue, lease, error) =>
      withClock((now) => {
        const entry = held(queue, lease)
        if (entry === undefined) return
        entry.state = "buried"
        entry.token = undefined
        entry.visibleAt = now
        entry.error = error
        entry.buriedAs = ++lastBurial
      }),
    release: (queue, leases) =>
      withClock((now) => {
        let released = 0
        for (const lease of leases) {
          const entry = held(queue, lease)
          if (entry === undefined) continue
          entry.state = "ready"
          entry.attempts--
          entry.visibleAt = now
          released++
        }
        if (released > 0) notify(queue)
      }),
    extend: (queue, leases, lease) =>
      withClock((now) => {
        const cancelled: Array<string> = []
        const entries = entriesOf(queue)
        for (const one of leases) {
          const entry = held(queue, one)
          if (entry) entry.visibleAt = now + Duration.toMillis(lease)
          else if (entries.get(one.id)?.state === "cancelled") cancelled.push(one.id)
        }
        return cancelled
      }),
    counts: (queue) =>
      Effect.sync(() => {
        const { completed, entries } = queueOf(queue)
        const counts = { ready: 0, leased: 0, completed, buried: 0 }
        for (const entry of entries.values()) {
          if (entry.state === "ready" || entry.state === "leased" || entry.state === "buried") counts[entry.state]++
        }
        return counts satisfies Counts
      }),
    buried: (queue, limit) =>
      Effect.sync(() =>
        [...entriesOf(queue).values()]
          .filter((entry) => entry.state === "buried")
          .sort((a, b) => a.buriedAs - b.buriedAs)
          .slice(0, limit)
          .map((entry): Buried => ({
            id: entry.id,
            payload: entry.payload,
            attempts: entry.attempts,
            error: entry.error ?? ""
          }))
      ),
    due: (queue) =>
      withClock((now) => {
        let earliest: number | undefined
        for (const entry of entriesOf(queue).values()) {
          if (entry.waiting && (earliest === undefined || entry.visibleAt < earliest)) earliest = entry.visibleAt
        }
        return earliest === undefined ? undefined : Math.max(0, earliest - now)
      }),
    upcoming: (queue, limit) =>
      Effect.sync(() =>
        [...entriesOf(queue).values()]
          .filter((entry) => entry.state === "ready" && entry.waiting)
          .sort((a, b) => a.visibleAt - b.visibleAt)
          .slice(0, limit)
          .map((entry): Upcoming => ({ id: entry.id, runAt: new Date(entry.visibleAt), attempts: entry.attempts }))
      ),
    listen: (queue) =>
      Effect.gen(function*() {
        if (!wakeups.has(queue)) {
          const created = yield* PubSub.unbounded<void>()
          // Another listener of the queue may have made its own meanwhile.
          if (!wakeups.has(queue)) wakeups.set(queue, created)
        }
        // Unbounded, yet small: a listener takes each notification as it comes.
        const subscription = yield* PubSub.subscribe(wakeups.get(queue)!)
        return PubSub.take(subscription)
      }),
    lookup: (queue, id) =>
      Effect.sync((): JobInfo | undefined => {
        const entry = queues.get(queue)?.entries.get(id)
        if (entry === undefined) return undefined
        const { attempts, error, priority, state } = entry
        const runAt = state === "ready" || state === "leased" ? new Date(entry.visibleAt) : undefined
        return { id, state, attempts, runAt, priority, error: state === "buried" ? error : undefined }
      }),
    redrive: (queue, ids) =>
      withClock((now) => {
        const entries = entriesOf(queue)
        const redriven = parked(queue, ids)
        for (const entry of redriven) {
          // Offered again, in effect: to the end of the queue's order.
          entries.delete(entry.id)
          entries.set(entry.id, { ...entry, state: "ready", attempts: 0, visibleAt: now, error: undefined })
        }
        if (redriven.length > 0) notify(queue)
        return redriven.length
      }),
    remove: (queue, ids) =>
      Effect.sync(() => {
        const removed = parked(queue, ids)
        for (const entry of removed) entriesOf(queue).delete(entry.id)
        return removed.length
      }),
    cancel: (queue, id) =>
      withClock((now) => {
        const entry = queues.get(queue)?.entries.get(id)
        if (entry === undefined) return undefined
        const found = entry.state
        if (found === "ready" || found === "leased") {
          entry.state = "cancelled"
          entry.waiting = false
          entry.token = undefined
          entry.visibleAt = now
        }
        return found
      }),
    purge: (queue, retention, limit) =>
      withClock((now) => {
        const ages = { completed: Duration.toMillis(retention.completed), buried: Duration.toMillis(retention.buried) }
        const entries = entriesOf(queue)
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
      })
  }
  return Boundary.makeStore(engine, { engine: "memory", maxPayloadBytes: memoryLimit })
})

/** An empty store as the `Store` service, for `Durable.layer` without a `store` option. */
export const layer: Layer.Layer<Store> = Layer.effect(Store, make)
