/**
 * One trace across processes on a real engine: the test offers a job under
 * an HTTP-style span on Redis; a worker process (`support/tracedWorker.ts`)
 * runs it, failing its first attempt, and prints the spans it ends. Both
 * attempts' job spans carry the producer's trace id and have the
 * submit-time span as their parent; the handler's own span is their child.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { fileURLToPath } from "node:url"
import * as Durable from "../src/Durable.ts"
import { parentId, recordingTracer } from "./support/recordingTracer.ts"
import { start } from "./support/runMain.ts"
import { type Engine, engineQueue, postgres, redis } from "./support/engineQueue.ts"
import type { EndedSpan } from "./support/tracedWorker.ts"

const WORKER = fileURLToPath(new URL("./support/tracedWorker.ts", import.meta.url))

const spansIn = (stdout: string): Array<EndedSpan> =>
  stdout.split("\n").filter((line) => line.startsWith("{\"name\"")).map((line) => JSON.parse(line) as EndedSpan)

const acrossProcesses = (engine: Engine) =>
  Effect.scoped(Effect.gen(function*() {
    const { queue, store, url } = yield* engineQueue(engine, "traced")
    const recorded = recordingTracer()
    const producer = Durable.producer({ store, queue, schema: Schema.String })
    yield* producer.submit("hello", { id: "traced-1" }).pipe(Effect.withSpan("http.request"), Effect.withTracer(recorded.tracer))
    const [http] = recorded.named("http.request")

    const worker = start(["--store", url, "--queue", queue], { command: [process.execPath, WORKER] })
    yield* Effect.addFinalizer(() => Effect.sync(() => worker.kill("SIGKILL")))
    // Two job spans: the failed first attempt and the retry.
    yield* Effect.promise(() => worker.waitFor(/effect-worker-pool\.job[^\n]*\n(.|\n)*effect-worker-pool\.job/, 30_000))
    worker.kill("SIGTERM")
    const finished = yield* Effect.promise(() => worker.exited)
    assert.strictEqual(finished.code, 0, finished.stderr)

    const spans = spansIn(finished.stdout)
    const jobs = spans.filter((span) => span.name === "effect-worker-pool.job default")
    assert.deepStrictEqual(jobs.map((job) => job.attributes["job.attempt"]), [1, 2])
    assert.deepStrictEqual(jobs.map((job) => job.attributes["job.outcome"]), ["failed", "succeeded"])
    for (const job of jobs) {
      assert.strictEqual(job.traceId, http.traceId)
      assert.strictEqual(job.parentSpanId, http.spanId)
      assert.strictEqual(job.attributes["job.id"], "traced-1")
    }
    const work = spans.filter((span) => span.name === "handler work")
    assert.deepStrictEqual(work.map((span) => span.parentSpanId), jobs.map((job) => job.spanId))
    assert.isUndefined(parentId(http))
  }))

describe("a trace across processes", () => {
  it.live("Redis: the job's spans in the worker process are children of the producer's span", () =>
    acrossProcesses(redis), 60_000)

  it.live("PostgreSQL: the same", () =>
    acrossProcesses(postgres), 90_000)
})
