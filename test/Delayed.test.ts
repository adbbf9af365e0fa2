/**
 * Delayed jobs in the in-memory pool (`Job.Options.delay`, `src/internal/delayed.ts`):
 * a job starts once its delay has passed on the Effect `Clock`, and not
 * before; it joins the back of the queue when due; it holds its place in the
 * pool's capacity from the moment it is accepted; a shutdown hands back the
 * ones not due without waiting for them; a cancelled one leaves at once; a
 * bad delay is a `PoolConfigError` on `delay`. Time is the TestClock's, and
 * the ledger's rule (`submitted = ended + queued + active`) is checked after
 * every step.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Ledger from "../src/internal/ledger.ts"
import * as Timetable from "../src/internal/timetable.ts"
import { Job, Pool } from "../src/index.ts"
import { busyPool, handler, makeTrace, ok, settle } from "./support/workload.ts"


/** Checks the ledger's rule on the pool's stats now, and returns them. */
const balanced = <A, B, E>(pool: Pool.WorkerPool<A, B, E>) =>
  Effect.map(pool.stats, (stats) => {
    assert.strictEqual(Ledger.unaccounted(stats), 0, JSON.stringify(stats))
    return stats
  })

describe("delayed jobs", () => {
  it.effect("a delayed job does not start before its time, and starts at it", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 2, handler: handler(trace) })
      const job = yield* pool.submit(ok(), { id: "later", delay: "1 second" })
      assert.strictEqual(job.id, "later")
      yield* settle
      assert.deepInclude(yield* balanced(pool), { submitted: 1, queued: 1, delayed: 1, active: 0 })
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.deepStrictEqual(trace.started, [], "started before its time")
      assert.deepInclude(yield* balanced(pool), { queued: 1, delayed: 1 })
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(trace.started, ["later"], "not started at its time")
      yield* settle
      assert.deepInclude(yield* balanced(pool), { succeeded: 1, queued: 0, delayed: 0 })
    }))

  it.effect("delay 0 (or none) is the plain path: the job runs at once", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.submit(ok(), { id: "zero", delay: 0 })
      yield* pool.submit(ok(), { id: "none", delay: undefined })
      assert.strictEqual(yield* pool.run(ok(), { id: "zero-run", delay: "0 millis" }), "zero-run")
      assert.deepStrictEqual(trace.finished, ["zero", "none", "zero-run"])
      assert.deepInclude(yield* balanced(pool), { delayed: 0 })
    }))

  it.effect("a due job joins the back of the queue: in order among the jobs ready at that moment", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(10)
      yield* pool.submit(ok(), { id: "late", delay: "20 millis" })
      yield* pool.submit(ok(), { id: "early", delay: "10 millis" })
      yield* pool.submit(ok(), { id: "plain-1" })
      yield* pool.submit(ok(), { id: "early-too", delay: "10 millis" }) // due with "early", accepted after it
      yield* settle
      yield* TestClock.adjust("10 millis")
      yield* settle
      assert.deepInclude(yield* balanced(pool), { queued: 4, delayed: 1 })
      yield* pool.submit(ok(), { id: "plain-2" })
      yield* TestClock.adjust("10 millis")
      yield* settle
      assert.deepInclude(yield* balanced(pool), { queued: 5, delayed: 0 })
      yield* release
      yield* settle
      assert.deepStrictEqual(trace.finished, ["busy", "plain-1", "early", "early-too", "plain-2", "late"])
    }))

  it.effect("a job due earlier than the one the timer waits for wakes it: each starts at its own time", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
      yield* pool.submit(ok(), { id: "in-an-hour", delay: "1 hour" })
      yield* settle
      yield* pool.submit(ok(), { id: "in-a-second", delay: "1 second" })
      yield* settle
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(trace.started, ["in-a-second"])
      yield* TestClock.adjust("59 minutes")
      yield* TestClock.adjust("58 seconds")
      assert.deepStrictEqual(trace.started, ["in-a-second"])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(trace.started, ["in-a-second", "in-an-hour"])
    }))

  it.effect("a delayed job holds its place in the capacity: trySubmit fails full, submit waits, though the worker is idle", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, capacity: 1, handler: handler(trace) })
      yield* pool.submit(ok(), { id: "delayed", delay: "1 minute" })
      yield* settle
      const full = yield* Effect.flip(pool.trySubmit(ok(), { id: "refused" }))
      assert.strictEqual(full._tag, "PoolFullError")
      const fullToo = yield* Effect.flip(pool.trySubmit(ok(), { id: "refused-too", delay: "1 second" }))
      assert.strictEqual(fullToo._tag, "PoolFullError")
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "waiting" }), { startImmediately: true })
      yield* settle
      assert.isUndefined(waiting.pollUnsafe(), "submit returned while a delayed job held the only place")
      assert.deepInclude(yield* balanced(pool), { submitted: 1, queued: 1, delayed: 1, active: 0, workers: 1 })
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual((yield* Fiber.join(waiting)).id, "waiting")
      yield* settle
      assert.deepStrictEqual(trace.finished, ["delayed", "waiting"])
      assert.deepInclude(yield* balanced(pool), { submitted: 2, succeeded: 2, queued: 0 })
    }))

  it.effect("a delayed submit that waits for room counts its delay from when it is accepted", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(1)
      yield* pool.submit(ok(), { id: "queued" }) // the queue is full now
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "delayed", delay: "100 millis" }), {
        startImmediately: true
      })
      yield* TestClock.adjust("50 millis")
      assert.isUndefined(waiting.pollUnsafe())
      yield* release // "queued" starts, and its place goes to "delayed", at 50 ms
      yield* settle
      assert.strictEqual((yield* Fiber.join(waiting)).id, "delayed")
      assert.deepInclude(yield* balanced(pool), { queued: 1, delayed: 1 })
      yield* TestClock.adjust("99 millis")
      assert.notInclude(trace.started, "delayed")
      yield* TestClock.adjust("1 millis")
      assert.include(trace.started, "delayed")
    }))

  it.effect("run with a delay returns the job's result once it has run", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
      const caller = yield* Effect.forkChild(pool.run(ok(), { id: "ran", delay: "5 seconds" }), { startImmediately: true })
      yield* TestClock.adjust("4 seconds")
      assert.isUndefined(caller.pollUnsafe())
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(caller), "ran")
    }))
})

describe("delayed jobs at shutdown", () => {
  for (const backlog of ["drain", "return"] as const) {
    it.effect(`backlog "${backlog}": a job not due is handed back as abandoned, at once, and its run caller told closed`, () =>
      Effect.gen(function*() {
        const trace = makeTrace()
        const pool = yield* Pool.make({ workers: 1, handler: handler(trace) })
        const submitted = yield* pool.submit(ok(), { id: "not-due", delay: "1 hour" })
        const caller = yield* Effect.forkChild(pool.run(ok(), { id: "not-due-run", delay: "2 hours" }), {
          startImmediately: true
        })
        yield* pool.submit(ok(10), { id: "plain" })
        yield* settle
        const shutdown = yield* Effect.forkChild(pool.shutdown({ backlog, timeout: "1 day" }), { startImmediately: true })
        yield* settle
        yield* TestClock.adjust("10 millis") // "plain" ends; nothing waits for the delayed ones
        const report = yield* Fiber.join(shutdown)
        assert.deepStrictEqual(report.abandoned.map((job) => job.id), ["not-due", "not-due-run"])
        assert.strictEqual(report.abandoned[0], submitted)
        assert.isFalse(report.timedOut)
        assert.strictEqual(report.succeeded, 1)
        assert.deepStrictEqual(trace.started, ["plain"])
        const error = yield* Effect.flip(Fiber.join(caller))
        assert.strictEqual(error._tag, "PoolClosedError")
        assert.deepInclude(yield* balanced(pool), { abandoned: 2, queued: 0, delayed: 0, workers: 0 })
        // Nothing of them runs later either.
        yield* TestClock.adjust("3 hours")
        assert.deepStrictEqual(trace.started, ["plain"])
      }))
  }

  it.effect("a job due when the shutdown begins runs, with backlog \"drain\"", () =>
    Effect.gen(function*() {
      const { pool, release, trace } = yield* busyPool(10)
      yield* pool.submit(ok(), { id: "due", delay: "1 second" })
      yield* pool.submit(ok(), { id: "not-due", delay: "1 minute" })
      yield* settle
      yield* TestClock.adjust("1 second")
      const shutdown = yield* Effect.forkChild(pool.shutdown({ backlog: "drain" }), { startImmediately: true })
      yield* release
      const report = yield* Fiber.join(shutdown)
      assert.deepStrictEqual(trace.finished, ["busy", "due"])
      assert.deepStrictEqual(report.abandoned.map((job) => job.id), ["not-due"])
    }))

  it.effect("a job due when the shutdown begins runs, even if the timer has not moved it yet", () =>
    Effect.gen(function*() {
      // A clock whose time moves only when told, and whose sleeps (but those of
      // no time, the handler's) never end: the pool's timer never wakes, so
      // only the shutdown can see that the job is due.
      let nanos = 0n
      const still: Clock.Clock = {
        currentTimeMillisUnsafe: () => Number(nanos / 1_000_000n),
        currentTimeMillis: Effect.sync(() => Number(nanos / 1_000_000n)),
        currentTimeNanosUnsafe: () => nanos,
        currentTimeNanos: Effect.sync(() => nanos),
        monotonicTimeNanosUnsafe: () => nanos,
        monotonicTimeNanos: Effect.sync(() => nanos),
        sleep: (duration) => Duration.isZero(duration) ? Effect.void : Effect.never
      }
      const trace = makeTrace()
      const pool = yield* Effect.provideService(
        Pool.make({ workers: 1, handler: handler(trace) }),
        Clock.Clock,
        still
      )
      yield* pool.submit(ok(), { id: "due", delay: "1 second" })
      yield* pool.submit(ok(), { id: "not-due", delay: "2 seconds" })
      yield* settle
      nanos = 1_000_000_000n
      yield* settle
      assert.deepStrictEqual(trace.started, [], "the timer moved it: this test checks nothing")
      const report = yield* pool.shutdown({ backlog: "drain" })
      assert.deepStrictEqual(trace.finished, ["due"])
      assert.deepStrictEqual(report.abandoned.map((job) => job.id), ["not-due"])
    }))

  it.effect("the scope's closing hands them back too: nothing waits for them, nothing of them runs after", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const reports: Array<ReadonlyArray<string>> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({
          workers: 1,
          handler: handler(trace),
          onShutdown: (report) => Effect.sync(() => reports.push(report.abandoned.map((job) => job.id)))
        })
        yield* pool.submit(ok(), { id: "not-due", delay: "1 hour" })
      }))
      assert.deepStrictEqual(reports, [["not-due"]])
      yield* TestClock.adjust("2 hours")
      assert.deepStrictEqual(trace.started, [])
    }))
})

describe("cancelling a delayed job", () => {
  it.effect("cancel (the durable pool's hook) removes it at once: ended Cancelled, its place given to a waiting submit", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const endings: Array<string> = []
      const pool = yield* Pool.makeWithHooks({ workers: 1, capacity: 1, handler: handler(trace) }, {
        cancellable: true,
        ended: (job, ending) => endings.push(`${job.id}:${ending._tag}`)
      })
      const outcomes = yield* pool.subscribe()
      yield* pool.submit(ok(), { id: "delayed", delay: "1 hour" })
      const waiting = yield* Effect.forkChild(pool.submit(ok(), { id: "waiting" }), { startImmediately: true })
      yield* settle
      assert.isUndefined(waiting.pollUnsafe())
      assert.isTrue(pool.cancel("delayed"))
      // At once: no clock adjustment, no worker in between.
      assert.deepStrictEqual(endings, ["delayed:Cancelled"])
      assert.deepInclude(yield* balanced(pool), { cancelled: 1, delayed: 0 })
      assert.isFalse(pool.cancel("delayed"), "cancelled twice")
      assert.strictEqual((yield* Fiber.join(waiting)).id, "waiting")
      yield* settle
      assert.deepStrictEqual(trace.started, ["waiting"])
      yield* TestClock.adjust("2 hours")
      assert.deepStrictEqual(trace.started, ["waiting"])
      const report = yield* pool.shutdown()
      assert.deepStrictEqual(report.abandoned, [])
      const [first] = yield* Stream.runCollect(Stream.take(outcomes, 1))
      assert.deepInclude(first, { _tag: "Interrupted", cancelled: true })
      assert.strictEqual(first?.job.id, "delayed")
    }))

  it.effect("a run caller interrupted while its job waits for its time cancels it at once", () =>
    Effect.gen(function*() {
      const trace = makeTrace()
      const pool = yield* Pool.make({ workers: 1, capacity: 1, handler: handler(trace) })
      const caller = yield* Effect.forkChild(pool.run(ok(), { id: "delayed", delay: "1 hour" }), {
        startImmediately: true
      })
      yield* settle
      const full = yield* Effect.flip(pool.trySubmit(ok()))
      assert.strictEqual(full._tag, "PoolFullError")
      yield* Fiber.interrupt(caller)
      assert.deepInclude(yield* balanced(pool), { cancelled: 1, queued: 0, delayed: 0 })
      yield* pool.trySubmit(ok(), { id: "now-fits" })
      yield* settle
      yield* TestClock.adjust("2 hours")
      assert.deepStrictEqual(trace.started, ["now-fits"])
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(caller)))
    }))
})

describe("a bad delay", () => {
  const bad: ReadonlyArray<[string, unknown]> = [
    ["negative", -1],
    ["a negative duration", "-5 seconds"],
    ["NaN", Number.NaN],
    ["null", null],
    ["not a duration", "soon"],
    ["an object of unknown fields", { second: 3 }],
    ["Infinity (a job that never runs would hold its place for ever)", "Infinity"],
    ["infinite as a number", Number.POSITIVE_INFINITY]
  ]
  for (const [what, delay] of bad) {
    it.effect(`${what}: a PoolConfigError on delay, from submit, trySubmit and run; nothing accepted`, () =>
      Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 1, handler: handler(makeTrace()) })
        const options = { delay } as unknown as Job.Options
        const calls: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
          pool.submit(ok(), options),
          pool.trySubmit(ok(), options),
          pool.run(ok(), options)
        ]
        for (const call of calls) {
          const error = yield* Effect.flip(call)
          assert.instanceOf(error, Pool.PoolConfigError)
          if (error instanceof Pool.PoolConfigError) assert.strictEqual(error.option, "delay", error.message)
        }
        assert.throws(() => Job.make(ok(), options), /invalid job option delay/)
        assert.deepInclude(yield* balanced(pool), { submitted: 0 })
      }))
  }

  it("the refusal says why", () => {
    assert.throws(() => Job.make(1, { delay: "Infinity" }), /delay: must be finite/)
    assert.throws(() => Job.make(1, { delay: -1 }), /delay: must not be negative/)
    assert.throws(() => Job.make(1, { delay: null as never }), /delay: is not a duration/)
  })
})

describe("many delayed jobs", () => {
  it.effect("10,000 delayed jobs with random delays, submitted as time goes: each runs exactly once, at its time", () =>
    Effect.gen(function*() {
      const starts = new Map<string, Array<number>>()
      const pool = yield* Pool.make({
        workers: 4,
        capacity: 10_000,
        handler: (job: Job.Job<number>) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            starts.set(job.id, [...(starts.get(job.id) ?? []), now])
          })
      })
      // A seeded generator: the same delays every run.
      let seed = 42
      const random = (below: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
        return seed % below
      }
      const due = new Map<string, number>()
      for (let round = 0; round < 100; round++) {
        const now = yield* Clock.currentTimeMillis
        for (let i = 0; i < 100; i++) {
          const delay = 1 + random(5_000)
          const job = yield* pool.submit(delay, { delay })
          due.set(job.id, now + delay)
        }
        yield* TestClock.adjust(random(100))
        yield* balanced(pool)
      }
      yield* TestClock.adjust("5 seconds")
      const stats = yield* balanced(pool)
      assert.deepInclude(stats, { submitted: 10_000, succeeded: 10_000, queued: 0, delayed: 0 })
      assert.strictEqual(starts.size, 10_000)
      for (const [id, at] of due) {
        const started = starts.get(id)
        assert.deepStrictEqual(started, [at], `${id} should have started once, at ${at}`)
      }
    }), 60_000)
})

describe("the timetable", () => {
  it.effect("wakes its waiter for an item due before the waiter's wake-up, not for one due after it", () =>
    Effect.gen(function*() {
      const timetable = Timetable.make<string>()
      // The waiter read 100 and sleeps until then; the item went (an operation that answered).
      timetable.add("first", 100)
      assert.strictEqual(timetable.earliest(), 100)
      timetable.remove("first")
      const waiter = yield* Effect.forkChild(timetable.changed)
      // Due after the waiter wakes anyway: it reads the heap again then.
      timetable.add("later", 150)
      yield* Effect.yieldNow
      assert.isUndefined(waiter.pollUnsafe())
      // Due before it: wakes it.
      timetable.add("sooner", 80)
      yield* Fiber.join(waiter)
      // With an empty heap read, the waiter waits for `changed` alone: any item wakes it.
      timetable.takeAll()
      assert.isUndefined(timetable.earliest())
      const idle = yield* Effect.forkChild(timetable.changed)
      timetable.add("any", 1_000)
      yield* Fiber.join(idle)
    }))

  it("a removal whose filler belongs above the hole moves it up", () => {
    const timetable = Timetable.make<string>()
    // As a heap: a1 over b10 and c2; b10 over d11 and e12; c2 over f20 and g4.
    for (const [item, dueAt] of [["a", 1], ["b", 10], ["c", 2], ["d", 11], ["e", 12], ["f", 20], ["g", 4]] as const) {
      timetable.add(item, dueAt)
    }
    // g4, the last node, fills d11's hole under b10: it must go above b10.
    assert.isTrue(timetable.remove("d"))
    assert.deepStrictEqual(timetable.takeAll(), ["a", "c", "g", "b", "e", "f"])
  })

  it("gives items back by due time, then in the order they came, under any adds, removals and takes", () => {
    type Step =
      | { readonly _tag: "add"; readonly dueAt: number }
      | { readonly _tag: "remove"; readonly pick: number }
      | { readonly _tag: "takeDue"; readonly now: number }
    // Adds outweigh takes, so that heaps grow deep enough for a removal to need its filler moved up.
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ _tag: fc.constant("add" as const), dueAt: fc.integer({ min: 0, max: 1_000 }) }) },
      { weight: 3, arbitrary: fc.record({ _tag: fc.constant("remove" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ _tag: fc.constant("takeDue" as const), now: fc.integer({ min: 0, max: 300 }) }) }
    )
    fc.assert(fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
      const timetable = Timetable.make<number>()
      /** The items held, in the order they must come out. */
      let model: Array<{ readonly item: number; readonly dueAt: number }> = []
      let next = 0
      for (const s of steps) {
        if (s._tag === "add") {
          timetable.add(next, s.dueAt)
          model.push({ item: next++, dueAt: s.dueAt })
          model.sort((a, b) => a.dueAt - b.dueAt || a.item - b.item)
        } else if (s._tag === "remove") {
          const victim = model.length === 0 ? -1 : model[s.pick % model.length]!.item
          assert.strictEqual(timetable.remove(victim), model.length > 0)
          model = model.filter(({ item }) => item !== victim)
        } else {
          const due: Array<number> = []
          for (let item = timetable.takeDue(s.now); item !== undefined; item = timetable.takeDue(s.now)) due.push(item)
          const expected = model.filter(({ dueAt }) => dueAt <= s.now).map(({ item }) => item)
          assert.deepStrictEqual(due, expected)
          model = model.filter(({ dueAt }) => dueAt > s.now)
        }
        assert.strictEqual(timetable.size(), model.length)
        assert.strictEqual(timetable.earliest(), model[0]?.dueAt)
      }
      assert.deepStrictEqual(timetable.takeAll(), model.map(({ item }) => item))
      assert.isFalse(timetable.remove(0))
    }), { numRuns: 300 })
  })
})
