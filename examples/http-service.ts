/**
 * An HTTP service that enqueues jobs into a pool, and stays quick to stop on
 * a deploy: the README's "Recipe: enqueue from an HTTP service".
 *
 *   POST /jobs (the body, as text, is the job's payload)
 *     202 {"id":"job-1"}                the job was accepted
 *     503 Retry-After: 1 {"error":...}  the queue is full, or the pool is shutting down
 *
 * A request never waits for room in the pool: it enqueues with `trySubmit`
 * and answers 503 at once when the queue is full. On SIGTERM or Ctrl-C,
 * `NodeRuntime.runMain` interrupts the program and the layers are released in
 * reverse order: the server stops listening and waits for the requests in
 * flight (none of them waits for the pool, so that is quick), then the pool
 * drains within DRAIN_MS, the report is printed, and the process exits 130
 * (`runMain`'s code for an interruption). A request waiting in `submit`
 * instead would hold up that first step until the pool made room for it (or
 * for 20 s, `NodeHttpServer`'s `gracefulShutdownTimeout`), before the drain's
 * deadline even starts. New connections are refused once the server closed,
 * so `PoolClosedError` is rare here: it covers a pool shut down any other way.
 *
 * Settings, from the environment:
 *
 *   PORT         default 0: any free port (the bound address is logged)
 *   HOST         default 127.0.0.1 (0.0.0.0 in a container)
 *   WORKERS      jobs run at once, default 4
 *   CAPACITY     jobs waiting for a worker, default 100
 *   JOB_MS       how long each job works, default 2000
 *   DRAIN_MS     the drain's deadline on shutdown, default 8000
 *   ENQUEUE      try (default): trySubmit, 503 when full;
 *                timeout: submit, waiting at most MAX_WAIT_MS (default 1000), then 503;
 *                wait: submit, waiting as long as it takes (the problem, to compare)
 *
 *   npx node examples/http-service.ts   # the Node 24 of the dev dependencies: it runs TypeScript
 *   curl -i -X POST http://127.0.0.1:<port>/jobs -d 'ada@example.com'
 */
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { type Cause, Config, Console, Context, Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { type Job, Pool } from "../src/index.ts" // in an application: from "effect-worker-pool"

const settings = Config.all({
  port: Config.schema(Schema.Port, "PORT").pipe(Config.withDefault(0)),
  host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1")),
  workers: Config.Int("WORKERS").pipe(Config.withDefault(4)),
  capacity: Config.Int("CAPACITY").pipe(Config.withDefault(100)),
  jobMs: Config.Int("JOB_MS").pipe(Config.withDefault(2000)),
  drainMs: Config.Int("DRAIN_MS").pipe(Config.withDefault(8000)),
  enqueue: Config.Literals(["try", "timeout", "wait"], "ENQUEUE").pipe(Config.withDefault("try")),
  maxWaitMs: Config.Int("MAX_WAIT_MS").pipe(Config.withDefault(1000))
})

class Jobs extends Context.Service<Jobs, Pool.WorkerPool<string, void, never>>()("example/Jobs") {}

const JobsLive = Layer.effect(
  Jobs,
  Effect.gen(function*() {
    const { capacity, drainMs, jobMs, workers } = yield* settings
    const pool = yield* Pool.make({
      workers,
      capacity,
      handler: (_: Job.Job<string>) => Effect.sleep(jobMs), // stands for the real work
      shutdown: { timeout: drainMs }
    })
    // Added after the pool, so it runs before the pool's own finalizer: it
    // does the same drain, with the pool's policy, and prints the report.
    yield* Effect.addFinalizer(() =>
      Console.log(`draining: the server is closed; waiting at most ${drainMs} ms for the jobs`).pipe(
        Effect.andThen(pool.shutdown()),
        Effect.flatMap((report) =>
          Console.log(`shutdown report: ${
            JSON.stringify({
              succeeded: report.succeeded,
              failed: report.failed,
              interrupted: report.interrupted.length,
              abandoned: report.abandoned.length,
              timedOut: report.timedOut
            })
          }`)
        )
      )
    )
    return pool
  })
)

/** 503 with `Retry-After`: a load balancer or client tries again later, or elsewhere. */
const unavailable = (error: { readonly _tag: string }) =>
  Effect.succeed(
    HttpServerResponse.jsonUnsafe({ error: error._tag }, { status: 503, headers: { "retry-after": "1" } })
  )

// `PoolConfigError` needs bad per-job options, and none are given; were it to
// happen, the router would answer 500.
type Refused = Pool.PoolFullError | Pool.PoolClosedError | Pool.PoolConfigError | Cause.TimeoutError

const JobsRoute = HttpRouter.add(
  "POST",
  "/jobs",
  Effect.gen(function*() {
    const { enqueue, maxWaitMs } = yield* settings
    const jobs = yield* Jobs
    const payload = yield* (yield* HttpServerRequest.HttpServerRequest).text
    const accepted: Effect.Effect<{ readonly id: string }, Refused> = enqueue === "try"
      ? jobs.trySubmit(payload) // never waits: PoolFullError when the queue is full
      : enqueue === "timeout"
      ? jobs.submit(payload).pipe(Effect.timeout(maxWaitMs)) // waits for room, but not for long
      : jobs.submit(payload) // waits while the pool is full, however long that is
    return yield* accepted.pipe(
      Effect.map((job) => HttpServerResponse.jsonUnsafe({ id: job.id }, { status: 202 })),
      Effect.catchTags({ PoolFullError: unavailable, PoolClosedError: unavailable, TimeoutError: unavailable })
    )
  })
)

const ServerLive = Layer.unwrap(
  Effect.map(settings, ({ host, port }) => NodeHttpServer.layer(createServer, { host, port }))
)

// The server needs the pool, so it starts after the pool and is released before it.
const App = HttpRouter.serve(JobsRoute).pipe(Layer.provide(JobsLive), Layer.provide(ServerLive))

NodeRuntime.runMain(Layer.launch(App))
