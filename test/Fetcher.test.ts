/**
 * The durable pool's fetcher (`src/durable/fetcher.ts`) under the TestClock:
 * through a store outage it waits 100 ms, doubling, at most 5 s, between
 * claims, with a warning for each failed one; a claim that succeeds starts
 * the backoff again from 100 ms; an empty queue is polled at `pollInterval`,
 * and a notification from the store (`Store.listen`) ends that wait at once;
 * a listener that fails or drops is listened again, with the same backoff,
 * while the poll goes on.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Exit, Logger, Queue, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Leases from "../src/durable/leases.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { type Store, StoreError, withDue } from "../src/durable/Store.ts"
import * as Fetcher from "../src/durable/fetcher.ts"
import { guarded } from "../src/durable/guard.ts"
import { answeredByHand, startFetcher } from "./support/fetcher.ts"
import { settle } from "./support/workload.ts"
import { PoolClosedError } from "../src/Pool.ts"
import { Durable } from "../src/index.ts"

/** `healthy`, except that claim number n (from 1) fails when `fails(n)`; `at` records when each claim came. */
const flaky = (healthy: Store, fails: (n: number) => boolean) => {
  const at: Array<number> = []
  const store: Store = {
    ...healthy,
    claim: (queue, max, lease) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        at.push(now)
        return fails(at.length)
          ? Effect.fail(new StoreError({ operation: "claim", reason: "connection refused" }))
          : healthy.claim(queue, max, lease)
      })
  }
  return { store, at }
}

/** The time between one claim and the next. */
const gaps = (at: ReadonlyArray<number>) => at.slice(1).map((t, i) => t - at[i]!)

/** A fetcher on `store` with the default options, and `deliver` as its pool. */
const start = (store: Store, scope: Scope.Scope, deliver: (payload: unknown) => Effect.Effect<void> = () => Effect.void) =>
  Effect.map(startFetcher(store, scope, { deliver }), ({ fetcher }) => fetcher)

/** A fetcher on `store`, and when (TestClock millis) each payload reached the pool. */
const started = (store: Store, scope: Scope.Scope) =>
  Effect.gen(function*() {
    const delivered: Array<[unknown, number]> = []
    yield* start(store, scope, (payload) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void delivered.push([payload, now]))))
    return delivered
  })

/**
 * `memory`, recording when each claim came and whether it asked for ready
 * jobs only (`ClaimOptions.readyOnly`); `full` gives when the full ones came.
 */
const hinted = (memory: Store) => {
  const claims: Array<readonly [at: number, readyOnly: boolean]> = []
  const store: Store = {
    ...memory,
    claim: (queue, max, lease, options) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        claims.push([now, options?.readyOnly === true])
        return memory.claim(queue, max, lease, options)
      })
  }
  return { claims, store, full: () => claims.flatMap(([at, readyOnly]) => readyOnly ? [] : [at]) }
}

/** Offers each of `ids` (its payload the id) on queue "q", `everyMs` after the one before, and lets its wakeup run. */
const offeredEvery = (store: Store, everyMs: number, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) =>
    Effect.andThen(
      TestClock.adjust(everyMs),
      Effect.andThen(store.offer("q", [{ id, payload: id }]), TestClock.adjust(0))
    ), { discard: true })

/** Warnings logged, by message. */
const warningsLogger = () => {
  const warnings: Array<string> = []
  const layer = Logger.layer([Logger.make((options) => {
    if (options.logLevel === "Warn") warnings.push(String(options.message))
  })])
  return { warnings, layer }
}

/**
 * A durable pool of one worker and `leases` leases on a store (whose
 * overlapping claims are costly, unless said otherwise), its claims answered
 * by hand, settled once started: each job runs until `endJobs` ends it;
 * `close` ends the rest (so that the pool's shutdown need not wait for them)
 * and closes the pool.
 */
const poolByHand = (leases: number, overlappingClaimsCostly = true) =>
  Effect.gen(function*() {
    const { answer, claims, close, store } = answeredByHand(yield* MemoryStore.make)
    const ends = yield* Queue.unbounded<void>()
    const scope = yield* Scope.make()
    yield* Scope.provide(scope)(Durable.make({
      store: { ...store, overlappingClaimsCostly },
      queue: "q",
      schema: Schema.Number,
      workers: 1,
      prefetch: leases - 1,
      handler: () => Queue.take(ends)
    }))
    yield* settle
    const endJobs = (n: number) =>
      Effect.forEach(Array.from({ length: n }), () => Effect.andThen(Queue.offer(ends, undefined), settle), { discard: true })
    return {
      answer,
      sizes: () => claims.map((claim) => claim.max),
      endJobs,
      close: Effect.suspend(() => {
        for (let i = 0; i < leases; i++) Queue.offerUnsafe(ends, undefined)
        return close(scope)
      })
    }
  })

describe("Fetcher", () => {
  it.effect("waits out an outage 100 ms, doubling, at most 5 s; starts again from 100 ms after a claim that succeeds", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const logger = Logger.layer([Logger.make((options) => {
        if (options.logLevel === "Warn") warnings.push(String(options.message))
      })])
      // Claims 1 to 9 fail; 10 succeeds (the queue is empty); 11 and 12 fail; then all succeed.
      const { at, store } = flaky(yield* MemoryStore.make, (n) => n <= 9 || n === 11 || n === 12)
      const scope = yield* Scope.make()
      yield* start(store, scope).pipe(Effect.provide(logger))
      for (let t = 0; t < 30_000; t += 50) yield* TestClock.adjust(50)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(
        gaps(at).slice(0, 13),
        [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 1_000, 100, 200, 1_000]
      )
      assert.strictEqual(warnings.filter((message) => message.includes("claiming jobs failed; retrying")).length, 11)
    }))

  it.effect("waiting out an outage, a claim is tried again as soon as the store is heard from, not at the end of its wait", () =>
    Effect.gen(function*() {
      let out = true
      const { at, store } = flaky(yield* MemoryStore.make, () => out)
      const scope = yield* Scope.make()
      const delivered = yield* started(store, scope)
      // 20 s of outage: the waits have grown to 5 s (the last try at 17,500, the next due at 22,500).
      for (let t = 0; t < 20_000; t += 50) yield* TestClock.adjust(50)
      assert.deepStrictEqual(gaps(at), [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000])
      // Back: the store notifies of a job stored (as it does, too, when its listener connects again).
      out = false
      yield* store.offer("q", [{ id: "a", payload: "a" }])
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(delivered, [["a", 20_000]])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a store whose claims fail while its notifications keep coming is tried at most once a second, not once a notification", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const { at, store } = flaky(memory, () => true)
      const scope = yield* Scope.make()
      yield* start(store, scope)
      // A job stored every 50 ms for 20 s: 400 notifications.
      for (let t = 0; t < 20_000; t += 50) {
        yield* memory.offer("q", [{ id: `j${t}`, payload: t }])
        yield* TestClock.adjust(50)
      }
      // Each wait is cut short after a fifth of the backoff's delay: 20, 40, 80... then 1 s apart.
      assert.isTrue(gaps(at).every((gap, i) => gap >= Math.min(100 * 2 ** i, 5_000) / 5), JSON.stringify(gaps(at)))
      assert.isAtMost(at.length, 30)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("polls an empty queue at pollInterval, and claims no more once stopped", () =>
    Effect.gen(function*() {
      const { at, store } = flaky(yield* MemoryStore.make, () => false)
      const scope = yield* Scope.make()
      const fetcher = yield* start(store, scope)
      yield* TestClock.adjust(3_500)
      assert.deepStrictEqual(gaps(at), [1_000, 1_000, 1_000])
      fetcher.stop()
      yield* fetcher.stopped
      yield* TestClock.adjust(3_000)
      assert.strictEqual(at.length, 4)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("stopped during an outage: the claim stops trying at once, without waiting for the store to come back", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      yield* memory.offer("q", [{ id: "a", payload: "a" }])
      // The store is out until the test says otherwise.
      let out = true
      const { at, store } = flaky(memory, () => out)
      const scope = yield* Scope.make()
      const delivered: Array<unknown> = []
      const fetcher = yield* start(store, scope, (payload) => Effect.sync(() => void delivered.push(payload)))
      yield* TestClock.adjust(150)
      const tries = at.length
      assert.isAtLeast(tries, 2)
      fetcher.stop()
      const stopping = yield* Effect.forkChild(fetcher.stopped)
      yield* TestClock.adjust(1)
      assert.isDefined(stopping.pollUnsafe(), "stopped ended while the store was still out")
      out = false
      yield* TestClock.adjust(10_000)
      assert.strictEqual(at.length, tries)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(delivered, [])
    }))

  it.effect("a notification ends the wait on an empty queue at once, long before pollInterval", () =>
    Effect.gen(function*() {
      const { at, store } = flaky(yield* MemoryStore.make, () => false)
      const scope = yield* Scope.make()
      const delivered = yield* started(store, scope)
      yield* TestClock.adjust(10)
      // Idle since its claim at 0; the offer notifies, and the fetcher claims at once (at 10, not at 1,000).
      yield* store.offer("q", [{ id: "a", payload: "first" }])
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(delivered, [["first", 10]])
      assert.deepStrictEqual(at, [0, 10])
      // Idle again (its claim at 10 was short): the next offer wakes it as well.
      yield* TestClock.adjust(5)
      yield* store.offer("q", [{ id: "b", payload: "second" }])
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(delivered, [["first", 10], ["second", 15]])
      assert.deepStrictEqual(at, [0, 10, 15])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a claim woken by a notification within a poll interval of the last full claim takes ready jobs only; a poll's claim, and the first after a poll interval, are full", () =>
    Effect.gen(function*() {
      const { claims, store } = hinted(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      // Room for every job: none of them ends.
      const delivered: Array<unknown> = []
      yield* startFetcher(store, scope, { capacity: 10, deliver: (payload) => Effect.sync(() => void delivered.push(payload)) })
      // The first claim (at 0) is full; so is the poll's at 1,000.
      yield* TestClock.adjust(1_000)
      // Offers at 1,300 and 1,600 wake the fetcher: within 1,000 of the full claim at 1,000, each ready only.
      yield* offeredEvery(store, 300, ["a", "b"])
      // At 2,100 the last full claim (1,000) is a poll interval and more behind: this wake claims in full.
      // Then ready only again, until the next poll (at 3,200, no notification before it) claims in full.
      yield* offeredEvery(store, 500, ["c"])
      yield* offeredEvery(store, 100, ["d"])
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(delivered, ["a", "b", "c", "d"])
      assert.deepStrictEqual(claims, [
        [0, false],
        [1_000, false],
        [1_300, true],
        [1_600, true],
        [2_100, false],
        [2_200, true],
        [3_200, false]
      ])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a queue woken more often than it polls still claims in full once a poll interval (where leases that ran out are taken again)", () =>
    Effect.gen(function*() {
      const { full, store } = hinted(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      yield* startFetcher(store, scope, { capacity: 100 })
      // A notification every 100 ms for 5 s: the poll (1 s) never ends a wait.
      yield* offeredEvery(store, 100, Array.from({ length: 50 }, (_, n) => `job-${n}`))
      // At the start, then at the first notification a poll interval or more after the last full claim.
      assert.deepStrictEqual(full(), [0, 1_000, 2_000, 3_000, 4_000, 5_000])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a busy fetcher's claims are full: only the first after an idle wait a notification ended is ready only", () =>
    Effect.gen(function*() {
      const { claims, store } = hinted(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      const delivered: Array<string> = []
      const { book } = yield* startFetcher(store, scope, { deliver: (id) => Effect.sync(() => void delivered.push(id as string)) })
      // Five jobs wake the idle fetcher at 100: its claim takes two (its book's room), and comes back full.
      yield* TestClock.adjust(100)
      yield* store.offer("q", ["a", "b", "c", "d", "e"].map((id) => ({ id, payload: id })))
      yield* TestClock.adjust(0)
      // Room again at 200, a lease at a time: the next claims are the busy loop's, not a wakeup's.
      yield* TestClock.adjust(100)
      for (const id of [...delivered]) Leases.end(book, id, Leases.complete)
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(claims, [[0, false], [100, true], [200, false], [200, false]])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a claim woken while the last reading of due says a job is due now is full: the due job waits for no poll", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      // Every claim says a job is due now: the one a full claim would take.
      const { claims, store } = hinted({
        ...memory,
        claim: (...args) => Effect.map(memory.claim(...args), (jobs) => withDue([...jobs], 0))
      })
      const scope = yield* Scope.make()
      yield* startFetcher(store, scope, { capacity: 10 })
      yield* TestClock.adjust(0)
      // The first claim (at 0) read a job due now; a notification comes before the millisecond's wait ends.
      yield* offeredEvery(store, 0, ["a"])
      assert.deepStrictEqual(claims, [[0, false], [0, false]])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("with an endless poll, a woken pool still claims in full once a lease", () =>
    Effect.gen(function*() {
      const { full, store } = hinted(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      yield* startFetcher(store, scope, { capacity: 1_000, pollInterval: Duration.infinity })
      // A notification every second for 95 s; the lease is 30 s.
      yield* offeredEvery(store, 1_000, Array.from({ length: 95 }, (_, n) => `job-${n}`))
      assert.deepStrictEqual(full(), [0, 30_000, 60_000, 90_000])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a store's due that answers no number (NaN, null) leaves the poll: the idle fetcher does not claim in a loop", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      for (const answer of [NaN, null]) {
        // A custom store's bug: `due` computed from a time it does not have.
        const { at, store } = flaky({ ...memory, due: () => Effect.succeed(answer as unknown as number) }, () => false)
        // At most 20 claims, then none answers: a fetcher that loops stops there instead of for ever. Each
        // answer a plain array (no reading of due a claim may carry), so that the idle fetcher asks `due`.
        const bounded: Store = {
          ...store,
          claim: (...args) => at.length >= 20 ? Effect.never : Effect.map(store.claim(...args), (jobs) => [...jobs])
        }
        const scope = yield* Scope.make()
        yield* start(bounded, scope)
        yield* TestClock.adjust(2_500)
        assert.deepStrictEqual(gaps(at), [1_000, 1_000], `due answered ${answer}: claims at ${JSON.stringify(at)}`)
        yield* Scope.close(scope, Exit.void)
      }
      // The same answers as a short claim's reading of due.
      for (const answer of [NaN, null]) {
        const { at, store } = flaky(memory, () => false)
        const reading: Store = {
          ...store,
          claim: (...args) =>
            at.length >= 20
              ? Effect.never
              : Effect.map(store.claim(...args), (jobs) => withDue([...jobs], answer as unknown as number))
        }
        const scope = yield* Scope.make()
        yield* start(reading, scope)
        yield* TestClock.adjust(2_500)
        assert.deepStrictEqual(gaps(at), [1_000, 1_000], `a claim read ${answer}: claims at ${JSON.stringify(at)}`)
        yield* Scope.close(scope, Exit.void)
      }
    }))

  it.effect("without a notification (lost, or a store without listen), the poll still finds the job", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      // A listener that never hears anything: every notification is lost.
      const deaf: Store = { ...memory, listen: () => Effect.succeed(Effect.never) }
      const { listen: _, ...withoutListen } = memory
      for (const store of [deaf, withoutListen]) {
        const scope = yield* Scope.make()
        const queue = yield* started(store, scope)
        yield* TestClock.adjust(10)
        yield* memory.offer("q", [{ id: `job-${store === deaf ? "deaf" : "without"}`, payload: "late" }])
        yield* TestClock.adjust(500)
        assert.deepStrictEqual(queue, [])
        yield* TestClock.adjust(500)
        const now = yield* Clock.currentTimeMillis
        assert.deepStrictEqual(queue, [["late", now - 10 - 500 - 500 + 1_000]])
        yield* Scope.close(scope, Exit.void)
      }
    }))

  it.effect("a listener that fails or drops is listened again, backing off, while the poll goes on; then it wakes again", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const { layer, warnings } = warningsLogger()
      let attempts = 0
      let drop: (() => void) | undefined
      const store: Store = {
        ...memory,
        // Attempts 1 and 2 fail; attempt 3 listens until `drop`; attempt 4 fails; attempt 5 listens for good.
        listen: (queue) =>
          Effect.suspend(() => {
            attempts++
            if (attempts === 1 || attempts === 2 || attempts === 4) {
              return Effect.fail(new StoreError({ operation: "listen", reason: "connection refused" }))
            }
            return Effect.map(memory.listen!(queue), (next) => {
              if (attempts !== 3) return next
              const dropped = Deferred.makeUnsafe<void, StoreError>()
              drop = () => Deferred.doneUnsafe(dropped, Exit.fail(new StoreError({ operation: "listen", reason: "connection lost" })))
              return Effect.raceFirst(next, Deferred.await(dropped))
            })
          })
      }
      const scope = yield* Scope.make()
      const delivered = yield* started(store, scope).pipe(Effect.provide(layer))
      // Attempt 1 at 0, 2 at 100, 3 at 300 (backoff 100, 200).
      yield* TestClock.adjust(299)
      assert.strictEqual(attempts, 2)
      yield* TestClock.adjust(1)
      assert.strictEqual(attempts, 3)
      yield* memory.offer("q", [{ id: "a", payload: "heard" }])
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(delivered, [["heard", 300]])
      // Dropped at 400: attempt 4 at once fails, attempt 5 after 100 ms (a fresh backoff).
      yield* TestClock.adjust(100)
      drop!()
      yield* TestClock.adjust(0)
      assert.strictEqual(attempts, 4)
      yield* TestClock.adjust(100)
      assert.strictEqual(attempts, 5)
      yield* TestClock.adjust(50)
      yield* memory.offer("q", [{ id: "b", payload: "heard again" }])
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(delivered, [["heard", 300], ["heard again", 550]])
      assert.deepStrictEqual(
        warnings.filter((message) => message.startsWith("listening for new jobs failed")).map((message) => message.split(",")[0]),
        [
          "listening for new jobs failed; retrying",
          "listening for new jobs failed; retrying",
          "listening for new jobs failed; polling until it is back",
          "listening for new jobs failed; retrying"
        ]
      )
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a listener still being set up when the fetcher stops is released: what it opened is closed", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      let opened = 0
      let closed = 0
      // Opens a connection (a finalizer in its scope), then waits for ever for the server to say it listens.
      const store: Store = {
        ...memory,
        listen: () =>
          Effect.andThen(
            Effect.acquireRelease(Effect.sync(() => opened++), () => Effect.sync(() => closed++)),
            Effect.never
          )
      }
      const scope = yield* Scope.make()
      yield* start(store, scope)
      yield* TestClock.adjust(10)
      assert.strictEqual(opened, 1)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(closed, 1, "the listener's connection was left open")
    }))

  it.effect("a store's listen that throws or dies is a failed listener: warned about, tried again with the backoff; so is one whose wait dies before it heard anything", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const { layer, warnings } = warningsLogger()
      let attempts = 0
      const store: Store = {
        ...memory,
        // Attempt 1 throws, attempt 2 dies, attempt 3 listens but its wait dies; attempt 4 listens.
        listen: (queue) => {
          attempts++
          if (attempts === 1) throw new Error("a bug in the store")
          if (attempts === 2) return Effect.die(new Error("another bug"))
          if (attempts === 3) return Effect.as(memory.listen!(queue), Effect.die(new Error("a bug in its wait")))
          return memory.listen!(queue)
        }
      }
      const scope = yield* Scope.make()
      // Through the guard every store not made here is read with (`guard.ts`), as a pool reads it.
      const delivered = yield* started(guarded(store), scope).pipe(Effect.provide(layer))
      // Attempt 1 at 0, 2 at 100, 3 at 300 (backoff 100, 200), whose wait dies at once; 4 at 400,
      // after the backoff's first delay: a listener lost before it heard anything is not set up
      // again at once (one whose wait always dies would spin).
      yield* TestClock.adjust(300)
      assert.strictEqual(attempts, 3)
      yield* TestClock.adjust(99)
      assert.strictEqual(attempts, 3)
      yield* TestClock.adjust(1)
      assert.strictEqual(attempts, 4)
      yield* memory.offer("q", [{ id: "a", payload: "heard" }])
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(delivered, [["heard", 400]])
      assert.deepStrictEqual(
        warnings.filter((message) => message.startsWith("listening for new jobs failed")).map((message) => message.split(",")[0]),
        [
          "listening for new jobs failed; retrying",
          "listening for new jobs failed; retrying",
          "listening for new jobs failed; polling until it is back"
        ]
      )
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a listener lost after it lived longer than the backoff's longest delay, heard or not, is listened again at once", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const { layer } = warningsLogger()
      const setUps: Array<number> = []
      const store: Store = {
        ...memory,
        // Each listener hears nothing; the first two are lost 6 s after their set-up (an idle
        // timeout of a quiet queue's connection), the next ones at once.
        listen: () =>
          Effect.gen(function*() {
            const at = yield* Clock.currentTimeMillis
            setUps.push(at)
            const lostIn = setUps.length <= 2 ? 6_000 : 0
            return Effect.andThen(
              Effect.sleep(lostIn),
              Effect.fail(new StoreError({ operation: "listen", reason: "connection lost" }))
            )
          })
      }
      const scope = yield* Scope.make()
      yield* started(store, scope).pipe(Effect.provide(layer))
      yield* TestClock.adjust(12_000)
      // Lost at 6,000 and 12,000 after 6 s each: set up again at once; the third, lost at once, waits 100 ms.
      assert.deepStrictEqual(setUps, [0, 6_000, 12_000])
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(setUps, [0, 6_000, 12_000, 12_100])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("with a claim in flight, a second starts once pipelineAt leases are free: never a third, never more leased than capacity", () =>
    Effect.gen(function*() {
      const { answer, claims, close, store } = answeredByHand(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      const { book } = yield* startFetcher(store, scope, { capacity: 6, pipelineAt: 2 })
      /** Held and reserved leases: what this process may hold once every claim in flight answered. */
      const promised = () => book.held.size + book.claiming
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [6], "the first claim asks for all the room")
      answer(0, 6)
      yield* settle
      assert.strictEqual(book.held.size, 6)
      assert.strictEqual(claims.length, 1, "no room: no claim")
      Leases.end(book, "job-1", Leases.complete)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [6, 1], "none in flight: a claim for one free lease")
      Leases.end(book, "job-2", Leases.complete)
      yield* settle
      assert.strictEqual(claims.length, 2, "one in flight, one lease free: below pipelineAt")
      Leases.end(book, "job-3", Leases.complete)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [6, 1, 2], "one in flight, two free: a second claim")
      assert.strictEqual(promised(), 6)
      Leases.end(book, "job-4", Leases.complete)
      Leases.end(book, "job-5", Leases.complete)
      yield* settle
      assert.strictEqual(Leases.free(book), 2)
      assert.strictEqual(claims.length, 3, "two in flight: never a third")
      // The later claim answers first, full: one in flight, two free again, so a second claim again.
      answer(2, 2)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [6, 1, 2, 2])
      // The earlier one then comes back short: older than the full answer, it does not say the queue is empty.
      answer(1, 0)
      yield* settle
      assert.strictEqual(claims.length, 4, "one in flight, one free")
      Leases.end(book, "job-6", Leases.complete)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [6, 1, 2, 2, 2])
      assert.isAtMost(promised(), 6)
      yield* close(scope)
    }))

  it.effect("with claimAtMost, a claim asks for no more than that, and the next starts as soon as one answers, for the room left", () =>
    Effect.gen(function*() {
      const { answer, claims, close, store } = answeredByHand(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      const { book } = yield* startFetcher(store, scope, { capacity: 6, claimAtMost: 3 })
      const sizes = () => claims.map((claim) => claim.max)
      yield* settle
      assert.deepStrictEqual(sizes(), [3], "half the room")
      answer(0, 3)
      yield* settle
      assert.deepStrictEqual(sizes(), [3, 3], "its jobs held, the next claim at once, for the rest")
      answer(1, 3)
      yield* settle
      assert.strictEqual(book.held.size, 6)
      assert.strictEqual(claims.length, 2, "no room: no claim")
      for (const id of ["job-1", "job-2", "job-3", "job-4", "job-5"]) Leases.end(book, id, Leases.complete)
      yield* settle
      assert.deepStrictEqual(sizes(), [3, 3, 1], "one claim in flight at a time: for the room when it started")
      answer(2, 1)
      yield* settle
      assert.strictEqual(Leases.free(book), 1, "4 were free once it answered: a claim of 3 reserved 3 of them")
      assert.deepStrictEqual(sizes(), [3, 3, 1, 3], "at most 3")
      answer(3, 0)
      yield* close(scope)
    }))

  it.effect("on a store where overlapping claims are costly, a durable pool of 768 leases claims one batch at a time, each for at most half its leases", () =>
    Effect.gen(function*() {
      assert.strictEqual(Fetcher.oneClaimAtATimeFrom, 768)
      const { answer, close, endJobs, sizes } = yield* poolByHand(768)
      assert.deepStrictEqual(sizes(), [384], "half the 768 leases")
      answer(0, 384)
      yield* settle
      assert.deepStrictEqual(sizes(), [384, 384], "its jobs held, the next at once, for the other half")
      yield* endJobs(384)
      assert.deepStrictEqual(sizes(), [384, 384], "half the leases free again, and still no claim beside the one in flight")
      answer(1, 384)
      yield* settle
      assert.deepStrictEqual(sizes(), [384, 384, 384])
      yield* close
    }))

  it.effect("on a store where overlapping claims are costly, a durable pool of 767 leases keeps the second claim at half", () =>
    Effect.gen(function*() {
      const { answer, close, endJobs, sizes } = yield* poolByHand(767)
      assert.deepStrictEqual(sizes(), [767], "all the room")
      answer(0, 767)
      yield* settle
      yield* endJobs(385)
      assert.deepStrictEqual(sizes(), [767, 1, 384], "a claim for the first lease freed, a second once 384 are free")
      yield* close
    }))

  it.effect("a durable pool starts a second claim once its workers' worth of leases is free; on a store where overlapping claims are costly, once half its leases are", () =>
    Effect.gen(function*() {
      /** The claims' sizes of a pool of 1 worker and a prefetch of 5 (6 leases), its first claim answered full, after each of 4 jobs ends. */
      const claimsAfterEachEnd = (overlappingClaimsCostly: boolean) =>
        Effect.gen(function*() {
          const { answer, close, endJobs, sizes } = yield* poolByHand(6, overlappingClaimsCostly)
          answer(0, 6)
          yield* settle
          const after: Array<ReadonlyArray<number>> = []
          for (let i = 0; i < 4; i++) {
            yield* endJobs(1)
            after.push(sizes())
          }
          yield* close
          return after
        })
      // The first end: no claim in flight, a claim for its lease. Then one in flight (never answered here):
      assert.deepStrictEqual(
        yield* claimsAfterEachEnd(false),
        [[6, 1], [6, 1, 1], [6, 1, 1], [6, 1, 1]],
        "a second claim as soon as a worker's worth (1) is free; never a third"
      )
      assert.deepStrictEqual(
        yield* claimsAfterEachEnd(true),
        [[6, 1], [6, 1], [6, 1], [6, 1, 3]],
        "a second claim only once half the 6 leases are free: at least as large as the 1 it reads past"
      )
    }))

  it.effect("a claim that comes back short starts no second one: the fetcher waits for the idle poll", () =>
    Effect.gen(function*() {
      const { answer, claims, close, store } = answeredByHand(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      const { book } = yield* startFetcher(store, scope, { capacity: 4, pipelineAt: 1 })
      yield* settle
      answer(0, 4)
      yield* settle
      Leases.end(book, "job-1", Leases.complete)
      yield* settle
      Leases.end(book, "job-2", Leases.complete)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [4, 1, 1], "two in flight")
      // The later claim comes back short: the queue is empty, so no claim while the other is in flight, though a lease is free.
      answer(2, 0)
      yield* settle
      assert.strictEqual(Leases.free(book), 1)
      assert.strictEqual(claims.length, 3)
      answer(1, 0)
      yield* settle
      // None in flight, the queue empty: the fetcher waits for the poll.
      yield* TestClock.adjust(999)
      assert.strictEqual(claims.length, 3)
      yield* TestClock.adjust(1)
      assert.strictEqual(claims.length, 4)
      yield* close(scope)
    }))

  it.effect("a claim waiting out an outage starts no second one: one claim backs off, not two", () =>
    Effect.gen(function*() {
      const { answer, claims, close, fail, store } = answeredByHand(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      const { book } = yield* startFetcher(store, scope, { capacity: 4, pipelineAt: 1 })
      yield* settle
      answer(0, 4)
      yield* settle
      Leases.end(book, "job-1", Leases.complete)
      yield* settle
      fail(1)
      yield* settle
      Leases.end(book, "job-2", Leases.complete)
      yield* settle
      assert.strictEqual(claims.length, 2, "a lease free, but the claim in flight is failing")
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(claims.map((claim) => claim.max), [4, 1, 1], "its retry, after the backoff")
      answer(2, 1)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [4, 1, 1, 1], "it succeeded: a second claim again")
      yield* close(scope)
    }).pipe(Effect.provide(warningsLogger().layer)))

  it.effect("stopped with two claims in flight: it ends once both delivered, their jobs held or given back, none leased to nobody", () =>
    Effect.gen(function*() {
      const { answer, claims, close, store } = answeredByHand(yield* MemoryStore.make)
      let closed = false
      const scope = yield* Scope.make()
      // As the pool's deliver: refused once it shuts down.
      const { book, fetcher } = yield* startFetcher(store, scope, {
        capacity: 4,
        pipelineAt: 1,
        deliver: () => closed ? Effect.fail(new PoolClosedError({})) : Effect.void
      })
      yield* settle
      answer(0, 4)
      yield* settle
      Leases.end(book, "job-1", Leases.complete)
      yield* settle
      Leases.end(book, "job-2", Leases.complete)
      yield* settle
      assert.deepStrictEqual(claims.map((claim) => claim.max), [4, 1, 1], "a second claim while the first is in flight")
      closed = true
      fetcher.stop()
      const stopped = yield* Effect.forkChild(fetcher.stopped)
      yield* settle
      assert.isUndefined(stopped.pollUnsafe(), "two claims in flight")
      answer(2, 1)
      yield* settle
      assert.isUndefined(stopped.pollUnsafe(), "one claim in flight")
      answer(1, 1)
      yield* settle
      assert.isDefined(stopped.pollUnsafe(), "both delivered")
      assert.strictEqual(claims.length, 3, "no claim once stopped")
      // The jobs of the claims answered after the stop were given back, to be released.
      assert.deepStrictEqual([...book.held.keys()], ["job-3", "job-4"])
      const given = yield* Queue.takeAll(book.ended)
      assert.deepStrictEqual(
        given.map((ended) => [ended.lease.id, ended.ending._tag]),
        [["job-1", "complete"], ["job-2", "complete"], ["job-5", "release"], ["job-6", "release"]]
      )
      assert.strictEqual(book.claiming, 0)
      yield* close(scope)
    }))
})
