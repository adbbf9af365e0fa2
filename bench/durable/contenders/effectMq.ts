/**
 * effect-mq (the Effect-native job library) as a contender, on its
 * PostgreSQL store (`effect-mq/drizzle-postgres`, drizzle-orm's Effect
 * driver on @effect/sql-pg) and on its Redis store (`effect-mq/redis`, on
 * Effect's `Redis` service from @effect/platform-node's `NodeRedis`).
 *
 * Driver side: `enqueueMany` in batches to the run's queue, and the store's
 * own `counts(queue)` for the completed jobs. Consumer side: a `Worker.layer`
 * with a no-op handler registered on the run's queue (`toLayer(..., { queue })`),
 * built on `start` in a scope of its own. Each taker fiber claims one job at
 * a time (effect-mq's store has no batch claim), so `concurrency` is its
 * throughput knob; its `pollInterval` is only the idle fallback (wake-ups
 * come from LISTEN/NOTIFY or pub/sub), so it is left at its default.
 */
import { NodeRedis } from "@effect/platform-node"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgPool from "@effect/sql-pg/PgPool"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Job, JobStore, Worker } from "effect-mq"
import { DrizzleJobStore } from "effect-mq/drizzle-postgres"
import { type ConsumerSide, type DriverSide, type DurableContender, type Engine, inBatches } from "./contender.ts"
import { importRedisJobStore } from "./effectMqRedis.ts"
import { DDL, tables } from "./effectMqSchema.ts"

/**
 * Taker fibers per consumer process, each engine's best of those tried with
 * one consumer (3,000–5,000 jobs, 2 runs each, a loaded machine): on
 * PostgreSQL 4, 8, 16, 64 gave about 350, 700, 650, 300 jobs/s (more takers
 * contend on the claim), 16 kept; on Redis 8, 16, 32, 64, 128 gave about
 * 1.5–3.7k, 3.7k, 4.5–4.9k, 1.4–3.0k, 2.4–3.1k jobs/s, 32 kept.
 */
export const CONCURRENCY: Record<Engine, number> = { postgres: 16, redis: 32 }

/** The job every run offers: a payload `{ n }`, a no-op handler. */
export const Noop = Job.make("noop", { payload: { n: Schema.Number } })

type StoreLayer = Layer.Layer<JobStore.JobStore, unknown>

/**
 * `PgClient` with `listen` as effect-mq 0.7.0 calls it. It was built against
 * an @effect/sql-pg whose `listen` returned a `Stream` of payloads; this
 * project's returns (in a scope) a queue of notifications, so effect-mq's
 * LISTEN fails at once and every wake-up falls back to its poll (5 s by
 * default). The adapter gives it the stream it expects over the new call, so
 * that it runs as its authors meant it to.
 */
const legacyListen = Layer.effect(
  PgClient.PgClient,
  Effect.gen(function*() {
    const client = yield* PgClient.PgClient
    const listen = (channel: string) =>
      Stream.unwrap(Effect.map(client.listen(channel), (queue) => Stream.map(Stream.fromQueue(queue), (n) => n.payload)))
    // A proxy, not a copy: the client is a tagged-template function with its methods on it.
    return new Proxy(client, {
      get: (target, key, receiver) => key === "listen" ? listen : Reflect.get(target, key, receiver)
    }) as PgClient.PgClient
  })
)

/** The store layer on `engine` at `url`; on PostgreSQL a pool as large as the takers, as each holds a connection per claim. */
export const storeLayer = async (engine: Engine, url: string, connections = CONCURRENCY[engine] + 4): Promise<StoreLayer> =>
  engine === "postgres"
    ? DrizzleJobStore.layer(tables()).pipe(
      Layer.provide(legacyListen),
      Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: connections }))
    )
    // Its declarations name `Redis` by the old path (see `effectMqRedis.ts`), which the checker reads as `any`.
    : (await importRedisJobStore()).layer({ prefix: "bench" }).pipe(Layer.provide(NodeRedis.layer({ url }))) as StoreLayer

/** Creates effect-mq's tables on the PostgreSQL server at `url` if they are missing (see `effectMqSchema.ts`). */
export const ensureTables = (url: string): Promise<void> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* PgPool.make({ url: Redacted.make(url) })
    for (const statement of DDL) yield* pool.use((connection) => connection.queryValues(statement, []))
  })))

const prepared = new Set<string>()

/** A runtime holding the store, its tables created first on a server not seen before. */
export const openStore = async (engine: Engine, url: string, connections?: number) => {
  if (engine === "postgres" && !prepared.has(url)) {
    await ensureTables(url)
    prepared.add(url)
  }
  const runtime = ManagedRuntime.make(await storeLayer(engine, url, connections))
  await runtime.runPromise(Effect.void)
  return runtime
}

/** The worker layer consuming `queue` with `concurrency` takers and a no-op handler (or `handler`). */
export const workerLayer = (queue: string, concurrency: number, handler: (n: number) => void = () => {}) =>
  Noop.toLayer((payload) => Effect.sync(() => handler(payload.n)), { queue, concurrency }).pipe(
    Layer.provide(Worker.layer({ concurrency }))
  )

export const effectMq = (engine: Engine, concurrency = CONCURRENCY[engine]): DurableContender => ({
  name: `effect-mq (${engine === "redis" ? "Redis" : "PostgreSQL"})`,
  engine,
  ours: false,
  // 200–700 jobs/s on PostgreSQL here, 1.5–5k on Redis: 20,000 would take up to minutes a run.
  maxJobs: engine === "postgres" ? 2_000 : 10_000,
  settings: `Worker concurrency ${concurrency}` +
    (engine === "postgres" ? `, pool ${concurrency + 4} connections` : "") +
    ", pollInterval default (5 s; wake-ups push), completed jobs kept (default)",
  driver: async (url, queue): Promise<DriverSide> => {
    const runtime = await openStore(engine, url, 4)
    const completed = () =>
      runtime.runPromise(Effect.gen(function*() {
        const store = yield* JobStore.JobStore
        return (yield* store.counts(JobStore.QueueName(queue))).completed
      }))
    const offer = async (batch: ReadonlyArray<{ readonly n: number }>) => {
      await runtime.runPromise(Noop.enqueueMany(batch, { queue }))
    }
    return {
      produce: (n) => inBatches(n, offer),
      offer,
      done: async (n) => await completed() >= n,
      completed,
      close: () => runtime.dispose()
    }
  },
  consumer: async (url, queue): Promise<ConsumerSide> => {
    const runtime = await openStore(engine, url, concurrency + 4)
    const scope = await Effect.runPromise(Scope.make())
    return {
      start: () => runtime.runPromise(Layer.buildWithScope(workerLayer(queue, concurrency), scope)).then(() => undefined),
      close: async () => {
        await Effect.runPromise(Scope.close(scope, Exit.void))
        await runtime.dispose()
      }
    }
  }
})

export const effectMqPostgres = effectMq("postgres")
export const effectMqRedis = effectMq("redis")
