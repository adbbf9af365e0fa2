/**
 * A durable queue people can run for months, on the in-memory store under
 * the TestClock: ended jobs purged after their retention by the pool's
 * maintenance (on its interval, a bounded batch per run, stopped by the
 * shutdown), completed ones deleted at once under a retention of zero; dead letters redriven or removed; jobs looked up and
 * cancelled, from the pool or from an admin handle with no workers; an id
 * that is dead-lettered or cancelled refused by submit, saying so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { PoolConfigError } from "../src/Pool.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { throwingProxy } from "./support/hostileValues.ts"
import { settle } from "./support/workload.ts"

/** Lets `duration` pass at once (every sleep due meanwhile wakes, in order), then lets the fibers run. */
const pass = (duration: Parameters<typeof TestClock.adjust>[0]) => Effect.andThen(TestClock.adjust(duration), settle)

/** The state of each of `ids` in `store`'s queue "q" ("gone" for none). */
const states = (store: Store, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) => Effect.map(store.lookup("q", id), (job) => job?.state ?? "gone"))

/** A memory store that records the limit of each `purge` it is asked. */
const purgesRecorded = () =>
  Effect.map(MemoryStore.make, (memory) => {
    const limits: Array<number> = []
    const store: Store = {
      ...memory,
      purge: (queue, retention, limit) => {
        limits.push(limit)
        return memory.purge(queue, retention, limit)
      }
    }
    return { limits, store }
  })

describe("Durable retention", () => {
  it.effect("completed jobs are purged after completedRetention, dead letters after deadLetterRetention; counts stay exact", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, {
        maxAttempts: 1,
        pollInterval: "1 second",
        completedRetention: "10 minutes",
        deadLetterRetention: "1 hour",
        maintenanceInterval: "1 minute",
        handler: (job) => job.payload === "bad" ? Effect.fail("no") : Effect.void
      })
      yield* pool.submit("ok", { id: "ok" })
      yield* pool.submit("bad", { id: "bad" })
      yield* elapse(2_000)
      assert.deepStrictEqual(yield* states(store, ["ok", "bad"]), ["completed", "buried"])
      yield* pass("9 minutes")
      assert.deepStrictEqual(yield* states(store, ["ok", "bad"]), ["completed", "buried"], "purged before its retention")
      // Past 10 minutes, at the next run of the maintenance (each minute).
      yield* pass("1 minute")
      yield* pass("1 minute")
      assert.deepStrictEqual(yield* states(store, ["ok", "bad"]), ["gone", "buried"])
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 1 })
      yield* pass("48 minutes")
      assert.deepStrictEqual(yield* states(store, ["bad"]), ["buried"], "purged before its retention")
      yield* pass("2 minutes")
      assert.deepStrictEqual(yield* states(store, ["bad"]), ["gone"])
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
      // Deduplication holds while a job is in the store, no longer: the id is a new job now.
      assert.strictEqual(yield* pool.submit("ok", { id: "ok" }), "ok")
      yield* elapse(2_000, 500)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 2, buried: 0 })
    })))

  it.effect("a run of the maintenance purges maintenanceBatch jobs at a time, and again while a batch comes back full", () =>
    Effect.scoped(Effect.gen(function*() {
      const { limits, store } = yield* purgesRecorded()
      const pool = yield* oneWorker(store, {
        // Past at the first run, yet above zero: a retention of zero deletes each job as it completes.
        completedRetention: "1 millis",
        maintenanceInterval: "1 minute",
        maintenanceBatch: 2,
        handler: () => Effect.void
      })
      const ids = ["a", "b", "c", "d", "e"]
      for (const id of ids) yield* pool.submit(id, { id })
      yield* elapse(1_000)
      const gone = Effect.map(states(store, ids), (all) => all.filter((state) => state === "gone").length)
      assert.strictEqual(yield* gone, 0)
      yield* pass("1 minute")
      assert.strictEqual(yield* gone, 5)
      // Two full batches, then a short one that ends the run.
      assert.deepStrictEqual(limits, [2, 2, 2])
    })))

  it.effect("a queue that ends more jobs per interval than one batch keeps only its retention's worth", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, {
        completedRetention: "1 minute",
        maintenanceInterval: "1 minute",
        maintenanceBatch: 2,
        handler: () => Effect.void
      })
      const ids: Array<string> = []
      const kept: Array<number> = []
      for (let minute = 0; minute < 10; minute++) {
        for (let n = 0; n < 10; n++) ids.push(yield* pool.submit("x", { id: `${minute}-${n}` }))
        yield* pass("1 minute")
        kept.push((yield* states(store, ids)).filter((state) => state === "completed").length)
      }
      // Ten jobs end a minute, a batch is two: at one batch a run, 80 would be kept by now.
      assert.isAtMost(Math.max(...kept), 20, `completed jobs kept, minute by minute: ${kept.join(", ")}`)
      assert.strictEqual((yield* pool.counts).completed, 100)
    })))

  it.effect("a custom store's purge that answers no count, or dies, ends the run; the next run comes an interval later", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      for (const answer of [Effect.succeed(undefined as unknown as number), Effect.succeed(Number.NaN), Effect.die("broken")]) {
        let purges = 0
        const store: Store = { ...memory, purge: () => Effect.andThen(Effect.sync(() => purges++), answer) }
        yield* Effect.scoped(Effect.gen(function*() {
          yield* oneWorker(store, { maintenanceInterval: "1 minute", maintenanceBatch: 5, handler: () => Effect.void })
          yield* pass("1 minute")
          assert.strictEqual(purges, 1, `one purge a run, answered ${String(answer)}`)
          yield* pass("1 minute")
          assert.strictEqual(purges, 2, "the maintenance goes on")
        }))
      }
    })))

  it.effect("a run ends once its interval has passed, even if the store keeps answering full batches", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      let purges = 0
      // A store that says it purged a full batch every time, after 10 seconds (past the 5 a store's
      // operation is given unless it says otherwise: this one says it may take a minute).
      const store: Store = {
        ...memory,
        purge: (_queue, _retention, limit) => Effect.as(Effect.sleep("10 seconds"), limit).pipe(Effect.tap(() => Effect.sync(() => purges++))),
        commandTimeout: "1 minute"
      }
      yield* oneWorker(store, { maintenanceInterval: "1 minute", maintenanceBatch: 5, handler: () => Effect.void })
      yield* pass("1 minute")
      for (let second = 0; second < 60; second += 10) yield* pass("10 seconds")
      // The run began at one minute, and its sixth batch came back at two: it ends there.
      assert.strictEqual(purges, 6)
      yield* pass("30 seconds")
      assert.strictEqual(purges, 6, "a run went on past its interval")
      yield* pass("30 seconds")
      for (let second = 0; second < 10; second += 10) yield* pass("10 seconds")
      assert.strictEqual(purges, 7, "the next run, one interval after the last ended")
    })))

  it.effect("with completedRetention 0 a completed job is deleted as it completes, still counted, its id new again; the default keeps it", () =>
    Effect.scoped(Effect.gen(function*() {
      // Maintenance a day away: whatever is gone within these seconds was never kept.
      const run = (completedRetention: Durable.Options<string, string, void, never, never>["completedRetention"]) =>
        Effect.gen(function*() {
          const store = yield* MemoryStore.make
          const pool = yield* oneWorker(store, { completedRetention, maintenanceInterval: "1 day", handler: () => Effect.void })
          yield* pool.submit("first", { id: "x" })
          yield* elapse(1_000)
          const [after] = yield* states(store, ["x"])
          // The same id again: a new job if the first is gone, the known one (not run again) if kept.
          yield* pool.submit("again", { id: "x" })
          yield* elapse(1_000)
          return { after, counts: yield* pool.counts, lookup: yield* pool.lookup("x") }
        })
      const dropped = yield* run(0)
      assert.strictEqual(dropped.after, "gone", "a completed job was kept with completedRetention 0")
      assert.deepStrictEqual(dropped.counts, { ready: 0, leased: 0, completed: 2, buried: 0 })
      assert.strictEqual(dropped.lookup, undefined)
      const kept = yield* run(undefined)
      assert.strictEqual(kept.after, "completed")
      assert.deepStrictEqual(kept.counts, { ready: 0, leased: 0, completed: 1, buried: 0 })
      assert.strictEqual(kept.lookup?.state, "completed")
    })))

  it.effect("with completedRetention 0 on a store whose complete takes no third argument, the maintenance purges the completed job", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      // A store written before `complete` took its third argument: it keeps every completed job.
      const store: Store = { ...memory, complete: (queue, leases) => memory.complete(queue, leases) }
      yield* oneWorker(store, { completedRetention: 0, maintenanceInterval: "1 minute", handler: () => Effect.void })
      yield* memory.offer("q", [{ id: "x", payload: "x" }])
      yield* elapse(1_000)
      assert.deepStrictEqual(yield* states(memory, ["x"]), ["completed"])
      yield* pass("1 minute")
      assert.deepStrictEqual(yield* states(memory, ["x"]), ["gone"])
      assert.strictEqual((yield* memory.counts("q")).completed, 1)
    })))

  it.effect("the maintenance stops with the pool's shutdown", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, {
        completedRetention: "1 minute",
        maintenanceInterval: "1 minute",
        handler: () => Effect.void
      })
      yield* pool.submit("x", { id: "x" })
      yield* elapse(500)
      yield* pool.shutdown()
      yield* pass("1 day")
      assert.deepStrictEqual(yield* states(store, ["x"]), ["completed"])
    })))
})

/**
 * A one-worker pool with a 3 s lease (a heartbeat a second) whose job "long"
 * runs for an hour, the others at once, with "long" running; `events` says
 * each start (id and attempt) and each interruption.
 */
const runningLongJob = (store: Store) =>
  Effect.gen(function*() {
    const events: Array<string> = []
    const pool = yield* oneWorker(store, {
      lease: "3 seconds",
      handler: (job) =>
        Effect.sync(() => events.push(`start ${job.id}#${job.attempt}`)).pipe(
          Effect.andThen(job.id === "long" ? Effect.sleep("1 hour") : Effect.void),
          Effect.onInterrupt(() => Effect.sync(() => events.push(`stopped ${job.id}`)))
        )
    })
    yield* pool.submit("long", { id: "long" })
    yield* elapse(300)
    return { admin: Durable.admin({ store, queue: "q" }), events, pool }
  })

describe("Durable dead letters and single jobs", () => {
  const failing = (store: Store) =>
    oneWorker(store, { maxAttempts: 1, handler: (job) => job.payload.startsWith("bad") ? Effect.fail("no") : Effect.void })

  it.effect("submit with the id of a dead letter or a cancelled job fails with JobNotResubmittedError; a known live or completed id succeeds", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* failing(store)
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      yield* pool.submit("bad", { id: "dead" })
      yield* pool.submit("ok", { id: "done" })
      yield* elapse(500)
      yield* producer.submit("later", { id: "stopped" })
      assert.strictEqual(yield* pool.cancel("stopped"), "ready")
      for (const submitter of [pool, producer]) {
        for (const [id, state] of [["dead", "buried"], ["stopped", "cancelled"]] as const) {
          const error = yield* Effect.flip(submitter.submit("again", { id }))
          assert.instanceOf(error, Durable.JobNotResubmittedError)
          assert.deepStrictEqual([error._tag, (error as Durable.JobNotResubmittedError).id, (error as Durable.JobNotResubmittedError).state], [
            "JobNotResubmittedError",
            id,
            state
          ])
          assert.include(error.message, "redrive")
          assert.include(error.message, JSON.stringify(id))
        }
        // Idempotent as before: the id is returned, nothing is stored twice.
        assert.strictEqual(yield* submitter.submit("ok", { id: "done" }), "done")
      }
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 1, buried: 1 })
    })))

  it.effect("redrive runs dead letters again with fresh attempts: by ids, or all; remove deletes them", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const seen: Array<string> = []
      const pool = yield* oneWorker(store, {
        maxAttempts: 1,
        handler: (job) =>
          Effect.suspend(() => {
            seen.push(`${job.id}#${job.attempt}`)
            // Each fails the first time it runs: a redrive runs it anew.
            return seen.filter((s) => s.startsWith(`${job.id}#`)).length === 1 ? Effect.fail("no") : Effect.void
          })
      })
      const admin = Durable.admin({ store, queue: "q" })
      for (const id of ["a", "b", "c", "d", "e"]) yield* pool.submit(id, { id })
      yield* elapse(1_000)
      assert.deepStrictEqual((yield* pool.deadLetters()).map((job) => job.id), ["a", "b", "c", "d", "e"])
      assert.strictEqual(yield* admin.redrive(["a", "nobody"]), 1)
      yield* elapse(500)
      assert.deepStrictEqual((yield* admin.lookup("a"))?.state, "completed")
      assert.strictEqual(seen.at(-1), "a#1", "a redriven job starts again from attempt 1")
      assert.strictEqual(yield* admin.remove(["b"]), 1)
      assert.strictEqual(yield* admin.lookup("b"), undefined)
      assert.strictEqual(yield* pool.redrive(), 3)
      yield* elapse(1_000)
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 4, buried: 0 })
      yield* pool.submit("bad", { id: "f" })
      yield* pool.submit("bad", { id: "g" })
      yield* elapse(500)
      assert.strictEqual(yield* admin.remove(), 2)
      assert.deepStrictEqual(yield* pool.deadLetters(), [])
    })))

  it.effect("redrive() and remove() go on past a batch another caller took first, and read no payload to list the ids", () =>
    Effect.scoped(Effect.gen(function*() {
      for (const operation of ["redrive", "remove"] as const) {
        const healthy = yield* MemoryStore.make
        yield* healthy.offer("q", Array.from({ length: 1_200 }, (_, i) => ({ id: `d${i}`, payload: i })))
        for (const lease of yield* healthy.claim("q", 1_200, Duration.minutes(1))) yield* healthy.bury("q", lease, "no")
        const payloadLimits: Array<number | undefined> = []
        let first = true
        const store: Store = {
          ...healthy,
          buried: (queue, limit, maxPayloadBytes) => {
            payloadLimits.push(maxPayloadBytes)
            return healthy.buried(queue, limit, maxPayloadBytes)
          },
          // The first batch listed is taken by another operator just before this call's own operation.
          [operation]: (queue: string, ids: ReadonlyArray<string>) => {
            if (!first) return healthy[operation](queue, ids)
            first = false
            return Effect.andThen(healthy[operation](queue, ids), healthy[operation](queue, ids))
          }
        }
        const admin = Durable.admin({ store, queue: "q" })
        assert.strictEqual(yield* admin[operation](), 700, operation)
        assert.strictEqual((yield* healthy.counts("q")).buried, 0, operation)
        assert.deepStrictEqual(payloadLimits, [0, 0, 0], operation)
      }
    })))

  it.effect("deadLetters pages after a cursor: every dead letter once, in burial order, on to an empty page", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.offer("q", Array.from({ length: 5 }, (_, i) => ({ id: `d${i}`, payload: i })))
      for (const lease of yield* store.claim("q", 5, Duration.minutes(1))) yield* store.bury("q", lease, "no")
      const admin = Durable.admin({ store, queue: "q" })
      const first = yield* admin.deadLetters(2)
      const second = yield* admin.deadLetters(2, { after: first.at(-1)!.cursor })
      const third = yield* admin.deadLetters(2, { after: second.at(-1)!.cursor, maxPayloadBytes: 1 })
      assert.deepStrictEqual([first, second, third].map((page) => page.map((job) => job.id)), [["d0", "d1"], ["d2", "d3"], ["d4"]])
      assert.deepStrictEqual(yield* admin.deadLetters(2, { after: third.at(-1)!.cursor }), [])
    })))

  it.effect("deadLetters and upcoming after a cursor fail, not retryable, on a store that gives no cursors or ignores after", () =>
    Effect.scoped(Effect.gen(function*() {
      const healthy = yield* MemoryStore.make
      yield* healthy.offer("q", Array.from({ length: 3 }, (_, i) => ({ id: `d${i}`, payload: i })))
      for (const lease of yield* healthy.claim("q", 3, Duration.minutes(1))) yield* healthy.bury("q", lease, "no")
      yield* healthy.offer("q", Array.from({ length: 3 }, (_, i) => ({ id: `u${i}`, payload: i, delay: 60_000 })))
      const upcoming = healthy.upcoming!
      const stores: Record<string, Store> = {
        "no cursors": {
          ...healthy,
          buried: (queue, limit) => Effect.map(healthy.buried(queue, limit), (page) => page.map(({ cursor: _, ...letter }) => letter)),
          upcoming: (queue, limit) => Effect.map(upcoming(queue, limit), (page) => page.map(({ cursor: _, ...job }) => job))
        },
        "after ignored": {
          ...healthy,
          buried: (queue, limit) => healthy.buried(queue, limit),
          upcoming: (queue, limit) => upcoming(queue, limit)
        }
      }
      const [, letter] = yield* healthy.buried("q", 10)
      const [, waiting] = yield* upcoming("q", 10)
      for (const [kind, store] of Object.entries(stores)) {
        const admin = Durable.admin({ store, queue: "q" })
        assert.strictEqual((yield* admin.deadLetters(10)).length, 3, `${kind}: the first page of dead letters is listed`)
        assert.strictEqual((yield* admin.upcoming(10))?.length, 3, `${kind}: the first page of upcoming jobs is listed`)
        const refusals = [
          [yield* Effect.flip(admin.deadLetters(10, { after: letter!.cursor })), "buried", "dead letters"],
          [yield* Effect.flip(admin.upcoming(10, { after: waiting!.cursor })), "upcoming", "upcoming jobs"]
        ] as const
        for (const [error, operation, what] of refusals) {
          assert.strictEqual(error._tag, "StoreError", kind)
          assert.strictEqual((error as { readonly operation?: string }).operation, operation, kind)
          assert.include(error.message, `cannot list ${what} after a cursor`, kind)
          assert.isFalse((error as { readonly retryable?: boolean }).retryable, kind)
        }
      }
    })))

  it.effect("lookup tells state, attempts, run-at and last error; undefined for an unknown id", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* failing(store)
      yield* pool.submit("bad", { id: "dead" })
      yield* elapse(500)
      const dead = yield* pool.lookup("dead")
      assert.deepStrictEqual([dead?.state, dead?.attempts, dead?.runAt], ["buried", 1, undefined])
      assert.include(dead?.error, "no")
      assert.strictEqual(yield* pool.lookup("nobody"), undefined)
    })))

  it.effect("a running job cancelled from another process is interrupted within a heartbeat, ends cancelled, and is not retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { admin, events, pool } = yield* runningLongJob(store)
      assert.deepStrictEqual(events, ["start long#1"])
      assert.strictEqual(yield* admin.cancel("long"), "leased")
      assert.strictEqual((yield* admin.lookup("long"))?.state, "cancelled")
      // The heartbeat renews every second (a third of the lease): by then it is stopped.
      yield* elapse(1_100)
      assert.deepStrictEqual(events, ["start long#1", "stopped long"])
      assert.strictEqual((yield* pool.stats).cancelled, 1)
      yield* elapse(10_000)
      assert.deepStrictEqual(events, ["start long#1", "stopped long"], "a cancelled job ran again")
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 0, buried: 0 })
      assert.strictEqual((yield* admin.lookup("long"))?.state, "cancelled")
      // The worker is free again.
      yield* pool.submit("next", { id: "next" })
      yield* elapse(300)
      assert.deepStrictEqual(events.at(-1), "start next#1")
    })))

  it.effect("a running job cancelled and then removed from another process before its next heartbeat is still stopped by it", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { admin, events, pool } = yield* runningLongJob(store)
      assert.strictEqual(yield* admin.cancel("long"), "leased")
      assert.strictEqual(yield* admin.remove(["long"]), 1)
      yield* elapse(1_100)
      assert.deepStrictEqual(events, ["start long#1", "stopped long"])
      assert.strictEqual((yield* pool.stats).cancelled, 1)
    })))

  it.effect("cancel on the pool that runs the job stops it at once; a job waiting in the pool is skipped", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const events: Array<string> = []
      const pool = yield* oneWorker(store, {
        lease: "30 seconds",
        prefetch: 1,
        handler: (job) =>
          Effect.sync(() => events.push(`start ${job.id}`)).pipe(
            Effect.andThen(Effect.sleep("1 hour")),
            Effect.onInterrupt(() => Effect.sync(() => events.push(`stopped ${job.id}`)))
          )
      })
      yield* pool.submit("a", { id: "a" })
      yield* pool.submit("b", { id: "b" })
      yield* elapse(300)
      // "a" runs, "b" was claimed and waits for the one worker.
      assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 2, completed: 0, buried: 0 })
      assert.strictEqual(yield* pool.cancel("b"), "leased")
      assert.strictEqual(yield* pool.cancel("a"), "leased")
      yield* settle
      assert.deepStrictEqual(events, ["start a", "stopped a"])
      yield* elapse(300)
      assert.deepStrictEqual(events, ["start a", "stopped a"], "a cancelled job waiting in the pool started")
      assert.strictEqual((yield* pool.stats).cancelled, 2)
      assert.deepStrictEqual(yield* states(store, ["a", "b"]), ["cancelled", "cancelled"])
    })))

  it.effect("one id as a string is refused as ids, not read as its characters; ids no store keeps are refused, naming them", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* failing(store)
      const admin = Durable.admin({ store, queue: "q" })
      for (const id of ["inv-1", "i", "n", "v"]) yield* pool.submit("bad", { id })
      yield* pool.submit("later", { id: "order-\ufffd", delay: "1 hour" })
      yield* elapse(500)
      const refusal = (effect: Effect.Effect<unknown, unknown>) =>
        Effect.map(Effect.flip(effect), (error) => {
          assert.instanceOf(error, PoolConfigError)
          return [error.option, error.reason]
        })
      // A string is an Iterable<string> to the type checker: refused at run time.
      for (const operation of [admin.remove, admin.redrive, pool.remove, pool.redrive]) {
        // A String object is as iterable, and as assignable to Iterable<string>.
        for (const ids of ["inv-1", new String("inv-1")]) {
          const [option, reason] = yield* refusal(operation(ids))
          assert.strictEqual(option, "ids")
          assert.include(reason, "pass [id]")
        }
      }
      // Half a surrogate pair: read by PostgreSQL as U+FFFD, it would name "order-\ufffd".
      for (const bad of ["order-\ud800", "a\u0000"]) {
        assert.strictEqual((yield* refusal(admin.cancel(bad)))[0], "id")
        assert.strictEqual((yield* refusal(admin.lookup(bad)))[0], "id")
        assert.strictEqual((yield* refusal(admin.redrive(["inv-1", bad])))[0], "ids")
        assert.strictEqual((yield* refusal(admin.remove([bad])))[0], "ids")
      }
      assert.strictEqual((yield* admin.lookup("order-\ufffd"))?.state, "ready")
      assert.deepStrictEqual((yield* admin.deadLetters()).map((job) => job.id).sort(), ["i", "inv-1", "n", "v"])
      assert.strictEqual(yield* admin.remove(["inv-1"]), 1)
      assert.deepStrictEqual((yield* admin.deadLetters()).map((job) => job.id).sort(), ["i", "n", "v"])
    })))

  it.effect("bad arguments and bad admin options are a PoolConfigError naming them", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const admin = Durable.admin({ store, queue: "q" })
      const named = (effect: Effect.Effect<unknown, unknown>) =>
        Effect.map(Effect.flip(effect), (error) => (error as { readonly option?: string }).option)
      assert.strictEqual(yield* named(admin.lookup(7 as unknown as string)), "id")
      assert.strictEqual(yield* named(admin.cancel(null as unknown as string)), "id")
      assert.strictEqual(yield* named(admin.redrive([1] as unknown as Array<string>)), "ids")
      assert.strictEqual(yield* named(admin.remove(42 as unknown as Array<string>)), "ids")
      assert.strictEqual(yield* named(admin.deadLetters(0)), "limit")
      assert.strictEqual(yield* named(admin.deadLetters(1, { maxPayloadBytes: 0 })), "maxPayloadBytes")
      assert.strictEqual(yield* named(admin.deadLetters(1, { maxPayloadBytes: 1.5 })), "maxPayloadBytes")
      assert.strictEqual(yield* named(admin.deadLetters(1, null as never)), "options")
      // Options that cannot be read are named as such, not as the limit given beside them.
      assert.strictEqual(yield* named(admin.deadLetters(10, throwingProxy() as never)), "options")
      assert.strictEqual(yield* named(admin.deadLetters(1, { maxPayloadByte: 10 } as never)), "maxPayloadByte")
      for (const after of [null, 5, "", "next", "1e5", "-1", "1:+", { cursor: "1" }]) {
        assert.strictEqual(yield* named(admin.deadLetters(1, { after } as never)), "after", JSON.stringify(after))
        assert.strictEqual(yield* named(admin.upcoming(1, { after } as never)), "after", JSON.stringify(after))
      }
      assert.strictEqual(yield* named(admin.upcoming(1, null as never)), "options")
      assert.strictEqual(yield* named(admin.upcoming(10, throwingProxy() as never)), "options")
      assert.strictEqual(yield* named(admin.upcoming(1, { maxPayloadBytes: 10 } as never)), "maxPayloadBytes")
      assert.strictEqual(yield* named(admin.upcoming(1.5, { after: "1" })), "limit")
      const broken = Durable.admin({ store, queue: "" })
      assert.strictEqual(yield* named(broken.lookup("x")), "queue")
    })))
})

describe("Durable pause", () => {
  it.effect("a store that cannot pause: pause and resume fail, not retryable; isPaused is false; one that answers no boolean is refused", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { pause: _, paused: __, ...unpausable } = store
      const { paused: ___, ...halfway } = store
      const admin = Durable.admin({ store: unpausable, queue: "q" })
      // A store that could pause but not say so is not taken for one that can: it would show a paused queue running.
      const blind = Durable.admin({ store: halfway, queue: "q" })
      for (const operation of [admin.pause, admin.resume, blind.pause]) {
        const error = yield* Effect.flip(operation)
        assert.strictEqual(error._tag, "StoreError")
        assert.include(error.message, "cannot pause a queue")
        assert.isFalse((error as { readonly retryable?: boolean }).retryable)
      }
      assert.isFalse(yield* admin.isPaused)
      const wrong = Durable.admin({ store: { ...store, pause: () => Effect.succeed("yes" as never) }, queue: "q" })
      assert.match((yield* Effect.flip(wrong.pause)).message, /the store's pause answered/)
      // One of ours, through the admin: once, then already.
      const ours = Durable.admin({ store, queue: "q" })
      assert.deepStrictEqual([yield* ours.pause, yield* ours.pause, yield* ours.isPaused], [true, false, true])
      assert.deepStrictEqual([yield* ours.resume, yield* ours.resume, yield* ours.isPaused], [true, false, false])
    })))
})

describe("Durable upcoming", () => {
  it.effect("in memory, jobs due at one instant are listed in the order they were offered, as on PostgreSQL", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.offer("q", ["b", "c", "a", "tied10", "tied2"].map((id) => ({ id, payload: id, delay: 60_000 })))
      const listed = yield* Durable.admin({ store, queue: "q" }).upcoming()
      assert.deepStrictEqual(listed?.map((job) => job.id), ["b", "c", "a", "tied10", "tied2"])
    })))

  it.effect("pages after a cursor: every waiting job once, soonest first, on to an empty page", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const admin = Durable.admin({ store, queue: "q" })
      yield* store.offer("q", ["t1", "t0", "t2"].map((id) => ({ id, payload: id, delay: 60_000 })))
      yield* store.offer("q", [{ id: "soon", payload: 0, delay: 1_000 }, { id: "fraction", payload: 0, delay: 1_000.5 }])
      const first = yield* admin.upcoming(2)
      const second = yield* admin.upcoming(2, { after: first?.at(-1)?.cursor })
      const third = yield* admin.upcoming(2, { after: second?.at(-1)?.cursor })
      assert.deepStrictEqual([first, second, third].map((page) => page?.map((job) => job.id)), [["soon", "fraction"], ["t1", "t0"], ["t2"]])
      assert.deepStrictEqual(yield* admin.upcoming(2, { after: third?.at(-1)?.cursor }), [])
    })))

  it.effect("lists the jobs waiting for their time, soonest first; a bad limit is refused; a store that cannot list says undefined", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const admin = Durable.admin({ store, queue: "q" })
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      yield* producer.submit("b", { id: "in-a-minute", delay: "1 minute" })
      yield* producer.submit("a", { id: "in-a-second", delay: "1 second" })
      yield* producer.submit("c", { id: "now" })
      const now = yield* Clock.currentTimeMillis
      const listed = yield* admin.upcoming()
      assert.deepStrictEqual(listed?.map((job) => [job.id, job.runAt.getTime() - now, job.attempts]), [
        ["in-a-second", 1_000, 0],
        ["in-a-minute", 60_000, 0]
      ])
      assert.deepStrictEqual((yield* admin.upcoming(1))?.map((job) => job.id), ["in-a-second"])
      const refused = yield* Effect.flip(admin.upcoming(0))
      assert.strictEqual(refused._tag === "PoolConfigError" && refused.option, "limit")
      const { upcoming: _, ...withoutUpcoming } = store
      assert.strictEqual(yield* Durable.admin({ store: withoutUpcoming, queue: "q" }).upcoming(), undefined)
    })))
})

describe("Durable cancelWaiting", () => {
  it.effect("cancels every waiting job, a thousand a round trip, and leaves the running ones to end", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const asked: Array<number> = []
      const store: Store = {
        ...memory,
        cancelWaiting: (queue, limit) => {
          asked.push(limit)
          return memory.cancelWaiting!(queue, limit)
        }
      }
      const producer = Durable.producer({ store, queue: "q", schema: Schema.String })
      yield* producer.submitAll(Array.from({ length: 2_400 }, (_, i) => `now ${i}`))
      yield* producer.submitAll(["later 1", "later 2"], { delay: "1 hour" })
      const [running] = yield* store.claim("q", 1, Duration.minutes(1))
      const admin = Durable.admin({ store, queue: "q" })
      assert.strictEqual(yield* admin.cancelWaiting, 2_401)
      assert.deepStrictEqual(asked, [1_000, 1_000, 401])
      assert.deepStrictEqual(yield* admin.counts, { ready: 0, leased: 1, completed: 0, buried: 0 })
      yield* store.complete("q", [running!])
      assert.strictEqual((yield* admin.counts).completed, 1, "the running job ended as usual")
      assert.strictEqual(yield* admin.cancelWaiting, 0)
    })))

  it.effect("a store without it refuses, not retryable; one that answers more than it was asked stops at the count; a short batch ends it; one that answers no count is refused", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      yield* memory.offer("q", [{ id: "a", payload: 1 }, { id: "b", payload: 2 }])
      const { cancelWaiting: _, ...without } = memory
      const refused = yield* Effect.flip(Durable.admin({ store: without, queue: "q" }).cancelWaiting)
      assert.isTrue(refused._tag === "StoreError" && !refused.retryable)
      assert.include(refused.message, "cannot cancel a queue's waiting jobs")

      // Says it cancelled as many as asked, for ever: the loop ends at the two counted.
      let calls = 0
      const lying: Store = { ...memory, cancelWaiting: (_queue, limit) => Effect.sync(() => (calls++, limit + 5)) }
      assert.strictEqual(yield* Durable.admin({ store: lying, queue: "q" }).cancelWaiting, 2)
      assert.strictEqual(calls, 1)

      // A batch that comes back short (jobs claimed or cancelled meanwhile) is the end, even below the count.
      calls = 0
      const short: Store = {
        ...memory,
        cancelWaiting: () => Effect.suspend(() => ++calls > 3 ? Effect.die(new Error("asked again after a short batch")) : Effect.succeed(0))
      }
      assert.strictEqual(yield* Durable.admin({ store: short, queue: "q" }).cancelWaiting, 0)
      assert.strictEqual(calls, 1)

      for (const answer of [-1, 1.5, "2", undefined]) {
        const wrong: Store = { ...memory, cancelWaiting: () => Effect.succeed(answer as never) }
        const error = yield* Effect.flip(Durable.admin({ store: wrong, queue: "q" }).cancelWaiting)
        assert.match(error.message, /the store's cancelWaiting answered/, String(answer))
      }
      // A store that counts no whole number of waiting jobs (with a store that always answers its limit, Infinity would loop for ever).
      for (const ready of [Infinity, 1.5, -1, Number.NaN]) {
        const miscounting: Store = {
          ...lying,
          counts: () => Effect.succeed({ ready, leased: 0, completed: 0, buried: 0 })
        }
        const error = yield* Effect.flip(Durable.admin({ store: miscounting, queue: "q" }).cancelWaiting)
        assert.match(error.message, /the store counted .* jobs waiting, not an integer >= 0/, String(ready))
      }
      assert.deepStrictEqual(yield* states(memory, ["a", "b"]), ["ready", "ready"], "nothing was cancelled by the refusals")
    })))
})
