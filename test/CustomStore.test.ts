/**
 * A store written outside this package (here the memory store with one
 * operation replaced, as a caller's own engine might get one wrong) is held
 * to the engines' rules: an operation that throws, returns something other
 * than an Effect (an `async` function's Promise), or whose effect dies,
 * fails with a `StoreError` naming it. The pool logs it and retries, as
 * through an outage, and nothing is lost once the store answers again; a
 * producer's `submit` and an admin's call fail with that typed error. An
 * operation that does not answer is bounded as the engines' are, by the
 * store's own `commandTimeout` (5 seconds unless it says). On the memory
 * store under the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Schema } from "effect"
import * as Boundary from "../src/durable/boundary.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Store } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { elapse, oneWorker, oneWorkerOptions } from "./support/durablePool.ts"
import { capture } from "./support/logLines.ts"

/** Ways an operation goes wrong outside its error channel, each with what the error then says. */
const brokenCalls: ReadonlyArray<readonly [string, () => unknown, RegExp]> = [
  ["throws", () => {
    throw new Error("bug in the store")
  }, /unexpected failure: bug in the store/],
  ["returns a rejected Promise (an async function)", () => Promise.reject(new Error("async bug")), /returned a Promise/],
  ["returns undefined", () => undefined, /returned undefined, not an Effect/],
  ["returns an effect that dies", () => Effect.die(new Error("died inside")), /unexpected failure: died inside/],
  ["answers something that is not an array", () => Effect.succeed({}), /the store's claim answered \{\}, not an array/]
]

/** `store` with `name` replaced by `broken` while `isBroken()` says so. */
const breaking = (store: Store, name: "claim" | "extend", broken: () => unknown, isBroken: () => boolean): Store => ({
  ...store,
  [name]: (...args: ReadonlyArray<never>) => isBroken() ? broken() : (store[name] as (...args: ReadonlyArray<never>) => unknown)(...args)
})

describe("a store written outside this package", () => {
  for (const [how, broken, says] of brokenCalls) {
    it.effect(`whose claim ${how}: each claim is a logged StoreError, retried, and the job runs once the store is mended`, () => {
      const { layer, lines } = capture()
      return Effect.scoped(Effect.gen(function*() {
        const store = yield* MemoryStore.make
        let mended = false
        const pool = yield* oneWorker(breaking(store, "claim", broken, () => !mended), { handler: () => Effect.void })
        yield* pool.submit("a", { id: "a" })
        yield* elapse(1_000)
        const warnings = lines.filter((line) => line.message.startsWith("claiming jobs failed"))
        assert.isAtLeast(warnings.length, 2)
        assert.match(warnings[0]!.message, says)
        assert.deepStrictEqual(yield* pool.counts, { ready: 1, leased: 0, completed: 0, buried: 0 })
        mended = true
        yield* elapse(10_000)
        assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
      })).pipe(Effect.provide(layer))
    })
  }

  it.effect("whose listed jobs carry cursors of another form: the listing is a StoreError naming it, not the caller's after", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.offer("q", [{ id: "a", payload: 1 }, { id: "later", payload: 2, delay: 60_000 }])
      for (const lease of yield* store.claim("q", 1, Duration.minutes(1))) yield* store.bury("q", lease, "no")
      const upcoming = store.upcoming!
      const custom: Store = {
        ...store,
        buried: (queue, limit) => Effect.map(store.buried(queue, limit), (page) => page.map((letter) => ({ ...letter, cursor: "page-2" }))),
        upcoming: (queue, limit) => Effect.map(upcoming(queue, limit), (page) => page.map((job) => ({ ...job, cursor: "1:+" })))
      }
      const admin = Durable.admin({ store: custom, queue: "q" })
      const listings = [["buried", Effect.flip(admin.deadLetters())], ["upcoming", Effect.flip(admin.upcoming())]] as const
      for (const [operation, listing] of listings) {
        const error = yield* listing
        assert.strictEqual(error._tag, "StoreError", operation)
        assert.match(error.message, new RegExp(`the store's ${operation} answered .*cursors, if any, are digits`), operation)
      }
      // Without cursors, it lists its jobs: it only cannot page them.
      const plain: Store = {
        ...store,
        buried: (queue, limit) => Effect.map(store.buried(queue, limit), (page) => page.map(({ cursor: _, ...letter }) => letter)),
        upcoming: (queue, limit) => Effect.map(upcoming(queue, limit), (page) => page.map(({ cursor: _, ...job }) => job))
      }
      const plainAdmin = Durable.admin({ store: plain, queue: "q" })
      assert.deepStrictEqual((yield* plainAdmin.deadLetters()).map((letter) => letter.id), ["a"])
      assert.deepStrictEqual((yield* plainAdmin.upcoming())?.map((job) => job.id), ["later"])
    })))

  it.effect("whose extend returns a Promise: the renewal is logged as failed, and the job still completes", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* Durable.make({
        ...oneWorkerOptions(breaking(store, "extend", () => Promise.resolve([]), () => true)),
        lease: "3 seconds",
        handler: () => Effect.sleep("2 seconds")
      })
      yield* pool.submit("a", { id: "a" })
      yield* elapse(3_000)
      assert.isTrue(lines.some((line) =>
        line.message.startsWith("renewing leases failed") && /the store's extend returned a Promise/.test(line.message)
      ))
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
    })).pipe(Effect.provide(layer))
  })

  it.effect("whose retry answers something other than true, false or nothing: a logged StoreError; the job runs again once its lease runs out", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      // A Redis reply passed through as it came: 1, not `true`.
      const replying: Store = { ...store, retry: (queue, lease, delay) => Effect.as(store.retry(queue, lease, delay), 1 as never) }
      let runs = 0
      const pool = yield* Durable.make({
        ...oneWorkerOptions(replying),
        lease: "3 seconds",
        handler: () => ++runs === 1 ? Effect.fail("once") : Effect.void
      })
      yield* pool.submit("a", { id: "a" })
      yield* elapse(500)
      const given = lines.filter((line) => line.message.startsWith("retrying a job failed"))
      assert.deepStrictEqual(given.map((line) => [line.level, line.annotations["jobId"]]), [["Error", "a"]])
      assert.match(given[0]!.message, /the store's retry answered 1, not true, false or nothing/)
      assert.isFalse(lines.some((line) => line.message === "job attempt failed; retrying"), "not logged as retried")
      yield* elapse(4_000)
      assert.strictEqual(runs, 2)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
    })).pipe(Effect.provide(layer))
  })

  it.effect("whose bury answers something other than true, false or nothing: a logged StoreError naming it", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const replying: Store = { ...store, bury: (queue, lease, error) => Effect.as(store.bury(queue, lease, error), "OK" as never) }
      yield* oneWorker(replying, { maxAttempts: 1, handler: () => Effect.fail("no") })
      yield* Durable.producer(oneWorkerOptions(replying)).submit("a", { id: "a" })
      yield* elapse(500)
      const given = lines.filter((line) => line.message.startsWith("dead-lettering a job failed"))
      assert.deepStrictEqual(given.map((line) => [line.level, line.annotations["jobId"]]), [["Error", "a"]])
      assert.match(given[0]!.message, /the store's bury answered "OK", not true, false or nothing/)
      assert.isFalse(lines.some((line) => line.message === "job dead-lettered"), "not logged as dead-lettered")
    })).pipe(Effect.provide(layer))
  })

  it.effect("whose listen's wait is no Effect: each listener lost at once is set up again after the backoff, not in a loop", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let listens = 0
      const broken: Store = {
        ...store,
        listen: () => Effect.sync(() => (listens++, Promise.resolve() as unknown as Effect.Effect<void>))
      }
      yield* oneWorker(broken, { handler: () => Effect.void })
      yield* elapse(1_500, 10)
      // Set up at 0, then after 100, 200, 400 and 800 ms of backoff: 5 in 1.5 s (thousands a second before).
      assert.strictEqual(listens, 5)
    })))

  it.effect("a store written as a class, given through the Store service, is read with its methods and guarded", () => {
    class OwnStore {
      readonly inner: Store
      readonly broken: () => boolean
      constructor(inner: Store, broken: () => boolean) {
        this.inner = inner
        this.broken = broken
      }
      offer(...args: Parameters<Store["offer"]>) { return this.inner.offer(...args) }
      claim(...args: Parameters<Store["claim"]>) {
        if (this.broken()) throw new Error("bug in a method")
        return this.inner.claim(...args)
      }
      complete(...args: Parameters<Store["complete"]>) { return this.inner.complete(...args) }
      retry(...args: Parameters<Store["retry"]>) { return this.inner.retry(...args) }
      bury(...args: Parameters<Store["bury"]>) { return this.inner.bury(...args) }
      release(...args: Parameters<Store["release"]>) { return this.inner.release(...args) }
      extend(...args: Parameters<Store["extend"]>) { return this.inner.extend(...args) }
      counts(...args: Parameters<Store["counts"]>) { return this.inner.counts(...args) }
      buried(...args: Parameters<Store["buried"]>) { return this.inner.buried(...args) }
      lookup(...args: Parameters<Store["lookup"]>) { return this.inner.lookup(...args) }
      redrive(...args: Parameters<Store["redrive"]>) { return this.inner.redrive(...args) }
      remove(...args: Parameters<Store["remove"]>) { return this.inner.remove(...args) }
      cancel(...args: Parameters<Store["cancel"]>) { return this.inner.cancel(...args) }
      purge(...args: Parameters<Store["purge"]>) { return this.inner.purge(...args) }
    }
    class Jobs extends Context.Service<Jobs, Durable.DurablePool<string, void, never>>()("test/CustomStore/Jobs") {}
    const { layer: logger, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      let broken = true
      const own = Layer.succeed(Store, new OwnStore(memory, () => broken) as unknown as Store)
      const context = yield* Layer.build(
        Durable.layer(Jobs, { queue: "q", schema: Schema.String, workers: 1, pollInterval: "100 millis", handler: () => Effect.void })
          .pipe(Layer.provide(own))
      )
      const jobs = Context.get(context, Jobs)
      yield* jobs.submit("a", { id: "a" })
      yield* elapse(500)
      assert.isTrue(lines.some((line) => line.message.startsWith("claiming jobs failed") && /bug in a method/.test(line.message)))
      broken = false
      yield* elapse(10_000)
      assert.deepStrictEqual(yield* jobs.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
    })).pipe(Effect.provide(logger))
  })

  it.effect("a producer's submit and an admin's counts fail with a StoreError naming the operation; nothing is stored", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const broken: Store = { ...store, offer: () => Promise.resolve([]) as never, counts: () => undefined as never }
      const error = yield* Effect.flip(Durable.producer({ ...oneWorkerOptions(broken) }).submit("a"))
      assert.strictEqual(error._tag, "StoreError")
      assert.isTrue(error._tag === "StoreError" && error.operation === "offer")
      assert.match(error.message, /the store's offer returned a Promise/)
      const counting = yield* Effect.flip(Durable.admin({ store: broken, queue: "q" }).counts)
      assert.isTrue(counting._tag === "StoreError" && counting.operation === "counts")
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 0, completed: 0, buried: 0 })
    }))
})

describe("a store written outside this package that does not answer", () => {
  it.effect("a claim that hangs is interrupted after 5 s, logged as a StoreError and retried; the job runs once the store answers", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let hanging = true
      let interrupted = 0
      const hangs = () => Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted++))
      const pool = yield* oneWorker(breaking(store, "claim", hangs, () => hanging), { handler: () => Effect.void })
      yield* pool.submit("a", { id: "a" })
      yield* elapse(4_900)
      assert.isFalse(lines.some((line) => line.message.startsWith("claiming jobs failed")))
      yield* elapse(200)
      const warning = lines.find((line) => line.message.startsWith("claiming jobs failed"))
      assert.match(warning?.message ?? "", /the job store failed to claim jobs: no answer within 5000 ms/)
      assert.isAtLeast(interrupted, 1)
      hanging = false
      yield* elapse(20_000, 100)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
    })).pipe(Effect.provide(layer))
  })

  it.effect("its own commandTimeout bounds a producer's offer: a retryable StoreError once it has passed", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const hanging: Store = { ...store, offer: () => Effect.never, commandTimeout: "1 second" }
      const submitted = yield* Effect.forkChild(Durable.producer(oneWorkerOptions(hanging)).submit("a"))
      yield* elapse(900)
      assert.isUndefined(submitted.pollUnsafe())
      yield* elapse(200)
      const error = yield* Effect.flip(Fiber.join(submitted))
      assert.isTrue(error._tag === "StoreError" && error.operation === "offer" && error.retryable)
      assert.match(error.message, /no answer within 1000 ms/)
    }))

  it.effect("an operation that cannot be interrupted is given up at the bound, not waited for", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const stuck: Store = { ...store, counts: () => Effect.uninterruptible(Effect.never), commandTimeout: "1 second" }
      const counting = yield* Effect.forkChild(Durable.admin({ store: stuck, queue: "q" }).counts)
      yield* elapse(1_100)
      const error = yield* Effect.flip(Fiber.join(counting))
      assert.isTrue(error._tag === "StoreError" && error.operation === "counts" && error.retryable)
      assert.match(error.message, /no answer within 1000 ms/)
    }))

  it.effect("a listener's set-up that hangs is given up after 5 s, logged, and set up again", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let listens = 0
      const hanging: Store = { ...store, listen: () => Effect.sync(() => listens++).pipe(Effect.andThen(Effect.never)) }
      yield* oneWorker(hanging, { handler: () => Effect.void })
      yield* elapse(4_900)
      assert.strictEqual(listens, 1)
      yield* elapse(1_000)
      assert.isAtLeast(listens, 2)
      const warning = lines.find((line) => line.message.startsWith("listening for new jobs failed"))
      assert.match(warning?.message ?? "", /no answer within 5000 ms/)
    })).pipe(Effect.provide(layer))
  })

  it.effect("one of ours with an operation replaced keeps its engine's own bound for the others (here 30 s, not 5)", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      // An engine whose counts answers after 6 s, bounded at 30 s by the boundary, as a server's store is.
      const engine = {
        ...memory,
        counts: (queue: string) => Effect.delay(memory.counts(queue), "6 seconds")
      } as unknown as Boundary.Engine
      const ours = Boundary.makeStore(engine, { engine: "test", commandTimeout: { duration: Duration.seconds(30), scope: yield* Effect.scope } })
      const taken: Store = { ...ours, claim: (...args) => ours.claim(...args) }
      const counting = yield* Effect.forkChild(Durable.admin({ store: taken, queue: "q" }).counts)
      yield* elapse(6_100)
      assert.deepStrictEqual(yield* Fiber.join(counting), { ready: 0, leased: 0, completed: 0, buried: 0 })
    })))

  it.effect("with commandTimeout Infinity, an operation may take as long as it takes", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const slow: Store = { ...store, counts: (queue) => Effect.delay(store.counts(queue), "1 hour"), commandTimeout: "Infinity" }
      const counting = yield* Effect.forkChild(Durable.admin({ store: slow, queue: "q" }).counts)
      yield* elapse(3_600_000, 60_000)
      assert.deepStrictEqual(yield* Fiber.join(counting), { ready: 0, leased: 0, completed: 0, buried: 0 })
    }))

  it.effect("a listener's wait is not bounded: one set-up while no notification comes for a minute", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      let listens = 0
      const quiet: Store = { ...store, listen: () => Effect.sync(() => (listens++, Effect.never)) }
      yield* oneWorker(quiet, { handler: () => Effect.void })
      yield* elapse(60_000, 1_000)
      assert.strictEqual(listens, 1)
    })))

  for (const [given, says] of [[-1, /must not be negative/], ["soon", /is not a duration/], [0, /must be greater than zero/]] as const) {
    it.effect(`a commandTimeout of ${JSON.stringify(given)} is refused, naming store.commandTimeout`, () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore.make
        const wrong = { ...store, commandTimeout: given } as unknown as Store
        const error = yield* Effect.flip(Durable.producer(oneWorkerOptions(wrong)).submit("a"))
        assert.strictEqual(error._tag, "PoolConfigError")
        assert.match(error.message, /store\.commandTimeout/)
        assert.match(error.message, says)
      }))
  }
})
