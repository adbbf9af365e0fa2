/**
 * A `Store` in this process's memory, on Effect's `Clock`: the durable pool's
 * semantics (leases, retries, dead letters) without a server, for unit tests
 * (under `TestClock`) and for trying things out. Nothing survives the
 * process, and each claim scans the queue: not for production volumes.
 * Payloads are kept as given, but one over 8 MiB of JSON is refused, as
 * PostgreSQL refuses it by default (`payloadSize.ts`).
 *
 * Listeners of a queue share one `PubSub`, published to by whatever makes
 * jobs ready at once (an offer, a release, a retry with no delay).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Boundary from "./boundary.ts"
import { memoryLimit } from "./payloadSize.ts"
import { type Buried, type Claimed, type Counts, type Lease, type Offered, Store } from "./Store.ts"

interface Entry {
  readonly id: string
  readonly payload: unknown
  state: "ready" | "leased" | "completed" | "buried"
  attempts: number
  /** Ready: when it may be claimed. Leased: when the lease runs out. */
  visibleAt: number
  token: string | undefined
  error: string | undefined
}

let lastToken = 0

/** Makes an empty store. */
export const make: Effect.Effect<Store> = Effect.sync(() => {
  const queues = new Map<string, Map<string, Entry>>()
  const queueOf = (name: string) => {
    let queue = queues.get(name)
    if (queue === undefined) queues.set(name, queue = new Map())
    return queue
  }
  /** The entry whose lease `lease` still is, if any. */
  const held = (queue: string, lease: Lease): Entry | undefined => {
    const entry = queues.get(queue)?.get(lease.id)
    return entry?.state === "leased" && entry.token === lease.token ? entry : undefined
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
        const entries = queueOf(queue)
        let fresh = 0
        for (const { id, payload } of jobs) {
          if (entries.has(id)) continue
          entries.set(id, { id, payload, state: "ready", attempts: 0, visibleAt: now, token: undefined, error: undefined })
          fresh++
        }
        if (fresh > 0) notify(queue)
      }),
    claim: (queue, max, lease) =>
      withClock((now) => {
        const claimed: Array<Claimed> = []
        const token = `memory-${++lastToken}`
        const ready = [...queueOf(queue).values()]
          .filter((entry) => (entry.state === "ready" || entry.state === "leased") && entry.visibleAt <= now)
          .sort((a, b) => a.visibleAt - b.visibleAt)
        for (const entry of ready.slice(0, max)) {
          entry.state = "leased"
          entry.attempts++
          entry.visibleAt = now + Duration.toMillis(lease)
          entry.token = token
          claimed.push({ id: entry.id, payload: entry.payload, attempt: entry.attempts, token })
        }
        return claimed
      }),
    complete: (queue, leases) =>
      Effect.sync(() => {
        for (const lease of leases) {
          const entry = held(queue, lease)
          if (entry) entry.state = "completed"
        }
      }),
    retry: (queue, lease, delay) =>
      withClock((now) => {
        const entry = held(queue, lease)
        if (entry === undefined) return
        entry.state = "ready"
        entry.visibleAt = now + Duration.toMillis(delay)
        if (Duration.toMillis(delay) <= 0) notify(queue)
      }),
    bury: (queue, lease, error) =>
      Effect.sync(() => {
        const entry = held(queue, lease)
        if (entry === undefined) return
        entry.state = "buried"
        entry.error = error
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
        for (const one of leases) {
          const entry = held(queue, one)
          if (entry) entry.visibleAt = now + Duration.toMillis(lease)
        }
      }),
    counts: (queue) =>
      Effect.sync(() => {
        const counts = { ready: 0, leased: 0, completed: 0, buried: 0 }
        for (const entry of queueOf(queue).values()) counts[entry.state]++
        return counts satisfies Counts
      }),
    buried: (queue, limit) =>
      Effect.sync(() =>
        [...queueOf(queue).values()]
          .filter((entry) => entry.state === "buried")
          .slice(0, limit)
          .map((entry): Buried => ({
            id: entry.id,
            payload: entry.payload,
            attempts: entry.attempts,
            error: entry.error ?? ""
          }))
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
      })
  }
  return Boundary.makeStore(engine, { engine: "memory", maxPayloadBytes: memoryLimit })
})

/** An empty store as the `Store` service, for `Durable.layer` without a `store` option. */
export const layer: Layer.Layer<Store> = Layer.effect(Store, make)
