/**
 * A worker process built for the durability tests, as
 * `bench/durable/consumer.ts` is for the benchmark: it runs `Durable.make` on
 * a real store and says what its handler does, one JSON object a line on
 * stdout, so that a test can kill it mid-job and then check, job by job, that
 * nothing was lost. The demo program (`src/main.ts`) is not used for this: its
 * printed lines are made for people, and are free to change.
 *
 * Usage: node test/support/durableWorker.ts --store <url> --queue <name>
 *          [--workers 4] [--lease-ms 1000] [--job-ms 300]
 *
 * The payload of a job is its number. Each job sleeps about `--job-ms` (a
 * little longer for some, so that the workers do not all finish at once).
 * On SIGTERM the pool shuts down, the store is closed and the process exits 0.
 */
import { parseArgs } from "node:util"
import { Duration, Effect, Schema, type Scope } from "effect"
import * as Durable from "../../src/Durable.ts"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"
import * as RedisStore from "../../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../../src/durable/Store.ts"
import type { Job } from "../../src/index.ts"
import type { PoolConfigError } from "../../src/Pool.ts"

/** What the worker prints, one a line. */
export type WorkerEvent =
  | { readonly event: "ready" }
  | { readonly event: "started"; readonly job: number }
  | { readonly event: "ended"; readonly job: number }
  | { readonly event: "stopped"; readonly succeeded: number; readonly released: number }

/** One line on stdout: written at once (stdout is a pipe), so a SIGKILL loses nothing already said. */
const say = (event: WorkerEvent) => process.stdout.write(`${JSON.stringify(event)}\n`)

const flags = () => {
  const { values } = parseArgs({
    options: {
      store: { type: "string" },
      queue: { type: "string" },
      workers: { type: "string", default: "4" },
      "lease-ms": { type: "string", default: "1000" },
      "job-ms": { type: "string", default: "300" }
    }
  })
  if (values.store === undefined || values.queue === undefined) throw new Error("--store and --queue are required")
  return {
    store: values.store,
    queue: values.queue,
    workers: Number(values.workers),
    leaseMs: Number(values["lease-ms"]),
    jobMs: Number(values["job-ms"])
  }
}

/** The store the URL names, by its scheme: the stores' own `make`, as an application would call it. */
const connect = (url: string): Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope> =>
  /^rediss?:/.test(url) ? RedisStore.make({ url }) : PostgresStore.make({ url })

/** Says when the job's work starts and when it has ended; the pool acknowledges it after. */
const work = (jobMs: number) => (job: Job.Job<number>) =>
  Effect.gen(function*() {
    say({ event: "started", job: job.payload })
    yield* Effect.sleep(Duration.millis(jobMs + (job.payload % 4) * (jobMs / 4)))
    say({ event: "ended", job: job.payload })
  })

const sigterm = Effect.callback<void>((resume) => {
  process.once("SIGTERM", () => resume(Effect.void))
})

const main = (settings: ReturnType<typeof flags>) =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* connect(settings.store)
    const pool = yield* Durable.make({
      store,
      queue: settings.queue,
      schema: Schema.Number,
      workers: settings.workers,
      lease: Duration.millis(settings.leaseMs),
      pollInterval: "100 millis",
      handler: work(settings.jobMs)
    })
    say({ event: "ready" })
    yield* sigterm
    const report = yield* pool.shutdown()
    say({ event: "stopped", succeeded: report.succeeded, released: report.interrupted.length + report.abandoned.length })
  }))

Effect.runPromise(Effect.suspend(() => main(flags()))).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`durable worker failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)
