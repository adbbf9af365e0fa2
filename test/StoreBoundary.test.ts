/**
 * The store boundary (`src/durable/boundary.ts`) on an engine that records
 * what reaches it: the rules `Store.ts` lists, which every engine gets from
 * the boundary alone. The engines' own suites check the same rules as a
 * user sees them, against the real servers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Metric, Scope, Tracer } from "effect"
import { TestClock } from "effect/testing"
import * as Boundary from "../src/durable/boundary.ts"
import { Metrics } from "../src/index.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import * as Times from "../src/durable/times.ts"

interface Call {
  readonly operation: string
  readonly args: ReadonlyArray<unknown>
}

/** An engine whose operations record their calls and succeed, or run `override` instead. */
const recording = (override: Partial<Record<keyof Store, Effect.Effect<unknown, StoreError>>> = {}) => {
  const calls: Array<Call> = []
  const op = (operation: keyof Store, answer: unknown) => (...args: ReadonlyArray<unknown>) => {
    calls.push({ operation, args })
    return override[operation] ?? Effect.succeed(answer)
  }
  const engine = {
    offer: op("offer", []),
    claim: op("claim", []),
    complete: op("complete", undefined),
    retry: op("retry", undefined),
    bury: op("bury", undefined),
    release: op("release", undefined),
    extend: op("extend", []),
    counts: op("counts", { ready: 0, leased: 0, completed: 0, buried: 0 }),
    buried: op("buried", []),
    lookup: op("lookup", undefined),
    redrive: op("redrive", 0),
    remove: op("remove", 0),
    cancel: op("cancel", undefined),
    purge: op("purge", 0)
  } as Boundary.Engine
  return { calls, engine }
}

const minute = Duration.minutes(1)
const lease = { id: "a", token: "t" }
const retention = { completed: minute, buried: minute }

describe("the store boundary", () => {
  it.effect("an empty batch never reaches the engine", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      yield* store.offer("q", [])
      yield* store.complete("q", [])
      yield* store.release("q", [])
      assert.deepStrictEqual(yield* store.extend("q", [], minute), [])
      assert.strictEqual(yield* store.redrive("q", []), 0)
      assert.strictEqual(yield* store.remove("q", []), 0)
      assert.deepStrictEqual(calls, [])
      yield* store.complete("q", [lease])
      assert.deepStrictEqual(calls.map((call) => call.operation), ["complete"])
    }))

  it.effect("counts of jobs reach the engine whole, from 1 to 2^31-1; below 1 or NaN, nothing is asked", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      for (const n of [0, -1, 0.5, Number.NaN, -Infinity]) {
        assert.deepStrictEqual(yield* store.claim("q", n, minute), [])
        assert.deepStrictEqual(yield* store.buried("q", n), [])
        assert.strictEqual(yield* store.purge("q", retention, n), 0)
      }
      assert.deepStrictEqual(calls, [])
      yield* store.purge("q", retention, 2.5)
      yield* store.purge("q", retention, Infinity)
      assert.deepStrictEqual(calls.splice(0).map((call) => [call.operation, call.args[2]]), [
        ["purge", 2],
        ["purge", Boundary.maxCount]
      ])
      for (const n of [1, 2.9, 2 ** 31, Infinity, Number.MAX_VALUE]) {
        yield* store.claim("q", n, minute)
        yield* store.buried("q", n)
      }
      const max = Boundary.maxCount
      assert.strictEqual(max, 2_147_483_647)
      assert.deepStrictEqual(calls.map((call) => [call.operation, call.args[1]]), [
        ["claim", 1],
        ["buried", 1],
        ["claim", 2],
        ["buried", 2],
        ["claim", max],
        ["buried", max],
        ["claim", max],
        ["buried", max],
        ["claim", max],
        ["buried", max]
      ])
    }))

  it.effect("an offer with an id that is not a string is refused whole, not retryable, before the engine", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      const error = yield* Effect.flip(store.offer("q", [{ id: "ok", payload: 1 }, { id: 7 as unknown as string, payload: 2 }]))
      assert.deepStrictEqual([error.operation, error.retryable], ["offer", false])
      assert.include(error.reason, "7")
      assert.deepStrictEqual(calls, [])
    }))

  it.effect("redrive, remove, lookup and cancel refuse an id that is not a string, not retryable, before the engine", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      const bad = 7 as unknown as string
      const refused = [
        ["redrive", store.redrive("q", ["ok", bad])],
        ["remove", store.remove("q", [bad])],
        ["lookup", store.lookup("q", bad)],
        ["cancel", store.cancel("q", bad)]
      ] as const
      for (const [operation, effect] of refused) {
        const error = yield* Effect.flip(effect as Effect.Effect<unknown, StoreError>)
        assert.deepStrictEqual([error.operation, error.retryable], [operation, false])
        assert.include(error.reason, "7")
      }
      assert.deepStrictEqual(calls, [])
    }))

  it.effect("every operation refuses a queue name no store can keep, not retryable, before the engine; one at the limit reaches it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { calls, engine } = recording()
      const recorded = <A>(operation: string, answer: A) => (...args: ReadonlyArray<unknown>) => {
        calls.push({ operation, args })
        return Effect.succeed(answer)
      }
      const listening: Boundary.Engine = {
        ...engine,
        listen: recorded("listen", Effect.void),
        due: recorded("due", undefined),
        upcoming: recorded("upcoming", [])
      }
      const store = Boundary.makeStore(listening, { engine: "test" })
      const operations = (queue: string) =>
        [
          ["offer", store.offer(queue, [{ id: "a", payload: 1 }])],
          ["claim", store.claim(queue, 1, minute)],
          ["complete", store.complete(queue, [lease])],
          ["retry", store.retry(queue, lease, minute)],
          ["bury", store.bury(queue, lease, "no")],
          ["release", store.release(queue, [lease])],
          ["extend", store.extend(queue, [lease], minute)],
          ["counts", store.counts(queue)],
          ["buried", store.buried(queue, 1)],
          ["lookup", store.lookup(queue, "a")],
          ["redrive", store.redrive(queue, ["a"])],
          ["remove", store.remove(queue, ["a"])],
          ["cancel", store.cancel(queue, "a")],
          ["purge", store.purge(queue, retention, 1)],
          ["listen", store.listen!(queue)],
          ["due", store.due!(queue)],
          ["upcoming", store.upcoming!(queue, 1)]
        ] as const
      const unkeepable = [
        ["", /must be a non-empty string, got ""/],
        [7 as unknown as string, /must be a non-empty string, got 7/],
        ["jobs\u0000", /NUL/],
        ["X\ud800", /surrogate/],
        ["X\udbff", /surrogate/],
        ["q".repeat(513), /at most 512 bytes of UTF-8, got 513/],
        ["é".repeat(257), /at most 512 bytes of UTF-8, got 514/]
      ] as const
      for (const [queue, reason] of unkeepable) {
        for (const [operation, effect] of operations(queue)) {
          const error = yield* Effect.flip(effect as Effect.Effect<unknown, StoreError>)
          assert.deepStrictEqual([error.operation, error.retryable], [operation, false], `${operation} on ${queue}`)
          assert.match(error.reason, /^the queue's name /)
          assert.match(error.reason, reason)
        }
      }
      assert.deepStrictEqual(calls, [])
      // At the limit, in bytes (256 characters of 2 bytes): every operation reaches the engine.
      for (const [, effect] of operations("é".repeat(256))) yield* (effect as Effect.Effect<unknown, StoreError, Scope.Scope>)
      assert.strictEqual(calls.length, 17)
    })))

  it.effect("an operation past the command timeout fails, retryable, without waiting for the engine to let go", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      let released = false
      // An engine that never answers, and takes a second to give up once interrupted.
      const hung = Effect.never.pipe(Effect.onInterrupt(() => Effect.andThen(Effect.sleep(1_000), Effect.sync(() => released = true))))
      const { engine } = recording({ claim: hung })
      const store = Boundary.makeStore(engine, { engine: "test", commandTimeout: { duration: Duration.millis(50), scope } })
      const claiming = yield* Effect.forkChild(Effect.flip(store.claim("q", 1, minute)))
      yield* TestClock.adjust(50)
      // Failed at the timeout, while the engine has the rest of its second to go.
      assert.isDefined(claiming.pollUnsafe(), "waited for the engine to give up")
      const error = yield* Fiber.join(claiming)
      assert.deepStrictEqual([error.operation, error.reason, error.retryable], ["claim", "no answer within 50 ms", true])
      assert.isFalse(released)
      // The engine is let go of in the store's scope: closing it waits for that.
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(1_000)
      yield* Fiber.join(closing)
      assert.isTrue(released)
    }))

  it.effect("closing the scope the store was made in lets a finalizer added after the store (a pool's shutdown) wait for an operation in flight", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      let stored = false
      const slow = Effect.andThen(Effect.sleep(1_000), Effect.sync(() => stored = true))
      const { engine } = recording({ complete: slow })
      const store = Boundary.makeStore(engine, { engine: "test", commandTimeout: { duration: minute, scope } })
      // As a durable pool made in the same scope: its shutdown waits for its last acknowledgement.
      let acknowledging: Fiber.Fiber<void, StoreError> | undefined
      let acknowledged: Exit.Exit<void, StoreError> | undefined
      yield* Scope.addFinalizer(scope, Effect.suspend(() => Effect.map(Fiber.await(acknowledging!), (exit) => acknowledged = exit)))
      acknowledging = yield* Effect.forkDetach(store.complete("q", [lease]), { startImmediately: true })
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(1_000)
      yield* Fiber.join(closing)
      assert.isTrue(acknowledged !== undefined && Exit.isSuccess(acknowledged), `the acknowledgement was cut: ${String(acknowledged)}`)
      assert.isTrue(stored)
    }))

  it("with a command timeout, an operation reaches the engine in the caller's step, not in a task scheduled after it", async () => {
    // Each task the runtime schedules on the way is a turn of the event loop before the request goes out.
    const scope = Effect.runSync(Scope.make())
    const { calls, engine } = recording({ claim: Effect.never })
    const store = Boundary.makeStore(engine, { engine: "test", commandTimeout: { duration: minute, scope } })
    const claiming = Effect.runFork(store.claim("q", 1, minute))
    assert.deepStrictEqual(calls.map((call) => call.operation), ["claim"])
    await Effect.runPromise(Fiber.interrupt(claiming))
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it.effect("a claim's options reach the engine as readyOnly when it is true, and as nothing otherwise; a trap reading them is a StoreError", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      const given: ReadonlyArray<unknown> = [{ readyOnly: true }, { readyOnly: "yes" }, { readyOnly: 1 }, {}, null, undefined]
      for (const options of given) yield* store.claim("q", 1, minute, options as never)
      assert.deepStrictEqual(calls.map((call) => call.args[3]), [{ readyOnly: true }, undefined, undefined, undefined, undefined, undefined])
      const trap = new Proxy({}, { get: () => { throw new Error("a trap") } })
      const error = yield* Effect.flip(store.claim("q", 1, minute, trap))
      assert.instanceOf(error, StoreError)
      assert.include(error.reason, "a trap")
    }))

  it.effect("an offer's options reach the engine as newIds when it is true, and as nothing otherwise; a trap reading them is a StoreError", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      const given: ReadonlyArray<unknown> = [{ newIds: true }, { newIds: "yes" }, { newIds: 1 }, {}, null, undefined]
      for (const options of given) yield* store.offer("q", [{ id: "a", payload: 1 }], options as never)
      // The engine gets the texts third, the options fourth.
      assert.deepStrictEqual(calls.map((call) => call.args[3]), [{ newIds: true }, undefined, undefined, undefined, undefined, undefined])
      const trap = new Proxy({}, { get: () => { throw new Error("a trap") } })
      const error = yield* Effect.flip(store.offer("q", [{ id: "a", payload: 1 }], trap))
      assert.instanceOf(error, StoreError)
      assert.include(error.reason, "a trap")
    }))

  it.effect("a defect of the engine is a StoreError naming the operation, not retryable, with the defect as cause", () =>
    Effect.gen(function*() {
      const bug = new Error("a bug")
      const { engine } = recording({ counts: Effect.die(bug) })
      const thrower = { ...engine, retry: () => { throw bug } } as Boundary.Engine
      const store = Boundary.makeStore(thrower, { engine: "test" })
      for (const operation of [store.counts("q"), store.retry("q", lease, minute)] as ReadonlyArray<Effect.Effect<unknown, StoreError>>) {
        const error = yield* Effect.flip(operation)
        assert.instanceOf(error, StoreError)
        assert.strictEqual(error.retryable, false)
        assert.strictEqual(error.cause, bug)
        assert.include(error.reason, "a bug")
      }
    }))

  it.effect("an operation on a store whose scope has closed is a StoreError, not an interruption", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test", commandTimeout: { duration: minute, scope } })
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(store.counts("q"))
      assert.deepStrictEqual([error.operation, error.reason, error.retryable], ["counts", "the store is closed", false])
    }))

  it.effect("each operation that reaches the engine runs in a span Store.<operation>, with the queue and engine", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      const { engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      yield* Effect.gen(function*() {
        yield* store.claim("emails", 5, minute)
        yield* store.complete("emails", []) // reaches nothing: no span
        yield* store.complete("emails", [lease])
      }).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(
        spans.map((span) => [span.name, span.kind, span.attributes.get("queue"), span.attributes.get("store.engine")]),
        [["Store.claim", "client", "emails", "test"], ["Store.complete", "client", "emails", "test"]]
      )
      assert.isTrue(spans.every((span) => span.status._tag === "Ended"))
    }))

  it.effect("each operation is measured, a tracer installed or not; one interrupted is not counted as failed", () =>
    Effect.gen(function*() {
      const tracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
      const { engine } = recording({ counts: Effect.never })
      const store = Boundary.makeStore(engine, { engine: "test" })
      yield* store.claim("emails", 5, minute)
      yield* Effect.withTracer(store.claim("emails", 5, minute), tracer)
      const fiber = yield* Effect.forkChild(store.counts("emails"), { startImmediately: true })
      yield* Fiber.interrupt(fiber)
      const snapshot = yield* Metric.snapshot
      const of = (id: string, operation: string) =>
        snapshot.filter((one) => one.id === id && one.attributes?.["operation"] === operation)
      const [claims] = of(Metrics.storeOperationSeconds.id, "claim")
      assert.strictEqual((claims?.state as Metric.HistogramState | undefined)?.count, 2)
      const [counts] = of(Metrics.storeOperationSeconds.id, "counts")
      assert.strictEqual((counts?.state as Metric.HistogramState | undefined)?.count, 1)
      assert.deepStrictEqual(of(Metrics.storeOperationFailures.id, "counts").map((one) => one.state), [])
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("without a tracer installed, no span is made", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const { engine } = recording()
      const spying = {
        ...engine,
        counts: (queue: string) =>
          Effect.flatMap(
            Effect.option(Effect.currentSpan),
            (span) => Effect.andThen(Effect.sync(() => seen.push(span._tag === "Some" ? span.value.name : "none")), engine.counts(queue))
          )
      }
      const store = Boundary.makeStore(spying, { engine: "test" })
      yield* store.counts("q")
      assert.deepStrictEqual(seen, ["none"])
    }))
})

describe("the farthest time (times.ts): one bound for every engine", () => {
  it("is a thousand years, and now plus it is a real Date, within every engine, for any now to year 270,000", () => {
    assert.strictEqual(Times.maxDelay, 1000 * 365.25 * 24 * 3600 * 1000)
    const lastNow = Date.UTC(270_000, 0, 1)
    assert.isFalse(Number.isNaN(new Date(lastNow + Times.maxDelay).getTime()), "past a JavaScript Date")
    assert.isAtMost(lastNow + Times.maxDelay, 2 ** 53, "past the whole milliseconds of a double (Redis's scores)")
  })

  it("bounded: a delay past it is it (an infinite one too); one within it is kept as it is", () => {
    assert.strictEqual(Duration.toMillis(Times.bounded(Duration.millis(1e17))), Times.maxDelay)
    assert.strictEqual(Duration.toMillis(Times.bounded(Duration.infinity)), Times.maxDelay)
    const within = Duration.millis(Times.maxDelay)
    assert.strictEqual(Times.bounded(within), within)
  })

  it("boundedJobs: a delay past maxDelay is maxDelay, a run-at past latestRunAt is latestRunAt; the others are kept", () => {
    const kept = [
      { id: "a", payload: 1, delay: Times.maxDelay },
      { id: "b", payload: 2, runAt: Times.latestRunAt, priority: 3 },
      { id: "c", payload: 3, runAt: -1e17 },
      { id: "d", payload: 4 }
    ]
    assert.strictEqual(Times.boundedJobs(kept), kept, "nothing past it: the same array")
    const far = [
      { id: "a", payload: 1, delay: 1e20, settings: "s" },
      { id: "b", payload: 2, runAt: Times.latestRunAt + 1, priority: 3 },
      { id: "c", payload: 3 }
    ]
    assert.deepStrictEqual(Times.boundedJobs(far), [
      { id: "a", payload: 1, delay: Times.maxDelay, settings: "s" },
      { id: "b", payload: 2, runAt: Times.latestRunAt, priority: 3 },
      { id: "c", payload: 3 }
    ])
    assert.isFalse(Number.isNaN(new Date(Times.latestRunAt).getTime()), "latestRunAt is a Date")
    assert.strictEqual(far[0]!.delay, 1e20, "the caller's jobs are not changed")
  })

  it.effect("the boundary gives the engine no time past its bound: offers, retries, leases; a run-at whatever the clock says", () =>
    Effect.gen(function*() {
      const { calls, engine } = recording()
      const store = Boundary.makeStore(engine, { engine: "test" })
      // A caller on a TestClock at the epoch: a run-at 1,020 years on is an instant like any other.
      yield* TestClock.setTime(0)
      const in2990 = Date.UTC(2990, 0, 1)
      yield* store.offer("q", [
        { id: "a", payload: 1, delay: 1e20 },
        { id: "b", payload: 2, runAt: in2990 },
        { id: "c", payload: 3, runAt: 1e17 }
      ])
      yield* store.retry("q", lease, Duration.millis(1e17))
      yield* store.retry("q", lease, Duration.infinity)
      yield* store.retry("q", lease, minute)
      yield* store.claim("q", 1, Duration.millis(1e17))
      yield* store.extend("q", [lease], Duration.infinity)
      const [offer, ...others] = calls
      assert.deepStrictEqual(offer?.args[1], [
        { id: "a", payload: 1, delay: Times.maxDelay },
        { id: "b", payload: 2, runAt: in2990 },
        { id: "c", payload: 3, runAt: Times.latestRunAt }
      ])
      assert.deepStrictEqual(others.map((call) => [call.operation, Duration.toMillis(call.args[2] as Duration.Duration)]), [
        ["retry", Times.maxDelay],
        ["retry", Times.maxDelay],
        ["retry", 60_000],
        ["claim", Times.maxDelay],
        ["extend", Times.maxDelay]
      ])
    }))
})
