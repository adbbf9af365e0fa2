/**
 * The dashboard's rules without a browser: the bounded rings and the
 * percentiles, the token and cross-site checks, the actions' bodies, the
 * sampler under the TestClock (samples per tick, running jobs, run times),
 * the snapshot's size whatever the traffic, and the routes' answers to bad
 * requests (through `HttpRouter.toWebHandler`: no socket).
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeHttpServer } from "@effect/platform-node"
import { Clock, Context, Deferred, Duration, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { createServer } from "node:http"
import { type AddressInfo, connect } from "node:net"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { TestClock } from "effect/testing"
import * as Ring from "../src/dashboard/ring.ts"
import { parseAction, readsAtOnce, routes as samplerRoutes } from "../src/dashboard/routes.ts"
import { maxJobIdBytes } from "../src/internal/options.ts"
import * as Sampler from "../src/dashboard/sampler.ts"
import * as Security from "../src/dashboard/security.ts"
import type { Admin } from "../src/Durable.ts"
import { StoreError } from "../src/durable/Store.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Dashboard, Durable, Pool } from "../src/index.ts"
import { isLoopback } from "../src/program/dashboard.ts"
import { waitUntil } from "./support/waitUntil.ts"
import { listenAddress } from "../src/program/address.ts"
import { capture } from "./support/logLines.ts"
import { settle } from "./support/workload.ts"

const second = Duration.seconds(1)

/** A queue shown by the dashboard whose pool never answers its stats: for what reads no pool. */
const idleQueue = (name: string): Dashboard.Queue => ({
  name,
  kind: "memory",
  stats: Effect.never,
  running: Effect.succeed([]),
  outcomes: Stream.never,
  admin: undefined,
  pausing: { pause: Effect.never, resume: Effect.never, isPaused: Effect.never },
  periodic: []
})

describe("rings and percentiles", () => {
  it("a ring keeps the last values, oldest first, and never more than its capacity", () => {
    const ring = Ring.make<number>(3)
    assert.deepStrictEqual(Ring.toArray(ring), [])
    for (let i = 1; i <= 10; i++) Ring.push(ring, i)
    assert.deepStrictEqual(Ring.toArray(ring), [8, 9, 10])
    assert.strictEqual(ring.items.length, 3)
  })

  it("p50, p90, p99 by nearest rank, over the window only", () => {
    const ring = Ring.make<number>(100)
    assert.strictEqual(Ring.percentiles(ring), undefined)
    for (let i = 100; i >= 1; i--) Ring.push(ring, i)
    assert.deepStrictEqual(Ring.percentiles(ring), { p50: 50, p90: 90, p99: 99, count: 100 })
    // A hundred slow ones push the fast ones out of the window.
    for (let i = 0; i < 100; i++) Ring.push(ring, 5_000)
    assert.deepStrictEqual(Ring.percentiles(ring), { p50: 5_000, p90: 5_000, p99: 5_000, count: 100 })
    const one = Ring.make<number>(5)
    Ring.push(one, 7)
    assert.deepStrictEqual(Ring.percentiles(one), { p50: 7, p90: 7, p99: 7, count: 1 })
  })
})

describe("security", () => {
  const json = { "content-type": "application/json", host: "127.0.0.1:8080" }

  it("the token matches only itself, whatever its length", () => {
    assert.isTrue(Security.tokenMatches("s3cret", "s3cret"))
    assert.isFalse(Security.tokenMatches("s3cret", "s3creT"))
    assert.isFalse(Security.tokenMatches("s3cret", "s3cret-and-more"))
    assert.isFalse(Security.tokenMatches("s3cret", ""))
    assert.isFalse(Security.tokenMatches("s3cret", undefined))
    assert.notStrictEqual(Security.generateToken(), Security.generateToken())
    assert.isAtLeast(Security.generateToken().length, 40)
  })

  it("the Host a request names: with hosts given, only theirs (whatever the port); without, any", () => {
    assert.strictEqual(Security.hostName("127.0.0.1:8080"), "127.0.0.1")
    assert.strictEqual(Security.hostName("[::1]:8080"), "::1")
    assert.strictEqual(Security.hostName("LocalHost"), "localhost")
    const loopback = Security.loopbackHosts
    for (const host of ["127.0.0.1:8080", "localhost:1", "[::1]:9", "localhost"]) assert.isTrue(Security.hostAllowed(loopback, host), host)
    for (const host of ["evil.example:8080", "127.0.0.1.evil.example", "", undefined]) {
      assert.isFalse(Security.hostAllowed(loopback, host), String(host))
    }
    assert.isTrue(Security.hostAllowed(undefined, "anything:1"))
    assert.isTrue(isLoopback("127.0.0.2") && isLoopback("localhost") && isLoopback("::1"))
    assert.isFalse(isLoopback("0.0.0.0") || isLoopback("10.0.0.1") || isLoopback("example.com"))
  })

  it("an action needs the token in its header, and JSON", () => {
    assert.strictEqual(Security.checkAction("t", { ...json, "x-dashboard-token": "t" }), undefined)
    assert.deepInclude(Security.checkAction("t", json), { status: 403 })
    assert.deepInclude(Security.checkAction("t", { ...json, "x-dashboard-token": "u" }), { status: 403 })
    assert.deepInclude(Security.checkAction("t", { host: "h", "x-dashboard-token": "t" }), { status: 415 })
    assert.deepInclude(
      Security.checkAction("t", { host: "h", "x-dashboard-token": "t", "content-type": "text/plain" }),
      { status: 415 }
    )
  })

  it("without a token given at start, every action is refused", () => {
    const refused = Security.checkAction(undefined, { ...json, "x-dashboard-token": "" })
    assert.strictEqual(refused?.status, 403)
    assert.match(refused!.error, /without a token/)
  })

  it("a cross-site request is refused, even with the token", () => {
    const withToken = { ...json, "x-dashboard-token": "t" }
    assert.deepInclude(Security.checkAction("t", { ...withToken, origin: "http://evil.example" }), { status: 403 })
    assert.deepInclude(Security.checkAction("t", { ...withToken, origin: "http://127.0.0.1:9999" }), { status: 403 })
    assert.deepInclude(Security.checkAction("t", { ...withToken, origin: "null" }), { status: 403 })
    assert.deepInclude(Security.checkAction("t", { ...withToken, "sec-fetch-site": "cross-site" }), { status: 403 })
    assert.deepInclude(Security.checkAction("t", { ...withToken, "sec-fetch-site": "same-site" }), { status: 403 })
    // The page's own origin, as the browser says it.
    assert.strictEqual(
      Security.checkAction("t", { ...withToken, origin: "http://127.0.0.1:8080", "sec-fetch-site": "same-origin" }),
      undefined
    )
  })
})

describe("action bodies", () => {
  it("all must be said: no body, an empty list or a missing one never means every dead letter", () => {
    assert.deepStrictEqual(parseAction("redrive", { all: true }), { _tag: "redrive", ids: "all" })
    assert.deepStrictEqual(parseAction("remove", { ids: ["a", "b"] }), { _tag: "remove", ids: ["a", "b"] })
    for (const body of [{}, { ids: [] }, { ids: "a" }, { ids: [1] }, { ids: ["a\u0000"] }, { all: "yes" }, { all: 1 }]) {
      assert.deepInclude(parseAction("redrive", body), { status: 400 }, JSON.stringify(body))
    }
    assert.deepInclude(parseAction("redrive", { ids: Array.from({ length: 1_001 }, (_, i) => `j${i}`) }), { status: 400 })
    for (const body of [null, [], "x", 1]) assert.deepInclude(parseAction("redrive", body), { status: 400 })
  })

  it("cancel names one id; an unknown action is a 404", () => {
    assert.deepStrictEqual(parseAction("cancel", { id: "j1" }), { _tag: "cancel", id: "j1" })
    assert.deepInclude(parseAction("cancel", {}), { status: 400 })
    // Every id submit takes, and no other: at most 1,024 bytes of UTF-8, the empty one too.
    for (const id of ["", "x".repeat(maxJobIdBytes), "é".repeat(maxJobIdBytes / 2)]) {
      assert.deepStrictEqual(parseAction("cancel", { id }), { _tag: "cancel", id })
      assert.deepStrictEqual(parseAction("remove", { ids: [id] }), { _tag: "remove", ids: [id] })
    }
    for (const id of ["x".repeat(maxJobIdBytes + 1), "é".repeat(maxJobIdBytes / 2 + 1), "order-\ud800"]) {
      assert.deepInclude(parseAction("cancel", { id }), { status: 400 })
      assert.deepInclude(parseAction("remove", { ids: [id] }), { status: 400 })
    }
    assert.deepInclude(parseAction("explode", {}), { status: 404 })
  })
})

describe("running jobs", () => {
  it.effect("a snapshot of the jobs in the workers' hands, one per worker at most", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 2, handler: () => Effect.sleep("1 second"), shutdown: { timeout: 0 } })
      assert.deepStrictEqual(yield* pool.running, [])
      yield* pool.submit("a", { id: "a" })
      yield* pool.submit("b", { id: "b" })
      yield* pool.submit("c", { id: "c" })
      yield* settle
      const running = yield* pool.running
      // Listed by worker; which idle worker took which job is the scheduler's choice.
      assert.deepStrictEqual(running.map((job) => job.worker), [1, 2])
      assert.deepStrictEqual(running.map((job) => job.id).sort(), ["a", "b"])
      assert.deepStrictEqual(running.map((job) => job.attempt), [1, 1])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual((yield* pool.running).map((job) => job.id), ["c"])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* pool.running, [])
    }))
})

describe("the sampler", () => {
  it.effect("a sample per tick, the running jobs for how long, run times from the outcomes", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({
        workers: 2,
        capacity: 1_000,
        handler: (job: { readonly payload: number }) =>
          job.payload % 4 === 0 ? Effect.fail("boom") : Effect.sleep(`${job.payload * 10} millis`)
      })
      const sampler = yield* Sampler.start([Dashboard.memory("pool", pool)], { interval: second, limits: Sampler.defaultLimits })
      yield* settle
      for (let n = 1; n <= 8; n++) yield* pool.submit(n, { id: `job-${n}` })
      yield* settle
      yield* TestClock.adjust("5 millis")
      const before = (yield* sampler.snapshot).queues[0]!
      assert.deepStrictEqual(before.series, [], "no sample before the first tick after the start")
      yield* TestClock.adjust("995 millis")
      yield* settle
      const queue = (yield* sampler.snapshot).queues[0]!
      assert.strictEqual(queue.series.length, 1)
      assert.strictEqual(queue.series[0]!.ended, queue.stats.succeeded + queue.stats.failed)
      assert.strictEqual(queue.series[0]!.failed, queue.stats.failed)
      // Every job is still counted once the last one has ended.
      yield* TestClock.adjust("2 seconds")
      yield* settle
      const later = (yield* sampler.snapshot).queues[0]!
      assert.strictEqual(later.series.reduce((sum, s) => sum + s.ended, 0), 8)
      assert.strictEqual(later.series.reduce((sum, s) => sum + s.failed, 0), 2)
      // Run times: 10, 20, 30, 50, 60, 70 ms, and the two failures at 0.
      assert.deepStrictEqual(later.percentiles, { p50: 20, p90: 70, p99: 70, count: 8 })
      assert.strictEqual(later.recent.length, 8)
      assert.strictEqual(later.recent.find((r) => r.id === "job-4")?.error, "boom")
    }))

  it.effect("a long error is cut at 500 characters in the snapshot, never between the halves of a character", () =>
    Effect.gen(function*() {
      const long = (job: { readonly payload: number }) => `${"x".repeat(Sampler.maxText - job.payload)}😀${"y".repeat(10)}`
      const pool = yield* Pool.make({ workers: 1, handler: (job: { readonly payload: number }) => Effect.fail(long(job)) })
      const sampler = yield* Sampler.start([Dashboard.memory("pool", pool)], { interval: second, limits: Sampler.defaultLimits })
      yield* settle
      // The emoji's two halves across the cut, then just before it.
      yield* pool.submit(1, { id: "across" })
      yield* pool.submit(2, { id: "before" })
      yield* settle
      yield* TestClock.adjust(second)
      yield* settle
      const errors = Object.fromEntries((yield* sampler.snapshot).queues[0]!.recent.map((r) => [r.id, r.error]))
      assert.deepStrictEqual(errors, {
        across: `${"x".repeat(Sampler.maxText - 1)}…`,
        before: `${"x".repeat(Sampler.maxText - 2)}😀…`
      })
    }))

  it.effect("an in-memory pool's ids of any length are cut in the snapshot, running and recent alike", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: (job: { readonly payload: number }) => job.payload === 1 ? Effect.void : Effect.never, shutdown: { timeout: 0 } })
      const sampler = yield* Sampler.start([Dashboard.memory("pool", pool)], { interval: second, limits: Sampler.defaultLimits })
      yield* settle
      const long = (n: number) => `${n}`.repeat(1_000_000)
      yield* pool.submit(1, { id: long(1) })
      yield* settle
      yield* pool.submit(2, { id: long(2) })
      yield* settle
      yield* TestClock.adjust(second)
      yield* settle
      const queue = (yield* sampler.snapshot).queues[0]!
      assert.deepStrictEqual(queue.recent.map((r) => r.id), [`${"1".repeat(Sampler.maxText)}…`])
      assert.deepStrictEqual(queue.running.map((r) => r.id), [`${"2".repeat(Sampler.maxText)}…`])
      assert.isBelow(JSON.stringify(yield* sampler.snapshot).length, 5_000)
    }))

  it.effect("a running job shows how long it has run, by the pool's clock", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.sleep("1 minute"), shutdown: { timeout: 0 } })
      const sampler = yield* Sampler.start([Dashboard.memory("pool", pool)], { interval: second, limits: Sampler.defaultLimits })
      yield* settle
      yield* pool.submit("x", { id: "long" })
      yield* settle
      yield* TestClock.adjust("3 seconds")
      yield* settle
      const running = (yield* sampler.snapshot).queues[0]!.running
      assert.deepStrictEqual(running, [{ id: "long", worker: 1, attempt: 1, ms: 3_000 }])
    }))

  it.effect("the snapshot stays the same size however many jobs flow", () =>
    Effect.gen(function*() {
      const limits = { ...Sampler.defaultLimits, samples: 5, recent: 10, runTimes: 100 }
      const pool = yield* Pool.make({ workers: 4, capacity: 1_000, handler: () => Effect.sleep("1 millis") })
      const sampler = yield* Sampler.start([Dashboard.memory("pool", pool)], { interval: second, limits })
      yield* settle
      const sizeAfter = (jobs: number) =>
        Effect.gen(function*() {
          const submitting = yield* Effect.forkChild(pool.submitAll(Array.from({ length: jobs }, (_, i) => i)))
          for (let t = 0; t < 10; t++) {
            yield* TestClock.adjust("1 second")
            yield* settle
          }
          yield* Fiber.join(submitting)
          while ((yield* pool.stats).queued + (yield* pool.stats).active > 0) {
            yield* TestClock.adjust("1 second")
            yield* settle
          }
          yield* TestClock.adjust("1 second")
          yield* settle
          const queue = (yield* sampler.snapshot).queues[0]!
          assert.strictEqual(queue.series.length, 5)
          assert.strictEqual(queue.recent.length, 10)
          assert.strictEqual(queue.percentiles?.count, 100)
          for (const queueState of sampler.queues) {
            assert.strictEqual(queueState.series.items.length, 5)
            assert.strictEqual(queueState.runTimes.items.length, 100)
            assert.strictEqual(queueState.recent.items.length, 10)
          }
          return JSON.stringify(yield* sampler.snapshot).length
        })
      const small = yield* sizeAfter(200)
      const large = yield* sizeAfter(20_000)
      assert.strictEqual((yield* pool.stats).succeeded, 20_200)
      // Only the digits of the counts grow.
      assert.isBelow(large, small + 200, `${small} -> ${large}`)
      assert.isBelow(large, 10_000)
    }))
})

describe("dead letters", () => {
  it.effect("a payload over the preview's bound is not read off the store: it is shown by its size", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* Durable.make({
        store,
        queue: "q",
        schema: Schema.String,
        workers: 1,
        maxAttempts: 1,
        handler: () => Effect.fail("no")
      })
      const large = "x".repeat(Sampler.previewedPayloadBytes)
      yield* pool.submit("small", { id: "small" })
      yield* pool.submit(large, { id: "large" })
      yield* TestClock.adjust("1 second")
      yield* settle
      const sampler = yield* Sampler.start([Dashboard.durable("q", pool)], { interval: second, limits: Sampler.defaultLimits })
      const letters = (yield* sampler.snapshot).queues[0]!.deadLetters
      assert.deepStrictEqual(letters.map((letter) => [letter.id, letter.payload]), [
        ["small", "small"],
        ["large", "(over 16 KiB of JSON: not read)"]
      ])
    }))
})

describe("a store that fails", () => {
  it.effect("the queue is still shown, with the store's last counts and why they are not fresh", () =>
    Effect.gen(function*() {
      let down = false
      const counts = { ready: 2, leased: 0, completed: 5, buried: 0 }
      const admin = {
        counts: Effect.suspend(() => down ? Effect.fail(new StoreError({ operation: "count", reason: "connection refused" })) : Effect.succeed(counts)),
        deadLetters: () => Effect.succeed([]),
        upcoming: () => Effect.succeed(undefined),
        isPaused: Effect.succeed(false)
      } as unknown as Admin
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const queue: Dashboard.Queue = { ...Dashboard.memory("q", pool), kind: "durable", admin }
      const sampler = yield* Sampler.start([queue], { interval: second, limits: Sampler.defaultLimits })
      assert.deepStrictEqual((yield* sampler.snapshot).queues[0]!.counts, counts)
      down = true
      yield* TestClock.adjust("1 second")
      yield* settle
      const shown = (yield* sampler.snapshot).queues[0]!
      assert.deepStrictEqual(shown.counts, counts)
      assert.match(shown.storeError ?? "", /connection refused/)
      down = false
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual((yield* sampler.snapshot).queues[0]!.storeError, undefined)
    }))

  it.effect("its last waiting jobs are shown, and whether a page follows them, as last read", () =>
    Effect.gen(function*() {
      let down = false
      const waiting = Array.from({ length: 3 }, (_, i) => ({ id: `w${i}`, runAt: new Date(1_700_000_000_000 + i), attempts: 0, cursor: `${i}` }))
      const admin = {
        counts: Effect.suspend(() =>
          down
            ? Effect.fail(new StoreError({ operation: "count", reason: "connection refused" }))
            : Effect.succeed({ ready: 3, leased: 0, completed: 0, buried: 0 })
        ),
        deadLetters: () => Effect.succeed([]),
        upcoming: (limit: number) => Effect.succeed(waiting.slice(0, limit)),
        isPaused: Effect.succeed(false)
      } as unknown as Admin
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const queue: Dashboard.Queue = { ...Dashboard.memory("q", pool), kind: "durable", admin }
      const sampler = yield* Sampler.start([queue], { interval: second, limits: { ...Sampler.defaultLimits, upcoming: 2 } })
      const before = (yield* sampler.snapshot).queues[0]!
      assert.deepStrictEqual(before.upcoming?.map((job) => job.id), ["w0", "w1"])
      assert.isTrue(before.moreUpcoming)
      down = true
      yield* TestClock.adjust("1 second")
      yield* settle
      const shown = (yield* sampler.snapshot).queues[0]!
      assert.match(shown.storeError ?? "", /connection refused/)
      assert.deepStrictEqual(shown.upcoming?.map((job) => job.id), ["w0", "w1"])
      assert.isTrue(shown.moreUpcoming, "a store that failed this tick has not said that no page follows")
    }))
})

describe("a slow store", () => {
  it.effect("holds up its own queue's ticks only; each sample covers the time since the one before", () =>
    Effect.gen(function*() {
      const admin = {
        counts: Effect.as(Effect.sleep("1500 millis"), { ready: 0, leased: 0, completed: 0, buried: 0 }),
        deadLetters: () => Effect.succeed([]),
        upcoming: () => Effect.succeed(undefined),
        isPaused: Effect.succeed(false)
      } as unknown as Admin
      const slowPool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const slow: Dashboard.Queue = { ...Dashboard.memory("slow", slowPool), kind: "durable", admin }
      const pool = yield* Pool.make({ workers: 1, capacity: 100, handler: () => Effect.void })
      const started = yield* Effect.forkChild(Sampler.start([slow, Dashboard.memory("pool", pool)], { interval: second, limits: Sampler.defaultLimits }))
      yield* TestClock.adjust("1500 millis")
      const sampler = yield* Fiber.join(started)
      // Ten jobs a second, as ten seconds pass.
      for (let t = 0; t < 10; t++) {
        for (let n = 0; n < 10; n++) yield* pool.submit(n)
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const [slowQueue, fastQueue] = (yield* sampler.snapshot).queues
      // A tick a second from the start, its first before the jobs began.
      assert.deepStrictEqual(fastQueue!.series.map((sample) => [sample.seconds, sample.ended]), [[1, 0], ...Array(10).fill([1, 10])])
      // A tick every 2.5 s: the second's wait, then the store's 1.5 s.
      assert.deepStrictEqual(slowQueue!.series.map((sample) => sample.seconds), [2.5, 2.5, 2.5, 2.5])
      const times = slowQueue!.series.map((sample) => sample.t)
      assert.deepStrictEqual(times.slice(1).map((t, i) => t - times[i]!), [2_500, 2_500, 2_500])
    }))
})

describe("a store whose answers take varying times", () => {
  it.effect("each sample is the pool's counters as of when they were read, and the time since the ones before", () =>
    Effect.gen(function*() {
      const delays = [300, 1_500, 700]
      let asked = 0
      const admin = {
        counts: Effect.suspend(() =>
          Effect.as(Effect.sleep(Duration.millis(delays[asked++ % delays.length]!)), { ready: 0, leased: 0, completed: 0, buried: 0 })
        ),
        deadLetters: () => Effect.succeed([]),
        upcoming: () => Effect.succeed(undefined),
        isPaused: Effect.succeed(false)
      } as unknown as Admin
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const readAt: Array<number> = []
      const stats = Effect.andThen(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => readAt.push(now))), pool.stats)
      const queue: Dashboard.Queue = { ...Dashboard.memory("q", pool), kind: "durable", admin, stats }
      const started = yield* Effect.forkChild(Sampler.start([queue], { interval: second, limits: Sampler.defaultLimits }))
      for (let t = 0; t < 100; t++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      const sampler = yield* Fiber.join(started)
      const { series } = (yield* sampler.snapshot).queues[0]!
      assert.isAtLeast(series.length, 4)
      assert.deepStrictEqual(series.map((sample) => sample.t), readAt.slice(1, series.length + 1))
      assert.deepStrictEqual(series.map((sample) => sample.seconds), readAt.slice(1, series.length + 1).map((t, i) => (t - readAt[i]!) / 1000))
    }))

  it("a sample's time is measured on the monotonic clock: a jump of the wall clock makes it no longer", () => {
    const queue = Sampler.makeQueue(idleQueue("q"))
    const stats = (succeeded: number) => ({
      workers: 1, queued: 0, delayed: 0, active: 0, submitted: succeeded, succeeded, failed: 0, died: 0,
      interrupted: 0, cancelled: 0, abandoned: 0, droppedOutcomes: 0
    })
    const store = { counts: undefined, deadLetters: [], upcoming: undefined, moreUpcoming: false, paused: undefined, error: undefined }
    Sampler.tick(queue, { now: 1_000_000, monotonic: 50_000 }, stats(0), [], store)
    // The wall clock set an hour ahead between two ticks a second apart, then an hour back.
    Sampler.tick(queue, { now: 1_000_000 + 3_601_000, monotonic: 51_000 }, stats(10), [], store)
    Sampler.tick(queue, { now: 1_002_000, monotonic: 52_000 }, stats(20), [], store)
    assert.deepStrictEqual(queue.snapshot.series.map((sample) => [sample.seconds, sample.ended]), [[1, 10], [1, 10]])
  })

  it.effect("a first tick that dies fails the start, as the defect it is", () =>
    Effect.gen(function*() {
      const broken: Dashboard.Queue = { ...idleQueue("broken"), stats: Effect.die(new Error("stats broke")) }
      const started = yield* Effect.forkChild(Sampler.start([broken], { interval: second, limits: Sampler.defaultLimits }))
      yield* settle
      const exit = started.pollUnsafe()
      assert.isDefined(exit, "the start still waits for a tick that died")
      assert.match(String(exit), /stats broke/)
    }))

  it.effect("the first ticks of several slow stores are read at once: the dashboard starts after the slowest, not their sum", () =>
    Effect.gen(function*() {
      const slowQueue = (name: string) =>
        Effect.map(Pool.make({ workers: 1, handler: () => Effect.void }), (pool): Dashboard.Queue => ({
          ...Dashboard.memory(name, pool),
          kind: "durable",
          admin: {
            counts: Effect.as(Effect.sleep("1500 millis"), { ready: 0, leased: 0, completed: 0, buried: 0 }),
            deadLetters: () => Effect.succeed([]),
            upcoming: () => Effect.succeed(undefined),
            isPaused: Effect.succeed(false)
          } as unknown as Admin
        }))
      const queues = [yield* slowQueue("a"), yield* slowQueue("b"), yield* slowQueue("c")]
      const started = yield* Effect.forkChild(Sampler.start(queues, { interval: second, limits: Sampler.defaultLimits }))
      yield* settle
      yield* TestClock.adjust("1500 millis")
      yield* settle
      assert.isDefined(started.pollUnsafe(), "the dashboard still starting after 1.5 s")
    }))
})

describe("routes", () => {
  /**
   * An admin whose store holds one dead letter, "dead-1", and one ready job,
   * "ready-1"; its queue is paused by another process (its `pause` changes
   * nothing), and runs once resumed.
   */
  const fakeAdmin = (calls: Array<string>, paused = { now: true }): Admin => ({
    counts: Effect.succeed({ ready: 1, leased: 0, completed: 0, buried: 1 }),
    deadLetters: () => Effect.succeed([{ id: "dead-1", payload: { to: "ada" }, attempts: 3, error: "Error: bounced" }]),
    upcoming: () => Effect.succeed([{ id: "later-1", runAt: new Date(1_700_000_000_000), attempts: 0 }]),
    lookup: () => Effect.succeed(undefined),
    pause: Effect.sync(() => (calls.push("pause"), false)),
    resume: Effect.sync(() => {
      calls.push("resume")
      const changed = paused.now
      paused.now = false
      return changed
    }),
    isPaused: Effect.sync(() => paused.now),
    cancelWaiting: Effect.sync(() => (calls.push("cancelWaiting"), 2)),
    redrive: (ids) =>
      Effect.sync(() => {
        calls.push(`redrive ${ids === undefined ? "all" : [...ids].join(",")}`)
        return ids === undefined || [...ids].includes("dead-1") ? 1 : 0
      }),
    remove: (ids) => Effect.sync(() => (calls.push(`remove ${ids === undefined ? "all" : [...ids].join(",")}`), 1)),
    cancel: (id) => Effect.sync(() => (calls.push(`cancel ${id}`), id === "ready-1" ? "ready" as const : undefined))
  })

  /** The durable queue "emails", idle, acted on through `admin`. */
  const emailsQueue = (admin: Admin, periodic: Dashboard.Queue["periodic"] = []): Dashboard.Queue => ({
    name: "emails",
    kind: "durable",
    stats: Effect.succeed({
      workers: 0, queued: 0, delayed: 0, active: 0, submitted: 0, succeeded: 0, failed: 0, died: 0,
      interrupted: 0, cancelled: 0, abandoned: 0, droppedOutcomes: 0
    }),
    running: Effect.succeed([]),
    outcomes: Stream.never,
    admin,
    periodic
  })

  const served = async (calls: Array<string>, token: string | undefined, hosts?: ReadonlyArray<string>) => {
    const queue = emailsQueue(fakeAdmin(calls), [{ name: "nightly", cron: "0 3 * * *" }])
    return HttpRouter.toWebHandler(Dashboard.routes({ queues: [queue], token, hosts }), { disableLogger: true })
  }
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    new Request(`http://127.0.0.1:8080${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "x-dashboard-token": "s3cret", ...headers }
    })

  it("the page, its assets and the snapshot, with the dead letters and the periodic jobs", async () => {
    const { dispose, handler } = await served([], "s3cret")
    try {
      const page = await handler(new Request("http://127.0.0.1:8080/"))
      assert.strictEqual(page.status, 200)
      assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/)
      assert.match(await page.text(), /<script src="dashboard.js"/)
      assert.strictEqual((await handler(new Request("http://127.0.0.1:8080/dashboard.js"))).status, 200)
      const snapshot: any = await (await handler(new Request("http://127.0.0.1:8080/api/snapshot"))).json()
      assert.strictEqual(snapshot.actions, true)
      assert.deepStrictEqual(snapshot.queues[0].counts, { ready: 1, leased: 0, completed: 0, buried: 1 })
      assert.deepStrictEqual(snapshot.queues[0].deadLetters, [
        { id: "dead-1", attempts: 3, error: "Error: bounced", payload: "{\"to\":\"ada\"}" }
      ])
      assert.deepStrictEqual(snapshot.queues[0].periodic, [{ name: "nightly", cron: "0 3 * * *" }])
      assert.deepStrictEqual(snapshot.queues[0].upcoming, [{ id: "later-1", runAt: 1_700_000_000_000, attempts: 0 }])
      assert.isFalse(snapshot.queues[0].moreUpcoming, "one waiting job, of 50 shown at most: no page follows")
    } finally {
      await dispose()
    }
  })

  it("actions with the token are done; without it, from another site, or with bad bodies, refused with a 4xx JSON error", async () => {
    const calls: Array<string> = []
    const { dispose, handler } = await served(calls, "s3cret")
    const answer = async (request: Request) => {
      const response = await handler(request)
      return { status: response.status, body: (await response.json()) as any }
    }
    try {
      assert.deepStrictEqual(await answer(post("/api/queues/emails/redrive", "{\"ids\":[\"dead-1\"]}")), {
        status: 200,
        body: { redriven: 1 }
      })
      const withCharset = { "content-type": "application/json; charset=utf-8" }
      assert.deepStrictEqual(await answer(post("/api/queues/emails/cancel", "{\"id\":\"ready-1\"}", withCharset)), {
        status: 200,
        body: { found: "ready" }
      })
      assert.deepStrictEqual(await answer(post("/api/queues/emails/cancel-waiting", "{}")), { status: 200, body: { cancelled: 2 } })
      // Through the queue's admin (it has no pausing of its own): paused already, then resumed;
      // `changed` false when it was so already, `paused` read back.
      assert.deepStrictEqual(await answer(post("/api/queues/emails/pause", "{}")), { status: 200, body: { paused: true, changed: false } })
      assert.deepStrictEqual(await answer(post("/api/queues/emails/resume", "{}")), { status: 200, body: { paused: false, changed: true } })
      const refused: Array<[Request, number]> = [
        [post("/api/queues/emails/redrive", "{\"all\":true}", { "x-dashboard-token": "" }), 403],
        [post("/api/queues/emails/redrive", "{\"all\":true}", { "x-dashboard-token": "guess" }), 403],
        [post("/api/queues/emails/pause", "{}", { "x-dashboard-token": "guess" }), 403],
        [post("/api/queues/emails/pause", "[]"), 400],
        [post("/api/queues/emails/cancel-waiting", "{}", { "x-dashboard-token": "guess" }), 403],
        [post("/api/queues/local/cancel-waiting", "{}"), 404],
        [post("/api/queues/emails/redrive", "{\"all\":true}", { origin: "http://evil.example" }), 403],
        [post("/api/queues/emails/redrive", "{\"all\":true}", { "sec-fetch-site": "cross-site" }), 403],
        [post("/api/queues/emails/redrive", "{\"all\":true}", { "content-type": "text/plain" }), 415],
        [post("/api/queues/emails/redrive", "{\"all\":true}", { "content-type": "application/json-evil" }), 415],
        [post("/api/queues/emails/redrive", "{\"all\":"), 400],
        [post("/api/queues/emails/redrive", "{}"), 400],
        [post("/api/queues/emails/redrive", "x".repeat(Security.maxBodyBytes + 1)), 413],
        [post("/api/queues/emails/cancel", "{\"id\":\"nobody\"}"), 404],
        [post("/api/queues/other/cancel", "{\"id\":\"ready-1\"}"), 404],
        [post("/api/queues/emails/explode", "{}"), 404]
      ]
      for (const [request, status] of refused) {
        const { body, status: got } = await answer(request)
        assert.strictEqual(got, status, JSON.stringify(body))
        assert.isString(body.error)
      }
      // Only the accepted actions, and the unknown id's cancel, reached the store.
      assert.deepStrictEqual(calls, ["redrive dead-1", "cancel ready-1", "cancelWaiting", "pause", "resume", "cancel nobody"])
    } finally {
      await dispose()
    }
  })

  it("an admin built by hand without cancelWaiting (as before it came): its cancel-waiting is a 400, answered", async () => {
    const calls: Array<string> = []
    const { cancelWaiting: _, ...admin } = fakeAdmin(calls)
    const { dispose, handler } = HttpRouter.toWebHandler(
      Dashboard.routes({ queues: [emailsQueue(admin as Admin)], token: "s3cret" }),
      { disableLogger: true }
    )
    try {
      const answered = await Promise.race([
        handler(post("/api/queues/emails/cancel-waiting", "{}")),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000))
      ])
      assert.isDefined(answered, "no answer within 2 s")
      assert.strictEqual(answered!.status, 400)
      assert.match(((await answered!.json()) as any).error, /cannot cancel its waiting jobs/)
      assert.deepStrictEqual(calls, [])
    } finally {
      await Promise.race([dispose(), new Promise((resolve) => setTimeout(resolve, 1_000))])
    }
  })

  it.live("an in-memory pool is paused and resumed by its actions, and its snapshot says so; it has no other actions", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const queues = [Dashboard.memory("local", pool)]
      const { dispose, handler } = HttpRouter.toWebHandler(
        Dashboard.routes({ queues, token: "s3cret", interval: "20 millis" }),
        { disableLogger: true }
      )
      yield* Effect.addFinalizer(() => Effect.promise(dispose))
      const answer = (request: Request) =>
        Effect.promise(async () => {
          const response = await handler(request)
          return { status: response.status, body: (await response.json()) as any }
        })
      const pausedInSnapshot = Effect.promise(async () => {
        const snapshot: any = await (await handler(new Request("http://127.0.0.1:8080/api/snapshot"))).json()
        return snapshot.queues[0].paused as boolean | undefined
      })

      assert.deepStrictEqual(yield* answer(post("/api/queues/local/pause", "{}")), { status: 200, body: { paused: true, changed: true } })
      assert.isTrue(yield* pool.isPaused)
      yield* waitUntil("the snapshot says the pool is paused", Effect.map(pausedInSnapshot, (paused) => paused === true), 5_000, "20 millis")
      assert.deepStrictEqual(yield* answer(post("/api/queues/local/pause", "{}")), { status: 200, body: { paused: true, changed: false } })

      assert.deepStrictEqual(yield* answer(post("/api/queues/local/resume", "{}")), { status: 200, body: { paused: false, changed: true } })
      assert.isFalse(yield* pool.isPaused)
      yield* waitUntil("the snapshot says the pool runs", Effect.map(pausedInSnapshot, (paused) => paused === false), 5_000, "20 millis")

      const redrive = yield* answer(post("/api/queues/local/redrive", "{\"all\":true}"))
      assert.strictEqual(redrive.status, 400)
      assert.match(redrive.body.error, /in-memory pool/)

      // Shut down, it is no longer paused, and cannot be.
      yield* pool.pause
      yield* pool.shutdown()
      assert.deepStrictEqual(yield* answer(post("/api/queues/local/pause", "{}")), { status: 200, body: { paused: false, changed: false } })
    }).pipe(Effect.scoped))

  it.live("a pool shown without a pausing of its own has no pause: its snapshot says nothing of it, and its pause is a 400", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const queues = [{ ...Dashboard.memory("bare", pool), pausing: undefined }]
      const { dispose, handler } = HttpRouter.toWebHandler(
        Dashboard.routes({ queues, token: "s3cret", interval: "20 millis" }),
        { disableLogger: true }
      )
      yield* Effect.addFinalizer(() => Effect.promise(dispose))
      const response = yield* Effect.promise(() => handler(post("/api/queues/bare/pause", "{}")))
      assert.strictEqual(response.status, 400)
      assert.match(((yield* Effect.promise(() => response.json())) as any).error, /cannot be paused/)
      assert.isFalse(yield* pool.isPaused)
      const card = Effect.promise(async () => ((await (await handler(new Request("http://127.0.0.1:8080/api/snapshot"))).json()) as any).queues[0])
      // Ticks have read the pool (a sample follows the second): still nothing said of a pause.
      yield* waitUntil("the dashboard has sampled the pool", Effect.map(card, (queue) => queue.series.length > 0), 5_000, "20 millis")
      const queue = yield* card
      assert.isFalse("paused" in queue, JSON.stringify(queue))
    }).pipe(Effect.scoped))

  it("served by Dashboard.layer, a path or a method no route takes, or a path the router cannot read, is a 404 JSON error with the headers of every answer", async () => {
    const server = Layer.provideMerge(
      Dashboard.layer({ queues: [emailsQueue(fakeAdmin([]))], token: "s3cret" }),
      NodeHttpServer.layer(() => createServer(), { host: "127.0.0.1", port: 0 })
    )
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(server)
      const { port } = Context.get(context, HttpServer.HttpServer).address as { readonly port: number }
      const requests = [
        ["GET", "/nothing"],
        ["GET", "/api/queues/emails/redrive"],
        ["PUT", "/api/snapshot"],
        ["POST", "/api/queues/%E0%A4%A/cancel"]
      ] as const
      for (const [method, path] of requests) {
        const what = `${method} ${path}`
        const response = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}${path}`, { method, ...(method === "GET" ? {} : { body: "{}" }) })
        )
        assert.strictEqual(response.status, 404, what)
        assert.deepStrictEqual(yield* Effect.promise(() => response.json()), { error: `no ${what} here` })
        assert.strictEqual(response.headers.get("x-content-type-options"), "nosniff", what)
        assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/, what)
      }
    })))
  })

  it("Dashboard.routes on an application's router leaves what its routes do not take to the application", async () => {
    const app = Layer.mergeAll(
      Dashboard.routes({ queues: [emailsQueue(fakeAdmin([]))], token: "s3cret", hosts: ["dash.example"] }),
      HttpRouter.add("*", "*", Effect.succeed(HttpServerResponse.text("the application's own", { status: 404 })))
    )
    const { dispose, handler } = HttpRouter.toWebHandler(app, { disableLogger: true })
    try {
      // A fetch Request carries no Host header of its own: each names its host as a browser would.
      const get = (host: string, path: string) => handler(new Request(`http://${host}${path}`, { headers: { host } }))
      for (const host of ["app.example", "dash.example"]) {
        const response = await get(host, "/users/1")
        assert.deepStrictEqual([response.status, await response.text()], [404, "the application's own"], host)
      }
      assert.strictEqual((await get("dash.example", "/api/snapshot")).status, 200)
    } finally {
      await dispose()
    }
  })

  it("a body that declares itself larger than an action's can be is refused at once, before any of it is sent", async () => {
    const calls: Array<string> = []
    const queue = emailsQueue(fakeAdmin(calls))
    const server = Layer.provideMerge(
      Dashboard.layer({ queues: [queue], token: "s3cret" }),
      NodeHttpServer.layer(() => Object.assign(createServer(), Dashboard.serverLimits), { host: "127.0.0.1", port: 0 })
    )
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(server)
      const address = Context.get(context, HttpServer.HttpServer).address as { readonly port: number }
      const answer = yield* Effect.promise(() =>
        new Promise<string>((resolve) => {
          const socket = connect(address.port, "127.0.0.1")
          let received = ""
          socket.on("data", (chunk) => {
            received += chunk.toString("latin1")
            if (received.includes("\r\n\r\n")) {
              socket.destroy()
              resolve(received)
            }
          })
          // The head only: a server that waited for the body would never answer.
          socket.write(
            "POST /api/queues/emails/redrive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
              "X-Dashboard-Token: s3cret\r\nContent-Length: 1000000000\r\n\r\n"
          )
        })
      )
      assert.match(answer, /^HTTP\/1\.1 413 /)
      assert.deepStrictEqual(calls, [])
    })))
  })

  it("an action whose store times out is logged and answered as of unknown outcome, not refused; one whose client goes away, logged", async () => {
    const { layer, lines } = capture()
    // A remove that fails with `error`, or never answers.
    const failing = (error: StoreError | undefined) =>
      emailsQueue({ ...fakeAdmin([]), remove: () => error === undefined ? Effect.never : Effect.fail(error) })
    const serve = (error: StoreError | undefined) =>
      HttpRouter.toWebHandler(
        Layer.merge(Dashboard.routes({ queues: [failing(error)], token: "s3cret" }), layer),
        { disableLogger: true }
      )
    const timedOut = serve(new StoreError({ operation: "remove", reason: "no answer within 5000 ms" }))
    const closed = serve(new StoreError({ operation: "remove", reason: "the store is closed", retryable: false }))
    const hanging = serve(undefined)
    try {
      const unknown = await timedOut.handler(post("/api/queues/emails/remove", "{\"ids\":[\"dead-1\"]}"))
      assert.strictEqual(unknown.status, 503)
      assert.match(((await unknown.json()) as any).outcome, /^unknown/)
      assert.isTrue(lines.some((line) => line.message === "dashboard action failed; it may have been done" && line.annotations.ids === "dead-1"))
      const refused = await closed.handler(post("/api/queues/emails/remove", "{\"ids\":[\"dead-2\"]}"))
      assert.strictEqual(refused.status, 503)
      assert.isUndefined(((await refused.json()) as any).outcome)
      assert.isTrue(lines.some((line) => line.message === "dashboard action refused" && line.annotations.ids === "dead-2"))
      // The client goes away while the store has the action: still a line naming it.
      const abort = new AbortController()
      const request = new Request(post("/api/queues/emails/remove", "{\"ids\":[\"dead-3\"]}"), { signal: abort.signal })
      const answered = hanging.handler(request).catch(() => undefined)
      await new Promise((resolve) => setTimeout(resolve, 50))
      abort.abort()
      await answered
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.isTrue(
        lines.some((line) => line.message === "dashboard action interrupted; it may have been done" && line.annotations.ids === "dead-3"),
        JSON.stringify(lines.map((line) => line.message))
      )
    } finally {
      await Promise.all([timedOut.dispose(), closed.dispose(), hanging.dispose()])
    }
  })

  it("a server with serverLimits answers at most 100 requests a connection to a client that sends them without reading, then closes it", async () => {
    const server = Object.assign(createServer((_request, response) => response.end("ok")), Dashboard.serverLimits)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    try {
      const socket = connect(port, "127.0.0.1")
      let received = ""
      socket.on("data", (chunk) => received += chunk.toString("latin1"))
      const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()))
      socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(500))
      await ended
      const ok = received.split("HTTP/1.1 200").length - 1
      assert.isAtMost(ok, 100)
      assert.isAtLeast(ok, 1)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it("every request of a tick gets the same snapshot document, made once; the next tick's is new", async () => {
    const queue = (name: string) => ({ name }) as unknown as Sampler.QueueSnapshot
    let queues = [queue("a"), queue("b")]
    let made = 0
    // A sampler whose snapshot is read afresh on every request (`at` moves), as the real one's is.
    const sampler = { queues: [], snapshot: Effect.sync(() => ({ at: ++made, queues })) } as unknown as Sampler.Sampler
    const { dispose, handler } = HttpRouter.toWebHandler(samplerRoutes(sampler, { token: undefined, hosts: undefined }), {
      disableLogger: true
    })
    try {
      const at = async () => ((await (await handler(new Request("http://127.0.0.1:8080/api/snapshot"))).json()) as any).at
      const first = await at()
      assert.strictEqual(await at(), first)
      assert.strictEqual(await at(), first)
      queues = [queues[0]!, queue("b")] // a tick: one queue's snapshot is new
      const next = await at()
      assert.notStrictEqual(next, first)
      assert.strictEqual(await at(), next)
    } finally {
      await dispose()
    }
  })

  it("with hosts given, a request naming another Host gets nothing but a 403 (DNS rebinding)", async () => {
    const { dispose, handler } = await served([], "s3cret", Dashboard.loopbackHosts)
    try {
      const get = (path: string, host: string) => handler(new Request(`http://${host}${path}`, { headers: { host } }))
      for (const path of ["/", "/dashboard.js", "/api/snapshot", "/api/queues/emails/dead-letters?after=1", "/api/queues/emails/upcoming?after=1"]) {
        assert.strictEqual((await get(path, "127.0.0.1:8080")).status, 200, path)
        const refused = await get(path, "rebound.evil.example:8080")
        assert.strictEqual(refused.status, 403, path)
        assert.match(((await refused.json()) as any).error, /not one this dashboard answers/)
      }
      const action = await handler(post("/api/queues/emails/cancel", "{\"id\":\"ready-1\"}", { host: "rebound.evil.example" }))
      assert.strictEqual(action.status, 403)
      // The store's answer (no such job) to an allowed Host only.
      assert.strictEqual((await get("/api/queues/emails/job?id=x", "127.0.0.1:8080")).status, 404)
      assert.strictEqual((await get("/api/queues/emails/job?id=x", "rebound.evil.example")).status, 403)
    } finally {
      await dispose()
    }
  })

  /** The read-only routes of `queues`: a GET of `path`, answered as status and JSON body. */
  const reading = async (queues: ReadonlyArray<Dashboard.Queue>) => {
    const { dispose, handler } = await HttpRouter.toWebHandler(Dashboard.routes({ queues, token: undefined }), { disableLogger: true })
    const get = async (path: string) => {
      const response = await handler(new Request(`http://127.0.0.1:8080${path}`))
      // Every answer, refusals included, with the headers of every answer.
      assert.strictEqual(response.headers.get("x-content-type-options"), "nosniff", path)
      assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/, path)
      return { status: response.status, body: (await response.json()) as any }
    }
    /** Each of `refused` answered with its status and an error that matches. */
    const refuses = async (refused: ReadonlyArray<readonly [string, number, RegExp]>) => {
      for (const [path, status, error] of refused) {
        const answer = await get(path)
        assert.strictEqual(answer.status, status, path)
        assert.match(answer.body.error, error, path)
      }
    }
    return { dispose, get, refuses }
  }

  it("a later page of dead letters or of waiting jobs, after a cursor: as the snapshot lists the first, without a token; a bad request a 4xx, a store that fails a 503", async () => {
    const store = await Effect.runPromise(MemoryStore.make)
    await Effect.runPromise(Effect.gen(function*() {
      yield* store.offer("emails", Array.from({ length: 120 }, (_, i) => ({ id: `d${i}`, payload: { i } })))
      for (const lease of yield* store.claim("emails", 120, Duration.minutes(1))) yield* store.bury("emails", lease, "no")
      yield* store.offer("emails", Array.from({ length: 120 }, (_, i) => ({ id: `u${i}`, payload: { i }, delay: 60_000 })))
    }))
    const wentAway = (operation: string) => Effect.fail(new StoreError({ operation, reason: "the server went away", retryable: true }))
    const failing: Admin = { ...fakeAdmin([]), deadLetters: () => wentAway("buried"), upcoming: () => wentAway("upcoming") }
    const { dispose, get, refuses } = await reading([
      emailsQueue(Durable.admin({ store, queue: "emails" })),
      { ...emailsQueue(failing), name: "failing" }
    ])
    try {
      const snapshot = (await get("/api/snapshot")).body.queues[0]
      assert.isTrue(snapshot.moreUpcoming, "more jobs wait than the snapshot shows")
      const listings = [["dead-letters", "deadLetters", "d"], ["upcoming", "upcoming", "u"]] as const
      for (const [path, field, prefix] of listings) {
        const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`)
        const first: ReadonlyArray<{ readonly id: string; readonly cursor: string }> = snapshot[field]
        assert.deepStrictEqual(first.map((job) => job.id), ids(0, 50), path)
        const second = await get(`/api/queues/emails/${path}?after=${encodeURIComponent(first.at(-1)!.cursor)}`)
        assert.strictEqual(second.status, 200, path)
        assert.deepStrictEqual(second.body[field].map((job: any) => job.id), ids(50, 50), path)
        assert.isTrue(second.body.more, path)
        const third = await get(`/api/queues/emails/${path}?after=${encodeURIComponent(second.body[field].at(-1).cursor)}`)
        assert.deepStrictEqual(third.body[field].map((job: any) => job.id), ids(100, 20), path)
        assert.isFalse(third.body.more, path)
        await refuses([
          [`/api/queues/emails/${path}`, 400, /give "after"/],
          [`/api/queues/emails/${path}?after=1&after=2`, 400, /give "after"/],
          [`/api/queues/emails/${path}?after=next`, 400, /after/],
          [`/api/queues/nobody/${path}?after=1`, 404, /no queue "nobody"/],
          [`/api/queues/failing/${path}?after=1`, 503, /the server went away/]
        ])
      }
      const second = await get(`/api/queues/emails/dead-letters?after=${encodeURIComponent(snapshot.deadLetters.at(-1).cursor)}`)
      assert.deepStrictEqual(second.body.deadLetters[0].payload, "{\"i\":50}")
      assert.strictEqual((await get(`/api/queues/emails/upcoming?after=${encodeURIComponent(snapshot.upcoming.at(-1).cursor)}`)).body.upcoming[0].attempts, 0)
    } finally {
      await dispose()
    }
  })

  it("the waiting jobs' pages are limits.upcoming long, a full last page followed by none; a store that cannot list them is said so in the snapshot, and its later page is empty", async () => {
    const store = await Effect.runPromise(MemoryStore.make)
    const wait = (queue: string, n: number) =>
      store.offer(queue, Array.from({ length: n }, (_, i) => ({ id: `${queue}-${i}`, payload: i, delay: 60_000 + i })))
    await Effect.runPromise(Effect.andThen(wait("emails", 6), wait("exact", 2)))
    const { upcoming: _, ...unlisting } = store
    const queues = [
      emailsQueue(Durable.admin({ store, queue: "emails" })),
      { ...emailsQueue(Durable.admin({ store, queue: "exact" })), name: "exact" },
      { ...emailsQueue(Durable.admin({ store: unlisting, queue: "emails" })), name: "unlisting" }
    ]
    const { dispose, handler } = await HttpRouter.toWebHandler(
      Dashboard.routes({ queues, token: undefined, limits: { upcoming: 2, deadLetters: 3 } }),
      { disableLogger: true }
    )
    const get = async (path: string) => {
      const response = await handler(new Request(`http://127.0.0.1:8080${path}`))
      assert.strictEqual(response.status, 200, path)
      return (await response.json()) as any
    }
    try {
      const [emails, exact, unlisted] = (await get("/api/snapshot")).queues
      assert.deepStrictEqual([emails.upcoming.map((job: any) => job.id), emails.moreUpcoming], [["emails-0", "emails-1"], true])
      assert.deepStrictEqual([exact.upcoming.map((job: any) => job.id), exact.moreUpcoming], [["exact-0", "exact-1"], false], "exactly a page: none follows")
      assert.deepStrictEqual([unlisted.upcoming, unlisted.moreUpcoming], [undefined, false])
      const after = (cursor: string) => get(`/api/queues/emails/upcoming?after=${encodeURIComponent(cursor)}`)
      const second = await after(emails.upcoming.at(-1).cursor)
      assert.deepStrictEqual([second.upcoming.map((job: any) => job.id), second.more], [["emails-2", "emails-3"], true])
      const third = await after(second.upcoming.at(-1).cursor)
      assert.deepStrictEqual([third.upcoming.map((job: any) => job.id), third.more], [["emails-4", "emails-5"], false], "a full last page")
      assert.deepStrictEqual(await get(`/api/queues/unlisting/upcoming?after=${encodeURIComponent(second.upcoming.at(-1).cursor)}`), { upcoming: [], more: false })
    } finally {
      await dispose()
    }
  })

  it("the reads of a queue's store run at most readsAtOnce at a time, more refused at once; one whose store dies is a 503, said", async () => {
    const gate = Effect.runSync(Deferred.make<void>())
    let started = 0
    const hanging: Admin = {
      ...fakeAdmin([]),
      // The pages' reads (after a cursor) wait for the gate; the snapshot's, each tick, does not.
      deadLetters: (_limit, options) =>
        options?.after === undefined
          ? Effect.succeed([])
          : Effect.andThen(Effect.sync(() => started++), Effect.as(Deferred.await(gate), [])),
      lookup: () => Effect.die(new Error("the store's bug"))
    }
    const { dispose, get, refuses } = await reading([emailsQueue(hanging)])
    try {
      const held = Array.from({ length: readsAtOnce }, () => get("/api/queues/emails/dead-letters?after=1"))
      while (started < readsAtOnce) await new Promise((resolve) => setTimeout(resolve, 5))
      await refuses([
        ["/api/queues/emails/dead-letters?after=2", 503, new RegExp(`${readsAtOnce} reads of emails's store are running`)],
        ["/api/queues/emails/upcoming?after=2", 503, /running: try again/],
        ["/api/queues/emails/job?id=x", 503, /running: try again/]
      ])
      Effect.runSync(Deferred.succeed(gate, undefined))
      for (const answer of await Promise.all(held)) assert.deepStrictEqual(answer, { status: 200, body: { deadLetters: [], more: false } })
      await refuses([["/api/queues/emails/job?id=x", 503, /the store's bug/]])
      assert.strictEqual(started, readsAtOnce, "the refused reads never reached the store")
    } finally {
      await dispose()
    }
  })

  it("a job looked up by id, without a token: its state, attempts, priority, run-at and error; an unknown id a 404, a bad one a 400", async () => {
    const store = await Effect.runPromise(MemoryStore.make)
    const at = await Effect.runPromise(Effect.gen(function*() {
      yield* store.offer("emails", [{ id: "dead", payload: 1, priority: -3 }, { id: "later", payload: 2, delay: 60_000 }])
      const [lease] = yield* store.claim("emails", 1, Duration.minutes(1))
      yield* store.bury("emails", lease!, "Error: " + "x".repeat(600))
      return (yield* store.lookup("emails", "later"))!.runAt!.getTime()
    }))
    const { dispose, get, refuses } = await reading([emailsQueue(Durable.admin({ store, queue: "emails" }))])
    try {
      const dead = await get("/api/queues/emails/job?id=dead")
      assert.strictEqual(dead.status, 200)
      assert.deepStrictEqual({ ...dead.body.job, error: dead.body.job.error.length }, {
        id: "dead", state: "buried", attempts: 1, priority: -3, error: 501
      })
      assert.deepStrictEqual((await get("/api/queues/emails/job?id=later")).body.job, {
        id: "later", state: "ready", attempts: 0, priority: 0, runAt: at
      })
      await refuses([
        ["/api/queues/emails/job?id=nobody", 404, /no job "nobody" in queue emails/],
        ["/api/queues/emails/job", 400, /give "id"/],
        ["/api/queues/emails/job?id=a&id=b", 400, /give "id"/],
        [`/api/queues/emails/job?id=${"x".repeat(1_025)}`, 400, /give "id"/],
        ["/api/queues/nobody/job?id=dead", 404, /no queue "nobody"/]
      ])
    } finally {
      await dispose()
    }
  })

  it("without a token, the page is read-only: actions are refused", async () => {
    const calls: Array<string> = []
    const { dispose, handler } = await served(calls, undefined)
    try {
      const response = await handler(post("/api/queues/emails/redrive", "{\"all\":true}"))
      assert.strictEqual(response.status, 403)
      assert.match(((await response.json()) as any).error, /without a token/)
      const snapshot: any = await (await handler(new Request("http://127.0.0.1:8080/api/snapshot"))).json()
      assert.strictEqual(snapshot.actions, false)
      assert.deepStrictEqual(calls, [])
    } finally {
      await dispose()
    }
  })
})

describe("the program's --dashboard address", () => {
  it("a port alone binds loopback; a host is named to bind elsewhere", () => {
    assert.deepStrictEqual(listenAddress("8080"), { host: "127.0.0.1", port: 8080 })
    assert.deepStrictEqual(listenAddress("0.0.0.0:0"), { host: "0.0.0.0", port: 0 })
    assert.deepStrictEqual(listenAddress("localhost:9000"), { host: "localhost", port: 9000 })
    assert.deepStrictEqual(listenAddress("[::1]:9000"), { host: "::1", port: 9000 })
    for (const bad of ["", "x", "host:", ":80", "80:host", "65536", "1.2.3.4:99999", "a b:80", "[::1]"]) {
      assert.strictEqual(listenAddress(bad), undefined, bad)
    }
  })
})

describe("options", () => {
  it("two queues of the same name are refused, as is an empty token", async () => {
    const queue = idleQueue
    const build = (options: Dashboard.Options) =>
      Effect.runPromiseExit(Effect.scoped(Effect.asVoid(HttpRouter.toHttpEffect(Dashboard.routes(options)))))
    const clash = await build({ queues: [queue("a"), queue("a")] })
    assert.match(String(clash._tag === "Failure" && clash.cause), /two queues are named "a"/)
    const empty = await build({ queues: [queue("a")], token: "" })
    assert.match(String(empty._tag === "Failure" && empty.cause), /option token must be a non-empty string/)
  })

  it("a wrong interval, limit, host list or token is a TypeError naming it, as the layer is built", async () => {
    const queues = [idleQueue("a")]
    const refusal = async (options: object) => {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(Effect.asVoid(HttpRouter.toHttpEffect(Dashboard.routes({ queues, ...options } as Dashboard.Options))))
      )
      assert.isTrue(exit._tag === "Failure", `accepted: ${JSON.stringify(options)}`)
      return exit._tag === "Failure" ? String(exit.cause) : ""
    }
    const cases: ReadonlyArray<readonly [object, RegExp]> = [
      [{ interval: 0 }, /option interval must be greater than zero/],
      [{ interval: "-5 seconds" }, /option interval must not be negative/],
      [{ interval: Number.NaN }, /option interval is not a duration/],
      [{ interval: "Infinity" }, /option interval must be finite/],
      [{ limits: { samples: -1 } }, /option limits.samples must be an integer >= 1, got -1/],
      [{ limits: { recent: Number.NaN } }, /option limits.recent must be an integer >= 1/],
      [{ limits: { runTimes: Dashboard.maxLimit + 1 } }, /option limits.runTimes must be at most 100000/],
      [{ limits: { sample: 10 } }, /option limits.sample is not an option of Dashboard limits/],
      [{ limits: 5 }, /option limits must be an object/],
      [{ hosts: "localhost" }, /option hosts must be an array of host names/],
      [{ hosts: ["localhost", 1] }, /option hosts must be a non-empty string, got 1/],
      [{ token: 123 }, /option token must be a non-empty string, got 123/],
      [{ queues: null }, /option queues must be an array/],
      ...["", ".", ".."].map((name) =>
        [{ queues: [{ ...queues[0], name }] }, /option queues\[0\]\.name "\.{0,2}" cannot be a segment of a URL's path/] as const
      ),
      [{ queues: [{ ...queues[0], name: undefined }, { ...queues[0], name: undefined }] }, /option queues\[0\]\.name undefined cannot be/],
      [{ queues: [42] }, /option queues\[0\] must be an object, got 42/],
      [{ queues: [queues[0], null] }, /option queues\[1\] must be an object, got null/],
      [{ queues: [{ name: "a" }] }, /option queues\[0\]\.kind must be "memory" or "durable", got undefined/],
      [{ queues: [{ ...queues[0], stats: () => 1 }] }, /option queues\[0\]\.stats must be an Effect/],
      [{ queues: [{ ...queues[0], running: 1 }] }, /option queues\[0\]\.running must be an Effect/],
      [{ queues: [{ ...queues[0], kind: "durable", admin: {} }] }, /option queues\[0\]\.admin\.counts must be an Effect/],
      [
        {
          queues: [{
            ...queues[0],
            kind: "durable",
            admin: { counts: Effect.never, deadLetters: () => Effect.never, upcoming: () => Effect.never, redrive: () => Effect.never, remove: () => Effect.never }
          }]
        },
        /option queues\[0\]\.admin\.cancel must be a function/
      ],
      [{ queues: [{ ...queues[0], periodic: [{ cron: "* * * * *" }] }] }, /option queues\[0\]\.periodic\[0\]\.name must be a non-empty string/],
      [{ queues: [{ ...queues[0], outcomes: [] }] }, /option queues\[0\]\.outcomes must be a Stream/],
      [{ queues: [{ ...queues[0], pausing: 5 }] }, /option queues\[0\]\.pausing must be an object, got 5/],
      [
        {
          queues: [{
            ...queues[0],
            kind: "durable",
            pausing: undefined,
            admin: { counts: Effect.never, deadLetters: () => Effect.never, upcoming: () => Effect.never, redrive: () => Effect.never, remove: () => Effect.never, cancel: () => Effect.never }
          }]
        },
        /option queues\[0\]\.admin\.pause must be an Effect/
      ],
      [{ queues: [{ ...queues[0], pausing: { pause: Effect.void, resume: Effect.void } }] }, /option queues\[0\]\.pausing\.isPaused must be an Effect/],
      [{ queues: [{ ...queues[0], periodic: "nightly" }] }, /option queues\[0\]\.periodic must be an array of \{ name, cron \}, got "nightly"/],
      [{ queues: [{ ...queues[0], periodic: [null] }] }, /option queues\[0\]\.periodic\[0\] must be an object, got null/],
      [{ queues: [{ ...queues[0], periodic: [{ name: "n" }] }] }, /option queues\[0\]\.periodic\[0\]\.cron must be a non-empty string/]
    ]
    for (const [options, reason] of cases) assert.match(await refusal(options), reason)
    // And what is right is taken: every limit at its bound, a list of hosts, a finite interval.
    const names = ["samples", "runTimes", "recent", "deadLetters", "running", "upcoming"]
    const limits = Object.fromEntries(names.map((name) => [name, Dashboard.maxLimit]))
    const taken = await Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
      const options = { limits, hosts: ["localhost"], interval: "2 seconds", token: "t" } as const
      yield* HttpRouter.toHttpEffect(Dashboard.routes({ queues: [Dashboard.memory("a", pool)], ...options }))
    })))
    assert.strictEqual(taken._tag, "Success")
  })
})
