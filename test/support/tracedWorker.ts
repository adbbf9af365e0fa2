/**
 * A worker process for the cross-process tracing test: `Durable.make` on a
 * real store, with a tracer that writes each span it ends as one JSON line
 * on stdout (name, trace id, span id, parent span id, the job's attributes).
 * Its handler opens a span of its own, and fails a job's first attempt, so
 * that the test sees the retry keep the producer's span as its parent.
 *
 * Usage: node test/support/tracedWorker.ts --store <url> --queue <name>
 * On SIGTERM the pool shuts down and the process exits 0.
 */
import { parseArgs } from "node:util"
import { Effect, Option, Schedule, Schema, Tracer } from "effect"
import * as Durable from "../../src/Durable.ts"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"
import * as RedisStore from "../../src/durable/RedisStore.ts"

/** One ended span, as the worker prints it. */
export interface EndedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly attributes: Record<string, unknown>
}

class PrintedSpan extends Tracer.NativeSpan {
  override end(endTime: bigint, exit: Parameters<Tracer.NativeSpan["end"]>[1]): void {
    super.end(endTime, exit)
    const ended: EndedSpan = {
      name: this.name,
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: Option.getOrUndefined(this.parent)?.spanId,
      attributes: Object.fromEntries(this.attributes)
    }
    process.stdout.write(`${JSON.stringify(ended)}\n`)
  }
}

const tracer = Tracer.make({ span: (options) => new PrintedSpan(options) })

const { values } = parseArgs({ options: { store: { type: "string" }, queue: { type: "string" } } })
const url = values.store!
const queue = values.queue!

const sigterm = Effect.callback<void>((resume) => {
  process.once("SIGTERM", () => resume(Effect.void))
})

const main = Effect.scoped(Effect.gen(function*() {
  const store = yield* (/^rediss?:/.test(url) ? RedisStore.make({ url }) : PostgresStore.make({ url }))
  yield* Durable.make({
    store,
    queue,
    schema: Schema.String,
    workers: 1,
    pollInterval: "100 millis",
    retry: Schedule.spaced("100 millis"),
    maxAttempts: 3,
    handler: (job) =>
      Effect.gen(function*() {
        yield* Effect.void.pipe(Effect.withSpan("handler work"))
        if (job.attempt === 1) return yield* Effect.fail("first attempt fails")
      })
  })
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
  yield* sigterm
})).pipe(Effect.withTracer(tracer))

Effect.runPromise(main).then(() => process.exit(0), (error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
