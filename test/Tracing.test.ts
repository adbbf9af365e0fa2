/**
 * A job's span: a child of the span current at submit, in the pool's
 * worker fiber, with the job's attributes; none without a span at submit or
 * with `tracing: false`. In memory, on the TestClock, with a recording tracer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import * as Traceparent from "../src/durable/traceparent.ts"
import { Pool } from "../src/index.ts"
import { elapse, oneWorker } from "./support/durablePool.ts"
import { attribute, parentId, recordingTracer, traced } from "./support/recordingTracer.ts"
import { settle } from "./support/workload.ts"

const jobSpan = "effect-worker-pool.job default"

describe("in-memory pool", () => {
  it.effect("one trace from an HTTP-style span through submit to the handler's own span, in a worker fiber", () => {
    const recorded = recordingTracer()
    return traced(
      recorded,
      Effect.scoped(Effect.gen(function*() {
        const handlerFibers: Array<number> = []
        const pool = yield* Pool.make({
          workers: 2,
          handler: (job) =>
            Effect.withFiber((fiber) => {
              handlerFibers.push(fiber.id)
              return Effect.sleep("1 second").pipe(Effect.withSpan("send email", { attributes: { to: job.payload } }))
            })
        })
        const request = yield* Effect.forkChild(
          Effect.gen(function*() {
            const fiber = yield* Effect.fiberId
            yield* pool.submit("ada@example.com", { id: "welcome-1" })
            return fiber
          }).pipe(Effect.withSpan("http.request"))
        )
        const requestFiber = yield* Fiber.join(request)
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* pool.shutdown()

        const [http] = recorded.named("http.request")
        const [job] = recorded.named(jobSpan)
        const [send] = recorded.named("send email")
        assert.isDefined(job, "the job has a span")
        assert.strictEqual(job.traceId, http.traceId)
        assert.strictEqual(parentId(job), http.spanId)
        assert.strictEqual(send.traceId, http.traceId)
        assert.strictEqual(parentId(send), job.spanId)
        assert.notStrictEqual(handlerFibers[0], requestFiber, "the handler ran in another fiber")
        assert.strictEqual(attribute(job, "job.id"), "welcome-1")
        assert.strictEqual(attribute(job, "job.attempt"), 1)
        assert.strictEqual(attribute(job, "job.worker"), 1)
        assert.strictEqual(attribute(job, "job.outcome"), "succeeded")
        assert.strictEqual(job.status._tag, "Ended")
      }))
    )
  })

  it.effect("the outcome is an attribute: failed, died", () => {
    const recorded = recordingTracer()
    return traced(
      recorded,
      Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make<string, void, string, never>({
          workers: 1,
          handler: (job) => job.payload === "fail" ? Effect.fail("no") : Effect.die("boom")
        })
        yield* Effect.exit(pool.run("fail")).pipe(Effect.withSpan("caller"))
        yield* Effect.exit(pool.run("die")).pipe(Effect.withSpan("caller"))
        const outcomes = recorded.named(jobSpan).map((span) => attribute(span, "job.outcome"))
        assert.deepStrictEqual(outcomes, ["failed", "died"])
      }))
    )
  })

  it.effect("submitAll jobs have the caller's span as parent; a run job, its Pool.run span (the caller's child)", () => {
    const recorded = recordingTracer()
    return traced(
      recorded,
      Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 1, handler: () => Effect.void })
        yield* Effect.gen(function*() {
          yield* pool.submitAll([1, 2])
          yield* pool.run(3)
        }).pipe(Effect.withSpan("batch"))
        yield* pool.shutdown()
        const [batch] = recorded.named("batch")
        const [run] = recorded.named("Pool.run")
        const jobs = recorded.named(jobSpan)
        assert.strictEqual(jobs.length, 3)
        assert.deepStrictEqual(jobs.map(parentId), [batch.spanId, batch.spanId, run.spanId])
        assert.strictEqual(parentId(run), batch.spanId)
      }))
    )
  })

  it.effect("no span at submit, or tracing: false: the job gets no span of its own", () => {
    const recorded = recordingTracer()
    return traced(
      recorded,
      Effect.scoped(Effect.gen(function*() {
        const plain = yield* Pool.make({ workers: 1, handler: () => Effect.void })
        yield* plain.submit(1)
        yield* plain.shutdown()
        const off = yield* Pool.make({ workers: 1, tracing: false, handler: () => Effect.void })
        yield* off.run(1).pipe(Effect.withSpan("caller"))
        assert.deepStrictEqual(recorded.named(jobSpan), [])
      }))
    )
  })
})

describe("Effect's default tracer", () => {
  it.effect("keeps spans nowhere: a job submitted under one of its spans gets no span of its own", () =>
    Effect.scoped(Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const pool = yield* Pool.make({
        workers: 1,
        handler: () =>
          Effect.map(Effect.option(Effect.currentSpan), (span) => {
            seen.push(span._tag === "Some" ? span.value.name : undefined)
          })
      })
      yield* pool.submit(1).pipe(Effect.withSpan("http.request"))
      yield* pool.shutdown()
      // The worker's own span (it was started in `Pool.make`), not a job span.
      assert.deepStrictEqual(seen, ["Pool.make"])
    })))
})

describe("durable pool (memory store)", () => {
  it.effect("the trace goes through the store; each retry's span has the submit-time span as parent", () => {
    const recorded = recordingTracer()
    return traced(
      recorded,
      Effect.scoped(Effect.gen(function*() {
        const store = yield* MemoryStore.make
        let attempts = 0
        // Made under a span of its own: the jobs' spans must not take it as their parent.
        const pool = yield* oneWorker(store, {
          maxAttempts: 3,
          handler: () =>
            Effect.gen(function*() {
              attempts++
              yield* Effect.void.pipe(Effect.withSpan("handler work"))
              if (attempts === 1) return yield* Effect.fail("once")
            })
        }).pipe(Effect.withSpan("setup"))
        yield* pool.submit("hello", { id: "j1" }).pipe(Effect.withSpan("http.request"))
        yield* pool.submit("untraced", { id: "j2" })
        yield* elapse(5_000)
        const [http] = recorded.named("http.request")
        const jobs = recorded.named("effect-worker-pool.job default")
        assert.deepStrictEqual(jobs.map((job) => attribute(job, "job.id")), ["j1", "j1"])
        assert.deepStrictEqual(jobs.map((job) => attribute(job, "job.attempt")), [1, 2])
        assert.deepStrictEqual(jobs.map((job) => attribute(job, "job.outcome")), ["failed", "succeeded"])
        for (const job of jobs) {
          assert.strictEqual(job.traceId, http.traceId)
          assert.strictEqual(parentId(job), http.spanId)
        }
        const work = recorded.named("handler work").filter((span) => span.traceId === http.traceId)
        assert.deepStrictEqual(work.map(parentId), jobs.map((job) => job.spanId))
        // The untraced job's own span has neither a job span nor the setup span as parent.
        const setup = recorded.named("setup")[0]
        assert.strictEqual(recorded.named("handler work").filter((span) => parentId(span) === setup.spanId).length, 0)
      }))
    )
  })

  it("a traceparent is written and read back in the W3C form", () => {
    const span = Traceparent.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert.strictEqual(span?.traceId, "0af7651916cd43dd8448eb211c80319c")
    assert.strictEqual(span?.spanId, "b7ad6b7169203331")
    assert.strictEqual(Traceparent.format(span!), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert.isUndefined(Traceparent.parse("01-nope"))
  })
})
