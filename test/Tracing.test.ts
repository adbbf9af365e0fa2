/**
 * A job's span: a child of the span current at submit, in the pool's
 * worker fiber, with the job's attributes; none without a span at submit or
 * with `tracing: false`. In memory, on the TestClock, with a recording tracer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Pool } from "../src/index.ts"
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
