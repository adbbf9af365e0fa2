/**
 * What the durable pool says in its log, on the memory store under the
 * TestClock: once that it works (its queue, its store's engine, its
 * workers); each failed attempt that will be retried, at info (the job,
 * its queue, the attempt, the retry's delay, the error); each job
 * dead-lettered, as a warning (the job, its queue, its attempts, the error),
 * a payload that does not decode included; a retry schedule that fails or
 * hangs, as a warning, once (the retries then wait the default's delays,
 * and the other jobs' acknowledgements go on). The dead letter keeps the
 * handler's own error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule, Schema } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Durable } from "../src/index.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { capture } from "./support/logLines.ts"

class Bounced extends Schema.TaggedError<Bounced>()("Bounced", { to: Schema.String }) {}

describe("the durable pool's log", () => {
  it.effect("each failed attempt is an info line with its retry's delay; the last one a warning; the dead letter keeps the handler's error", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, {
        maxAttempts: 3,
        retry: Schedule.exponential("1 second"),
        handler: (job) => job.payload === "nobody" ? Effect.fail(new Bounced({ to: job.payload })) : Effect.void
      })
      yield* pool.submit("nobody", { id: "n1" })
      yield* pool.submit("ada", { id: "a1" })
      yield* elapse(5_000)
      const error = `{"_tag":"Bounced","to":"nobody"}`
      const [letter] = yield* pool.deadLetters()
      assert.strictEqual(letter?.error, error)
      const failures = lines.filter((line) => line.message.startsWith("job "))
      assert.deepStrictEqual(failures, [
        {
          level: "Info",
          message: "job attempt failed; retrying",
          annotations: { jobId: "n1", queue: "q", attempt: 1, retryIn: "1s", error }
        },
        {
          level: "Info",
          message: "job attempt failed; retrying",
          annotations: { jobId: "n1", queue: "q", attempt: 2, retryIn: "2s", error }
        },
        { level: "Warn", message: "job dead-lettered", annotations: { jobId: "n1", queue: "q", attempts: 3, error } }
      ])
    })).pipe(Effect.provide(layer))
  })

  const brokenSchedules: ReadonlyArray<readonly [string, Schedule.Schedule<unknown, unknown>, string]> = [
    ["dies", Schedule.spaced("10 millis").pipe(Schedule.modifyDelay(() => Effect.sync(() => {
      throw new Error("bug in the schedule")
    }))), "died: Error: bug in the schedule"],
    ["never gives a delay", Schedule.spaced("10 millis").pipe(Schedule.modifyDelay(() => Effect.never)), "died: it gave no delay within 1s"]
  ]
  for (const [name, retry, error] of brokenSchedules) {
    it.effect(`a retry schedule that ${name} is a warning, once; retries wait the default's delays from then on, and every other job is acknowledged`, () => {
      const { layer, lines } = capture()
      return Effect.scoped(Effect.gen(function*() {
        const store = yield* MemoryStore.make
        const pool = yield* oneWorker(store, {
          maxAttempts: 3,
          retry,
          handler: (job) => job.payload === "flaky" && job.attempt === 1 ? Effect.fail("once") : Effect.void
        })
        yield* pool.submit("flaky", { id: "f1" })
        yield* elapse(200)
        yield* pool.submitAll(["ok", "ok", "ok"])
        yield* pool.submit("flaky", { id: "f2" })
        yield* elapse(3_000)
        assert.deepStrictEqual(yield* pool.counts, { ready: 0, leased: 0, completed: 5, buried: 0 })
        assert.strictEqual((yield* pool.lookup("f1"))?.attempts, 2)
        assert.strictEqual((yield* pool.lookup("f2"))?.attempts, 2)
        const said = lines.filter((line) => line.level !== "Info" || line.message.startsWith("job "))
        const flat = said.map(({ annotations, level, message }): Record<string, unknown> => ({ level, message, ...annotations }))
        assert.deepStrictEqual(flat, [
          {
            level: "Warn",
            message: "the retry schedule failed; the default schedule's delays are used from now on",
            jobId: "f1",
            queue: "q",
            attempt: 1,
            error: said[0]!.annotations["error"]
          },
          { level: "Info", message: "job attempt failed; retrying", jobId: "f1", queue: "q", attempt: 1, retryIn: "1s", error: "once" },
          { level: "Info", message: "job attempt failed; retrying", jobId: "f2", queue: "q", attempt: 1, retryIn: "1s", error: "once" }
        ])
        assert.isTrue(String(said[0]!.annotations["error"]).startsWith(error), String(said[0]!.annotations["error"]))
      })).pipe(Effect.provide(layer))
    })
  }

  it.effect("a string failure's dead letter is the string, not a stack trace of the library's frames", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* oneWorker(store, { maxAttempts: 1, handler: (job) => Effect.fail(`no @ in ${job.payload}`) })
      yield* pool.submit("nobody", { id: "n1" })
      yield* elapse(500)
      const [letter] = yield* pool.deadLetters()
      assert.strictEqual(letter?.error, "no @ in nobody")
    })))

  it.effect("a payload that does not decode is a dead-letter warning saying what did not decode", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.offer("q", [{ id: "bad", payload: 42 }])
      yield* oneWorker(store, { handler: () => Effect.void })
      yield* elapse(500)
      const warnings = lines.filter((line) => line.level === "Warn")
      assert.deepStrictEqual(warnings, [{
        level: "Warn",
        message: "job dead-lettered",
        annotations: { jobId: "bad", queue: "q", attempts: 1, error: "SchemaError: Expected string" }
      }])
    })).pipe(Effect.provide(layer))
  })

  it.effect("a pool says once that it works: its queue, its store's engine, its workers", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const pool = yield* Durable.make({
        store,
        queue: "emails",
        schema: Schema.String,
        workers: 3,
        pollInterval: "100 millis",
        handler: () => Effect.void
      })
      yield* pool.submit("a")
      yield* elapse(1_000)
      // A store written by hand has no engine to name.
      yield* oneWorker({ ...store }, { handler: () => Effect.void })
      yield* elapse(500)
      const working = lines.filter((line) => line.message === "durable pool working")
      assert.deepStrictEqual(working, [
        { level: "Info", message: "durable pool working", annotations: { queue: "emails", store: "memory", workers: 3 } },
        { level: "Info", message: "durable pool working", annotations: { queue: "q", store: "custom", workers: 1 } }
      ])
    })).pipe(Effect.provide(layer))
  })
})
