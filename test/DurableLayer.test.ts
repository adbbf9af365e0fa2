/**
 * The durable pool the Effect way: as a layer (its store given, or taken
 * from the `Store` service), shut down with a policy, and a shutdown whose
 * report reaches the application (`onShutdown`) and the log (the ids of the
 * jobs given back, as annotations). On the memory store, under the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Option, Schema, Scope } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Store } from "../src/durable/Store.ts"
import { Durable, Pool, type Shutdown } from "../src/index.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { capture } from "./support/logLines.ts"

class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { to: Schema.String }) {}

class Emails extends Context.Service<Emails, Durable.DurablePool<string, string, Rejected>>()("test/Emails") {}

/** Builds `layer` in a scope of its own, to release it when the test says so. */
const acquire = <ROut, E>(layer: Layer.Layer<ROut, E>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { context, release: Scope.close(scope, Exit.void) }
  })

describe("Durable.layer", () => {
  it.effect("takes its store from the Store service when no store is given", () =>
    Effect.gen(function*() {
      const EmailsLive = Durable.layer(Emails, {
        queue: "emails",
        schema: Schema.String,
        workers: 2,
        pollInterval: "100 millis",
        handler: (job) => job.payload.includes("@") ? Effect.succeed(`sent ${job.payload}`) : Effect.fail(new Rejected({ to: job.payload }))
      })
      const StoreLive = MemoryStore.layer
      const { context, release } = yield* acquire(Layer.merge(EmailsLive.pipe(Layer.provide(StoreLive)), StoreLive))
      const emails = Context.get(context, Emails)
      yield* emails.submitAll(["ada@example.com", "grace@example.com"])
      yield* elapse(300)
      assert.strictEqual((yield* emails.counts).completed, 2)
      yield* release
      assert.instanceOf(yield* Effect.flip(emails.submit("late@example.com")), Pool.PoolClosedError)
    }))

  it.effect("uses the store it is given, and needs nothing from the context", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { context, release } = yield* acquire(Durable.layer(Emails, {
        store,
        queue: "emails",
        schema: Schema.String,
        workers: 1,
        pollInterval: "100 millis",
        handler: (job) => Effect.succeed(job.payload)
      }))
      yield* Context.get(context, Emails).submit("ada@example.com")
      yield* elapse(300)
      yield* release
      assert.strictEqual((yield* store.counts("emails")).completed, 1)
    }))

  it.effect("bad options fail the layer with PoolConfigError naming the option", () =>
    Effect.gen(function*() {
      const layer = Durable.layer(Emails, {
        queue: "emails",
        schema: Schema.String,
        workers: 0,
        handler: (job) => Effect.succeed(job.payload)
      }).pipe(Layer.provide(MemoryStore.layer))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
      assert.strictEqual(error.option, "workers")
    }))
})

describe("Durable shutdown", () => {
  it.effect("shutdown(policy) applies the policy: backlog \"return\" hands the claimed jobs back unstarted", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, { prefetch: 2, handler: () => Effect.sleep("1 second") })
      yield* pool.submitAll(["a", "b", "c"])
      yield* elapse(200)
      const closing = yield* Effect.forkChild(pool.shutdown({ backlog: "return", timeout: "5 seconds" }), {
        startImmediately: true
      })
      yield* elapse(1_500)
      const report = yield* Fiber.join(closing)
      assert.strictEqual(report.succeeded, 1)
      assert.strictEqual(report.abandoned.length, 2)
      assert.isFalse(report.timedOut)
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 2, leased: 0, completed: 1, buried: 0 })
    })))

  it.effect("shutdown(policy) with a timeout of 0 interrupts at once, and the job goes back to the store", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, { shutdown: { timeout: "1 hour" }, handler: () => Effect.never })
      yield* pool.submit("stuck", { id: "stuck" })
      yield* elapse(200)
      const report = yield* pool.shutdown({ timeout: 0 })
      assert.isTrue(report.timedOut)
      assert.deepStrictEqual(report.interrupted.map((job) => job.id), ["stuck"])
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 1, leased: 0, completed: 0, buried: 0 })
    })))

  it.effect("a bad policy is a PoolConfigError naming it, before and after the pool is shut down, and changes nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, { handler: () => Effect.void })
      const bad: ReadonlyArray<readonly [unknown, string]> = [
        [{ timeout: -1 }, "shutdown.timeout"],
        [{ timeout: "soon" }, "shutdown.timeout"],
        [{ backlog: "keep" }, "shutdown.backlog"],
        [[], "shutdown"],
        [null, "shutdown"],
        ["now", "shutdown"],
        [Object.defineProperty({}, "timeout", { get: () => { throw new Error("boom") } }), "shutdown.timeout"]
      ]
      for (const [policy, option] of bad) {
        const error = yield* Effect.flip(pool.shutdown(policy as Partial<Shutdown.Policy>))
        assert.strictEqual(error.option, option)
      }
      // Still running: a bad policy did not begin a shutdown.
      yield* pool.submit("after")
      yield* elapse(200)
      assert.strictEqual((yield* store.counts("q")).completed, 1)
      yield* pool.shutdown()
      for (const [policy, option] of bad) {
        const error = yield* Effect.flip(pool.shutdown(policy as Partial<Shutdown.Policy>))
        assert.strictEqual(error.option, option)
      }
    })))

  it.effect("releasing the layer hands the report to onShutdown and logs the ids of the jobs given back", () =>
    Effect.gen(function*() {
      const { layer: logger, lines } = capture()
      const reports: Array<Shutdown.Report<string>> = []
      const EmailsLive = Durable.layer(Emails, {
        queue: "emails",
        schema: Schema.String,
        workers: 1,
        prefetch: 2,
        pollInterval: "100 millis",
        shutdown: { timeout: "1 second" },
        handler: () => Effect.never,
        onShutdown: (report) => Effect.sync(() => reports.push(report))
      }).pipe(Layer.provide(MemoryStore.layer))
      yield* Effect.gen(function*() {
        const { context, release } = yield* acquire(EmailsLive)
        const emails = Context.get(context, Emails)
        for (const id of ["x", "y", "z"]) yield* emails.submit(id, { id })
        yield* elapse(300)
        const closing = yield* Effect.forkChild(release, { startImmediately: true })
        yield* elapse(1_500)
        yield* Fiber.join(closing)
      }).pipe(Effect.provide(logger))
      assert.strictEqual(reports.length, 1, "onShutdown is called once")
      const [report] = reports
      assert.deepStrictEqual([report!.interrupted.map((job) => job.id), report!.abandoned.map((job) => job.id)], [
        ["x"],
        ["y", "z"]
      ])
      const line = lines.find((line) => line.message.includes("durable pool shut down"))
      assert.isDefined(line, `no shutdown line in ${JSON.stringify(lines.map((line) => line.message))}`)
      assert.strictEqual(line!.level, "Warn")
      assert.include(line!.message, "3 jobs released to the store")
      assert.deepStrictEqual(
        [line!.annotations.queue, line!.annotations.interruptedIds, line!.annotations.abandonedIds],
        ["emails", ["x"], ["y", "z"]]
      )
    }))

  it.effect("a shutdown whose store never takes the last acknowledgements says so: the jobs that succeeded run again", () =>
    Effect.scoped(Effect.gen(function*() {
      const { layer: logger, lines } = capture()
      const healthy = yield* MemoryStore.make
      // A store that hangs once the job ran: its acknowledgement is never answered.
      const store: Store = { ...healthy, complete: () => Effect.never }
      yield* healthy.offer("q", [{ id: "x", payload: "x" }])
      const pool = yield* oneWorker(store, { handler: () => Effect.void })
      yield* elapse(300)
      const shutdown = yield* Effect.forkChild(pool.shutdown().pipe(Effect.provide(logger)), { startImmediately: true })
      yield* elapse(6_000)
      const report = yield* Fiber.join(shutdown)
      assert.deepStrictEqual([report.succeeded, report.interrupted.length, report.abandoned.length], [1, 0, 0])
      const line = lines.find((line) => line.message.includes("durable pool shut down"))
      assert.isDefined(line, `no shutdown line in ${JSON.stringify(lines.map((line) => line.message))}`)
      assert.strictEqual(line!.level, "Warn")
      assert.include(line!.message, "the store was not told how the last jobs ended")
      // It is still leased in the store: it comes back once the lease runs out.
      assert.strictEqual((yield* healthy.counts("q")).leased, 1)
    })))

  it.effect("an onShutdown that fails or dies is logged; the shutdown still reports", () =>
    Effect.scoped(Effect.gen(function*() {
      const { layer: logger, lines } = capture()
      for (const onShutdown of [() => Effect.die(new Error("boom")), () => { throw new Error("thrown") }]) {
        const store = yield* MemoryStore.make
        const pool = yield* oneWorker(store, { handler: () => Effect.void, onShutdown })
        const report = yield* pool.shutdown().pipe(Effect.provide(logger))
        assert.strictEqual(report.succeeded, 0)
      }
      assert.strictEqual(lines.filter((line) => line.message.includes("onShutdown failed")).length, 2)
    })))

  it.effect("an onShutdown that asks for the pool's shutdown gets the report at once, not a wait for itself", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const seen: Array<boolean> = []
      let pool: Durable.DurablePool<string, void, never> | undefined
      pool = yield* oneWorker(store, {
        handler: () => Effect.void,
        onShutdown: (report) => Effect.map(pool!.shutdown(), (again) => void seen.push(again === report))
      })
      const report = yield* pool.shutdown().pipe(Effect.timeoutOption("10 seconds"), Effect.forkChild)
      yield* elapse(10_000)
      assert.isTrue(Option.isSome(yield* Fiber.join(report)), "the shutdown waited for itself")
      assert.deepStrictEqual(seen, [true])
    })))

  it.effect("onShutdown runs with the context the pool was made in, whoever shuts it down", () =>
    Effect.scoped(Effect.gen(function*() {
      class Audit extends Context.Service<Audit, Array<number>>()("test/Audit") {}
      const audit: Array<number> = []
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, {
        handler: () => Effect.void,
        onShutdown: (report) => Effect.flatMap(Audit, (entries) => Effect.sync(() => entries.push(report.succeeded)))
      }).pipe(Effect.provideService(Audit, audit))
      yield* pool.submit("a")
      yield* elapse(500)
      // Shut down from here, where no Audit is provided.
      yield* pool.shutdown()
      assert.deepStrictEqual(audit, [1])
    })))

  it.effect("the store from the context is the one the layers share", () =>
    Effect.gen(function*() {
      const { context, release } = yield* acquire(MemoryStore.layer)
      const store = Context.get(context, Store)
      yield* store.offer("q", [{ id: "a", payload: "a" }])
      assert.strictEqual((yield* store.counts("q")).ready, 1)
      yield* release
    }))
})
