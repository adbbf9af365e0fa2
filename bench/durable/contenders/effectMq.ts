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
import { Job, JobStore, Worker } from "effect-mq"
import { DrizzleJobStore } from "effect-mq/drizzle-postgres"
import { type ConsumerSide, type DriverSide, type DurableContender, type Engine, inBatches } from "./contender.ts"
import { importRedisJobStore } from "./effectMqRedis.ts"
import { DDL, tables } from "./effectMqSchema.ts"

/**
 * Taker fibers per consumer process. Of 32, 64 and 128 tried, 64 was kept
 * (see the notes in results-durable.md).
 */
export const CONCURRENCY = 64

/** The job every run offers: a payload `{ n }`, a no-op handler. */
export const Noop = Job.make("noop", { payload: { n: Schema.Number } })

type StoreLayer = Layer.Layer<JobStore.JobStore, unknown>

/** The store layer on `engine` at `url`; on PostgreSQL a pool as large as the takers, as each holds a connection per claim. */
export const storeLayer = async (engine: Engine, url: string, connections = CONCURRENCY + 4): Promise<StoreLayer> =>
  engine === "postgres"
    ? DrizzleJobStore.layer(tables()).pipe(
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

export const effectMq = (engine: Engine): DurableContender => ({
  name: `effect-mq (${engine === "redis" ? "Redis" : "PostgreSQL"})`,
  engine,
  ours: false,
  settings: `Worker concurrency ${CONCURRENCY}` +
    (engine === "postgres" ? `, pool ${CONCURRENCY + 4} connections` : "") +
    ", pollInterval default (5 s; wake-ups push), completed jobs kept (default)",
  driver: async (url, queue): Promise<DriverSide> => {
    const runtime = await openStore(engine, url, 4)
    const completed = () =>
      runtime.runPromise(Effect.gen(function*() {
        const store = yield* JobStore.JobStore
        return (yield* store.counts(JobStore.QueueName(queue))).completed
      }))
    return {
      produce: (n) => inBatches(n, (batch) => runtime.runPromise(Noop.enqueueMany(batch, { queue }))),
      done: async (n) => await completed() >= n,
      completed,
      close: () => runtime.dispose()
    }
  },
  consumer: async (url, queue): Promise<ConsumerSide> => {
    const runtime = await openStore(engine, url)
    const scope = await Effect.runPromise(Scope.make())
    return {
      start: () => runtime.runPromise(Layer.buildWithScope(workerLayer(queue, CONCURRENCY), scope)).then(() => undefined),
      close: async () => {
        await Effect.runPromise(Scope.close(scope, Exit.void))
        await runtime.dispose()
      }
    }
  }
})

export const effectMqPostgres = effectMq("postgres")
export const effectMqRedis = effectMq("redis")
