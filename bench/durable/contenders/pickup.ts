/**
 * The pickup-latency contenders: each queue with its default consumer
 * settings, in the benchmark's own process (so that the offer and the
 * handler's start are read on one clock), one worker, a no-op handler that
 * reports which job started. Ours on Redis and on PostgreSQL (`Durable.make`
 * with its defaults: a listener, and the 200 ms poll as a fallback), BullMQ
 * (a `Worker`: blocking commands), pg-boss (`work`: polling, every 2 s by
 * default), graphile-worker (`run`: LISTEN/NOTIFY, polling every 2 s as
 * a fallback) and effect-mq on both engines (`Worker.layer` defaults:
 * LISTEN/NOTIFY or pub/sub wake-ups, polling every 5 s as a fallback).
 */
import { Queue, Worker } from "bullmq"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { Logger, makeWorkerUtils, run } from "graphile-worker"
import pg from "pg"
import { PgBoss } from "pg-boss"
import { createClient } from "redis"
import * as PostgresStore from "../../../src/durable/PostgresStore.ts"
import * as RedisStore from "../../../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../../../src/durable/Store.ts"
import { Durable } from "../../../src/index.ts"
import type { PoolConfigError } from "../../../src/Pool.ts"
import type { Engine } from "./contender.ts"
import { Noop, openStore, workerLayer } from "./effectMq.ts"

/** One contender's queue, opened for a pickup run. */
export interface PickupSide {
  /** Offers job `n`; resolves once the queue has it. */
  readonly offer: (n: number) => Promise<void>
  readonly close: () => Promise<void>
}

export interface PickupContender {
  readonly name: string
  readonly engine: Engine
  readonly ours: boolean
  readonly settings: string
  /**
   * At most this many jobs per run: a queue that polls every 2 s takes about
   * a second per job, and more jobs would only lengthen the run.
   */
  readonly maxJobs?: number
  /** Opens the queue; `started(n)` is called as job `n`'s handler starts. */
  readonly open: (url: string, queue: string, started: (n: number) => void) => Promise<PickupSide>
}

const schema = Schema.Struct({ n: Schema.Number })

const ours = (
  name: string,
  engine: Engine,
  connect: (url: string) => Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>,
  pollInterval?: Duration.Input
): PickupContender => ({
  name,
  engine,
  ours: true,
  settings: "workers 1, the other options their defaults (pollInterval 200 ms)",
  open: async (url, queue, started) => {
    const scope = await Effect.runPromise(Scope.make())
    try {
      // The producer on a store of its own, as a producer process would be.
      const producer = Durable.producer({ store: await Effect.runPromise(Scope.provide(scope)(connect(url))), queue, schema })
      await Effect.runPromise(Scope.provide(scope)(Effect.gen(function*() {
        const store = yield* connect(url)
        yield* Durable.make({
          store,
          queue,
          schema,
          workers: 1,
          pollInterval,
          handler: (job) => Effect.sync(() => started(job.payload.n))
        })
      })))
      return {
        offer: (n) => Effect.runPromise(Effect.asVoid(producer.submit({ n }))),
        close: () => Effect.runPromise(Scope.close(scope, Exit.void))
      }
    } catch (error) {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      throw error
    }
  }
})

export const poolRedisPickup = ours("effect-worker-pool (Redis)", "redis", (url) => RedisStore.make({ url }))

export const poolPostgresPickup = ours("effect-worker-pool (PostgreSQL)", "postgres", (url) => PostgresStore.make({ url }))

/**
 * Ours on `engine` polling every `pollInterval`: an hour, and only
 * notifications wake it, so that what a loop of pickups counts does not
 * follow its length (`bench/callgrind/pickupLoop.ts`, `bench/durable/effectSteps.ts`).
 */
export const poolPickupPolling = (engine: Engine, pollInterval: Duration.Input) =>
  engine === "redis"
    ? ours("effect-worker-pool (Redis)", "redis", (url) => RedisStore.make({ url }), pollInterval)
    : ours("effect-worker-pool (PostgreSQL)", "postgres", (url) => PostgresStore.make({ url }), pollInterval)

export const bullmqPickup: PickupContender = {
  name: "BullMQ",
  engine: "redis",
  ours: false,
  settings: "Worker defaults (concurrency 1)",
  open: async (url, queueName, started) => {
    const connect = async () => {
      const client = createClient({ url })
      client.on("error", (error: unknown) => process.stderr.write(`bullmq redis client: ${String(error)}\n`))
      await client.connect()
      return client
    }
    const producerClient = await connect()
    const workerClient = await connect()
    // BullMQ's `connection` type names ioredis; at run time it accepts node-redis.
    const queue = new Queue(queueName, { connection: producerClient as never })
    const worker = new Worker(queueName, async (job) => started((job.data as { n: number }).n), {
      connection: workerClient as never
    })
    worker.on("error", (error) => process.stderr.write(`bullmq worker: ${String(error)}\n`))
    await worker.waitUntilReady()
    return {
      offer: async (n) => {
        await queue.add("noop", { n })
      },
      close: async () => {
        await worker.close()
        await queue.close()
        await workerClient.close()
        await producerClient.close()
      }
    }
  }
}

export const pgBossPickup: PickupContender = {
  name: "pg-boss",
  engine: "postgres",
  ours: false,
  settings: "work defaults (pollingIntervalSeconds 2, batchSize 1)",
  maxJobs: 40,
  open: async (url, queue, started) => {
    const boss = new PgBoss({ connectionString: url })
    boss.on("error", (error: unknown) => process.stderr.write(`pg-boss: ${String(error)}\n`))
    await boss.start()
    await boss.createQueue(queue)
    await boss.work<{ n: number }>(queue, async (jobs) => {
      for (const job of jobs) started(job.data.n)
    })
    return {
      offer: async (n) => {
        await boss.send(queue, { n })
      },
      close: () => boss.stop({ graceful: false })
    }
  }
}

export const graphileWorkerPickup: PickupContender = {
  name: "graphile-worker",
  engine: "postgres",
  ours: false,
  settings: "run defaults (concurrency 1, LISTEN/NOTIFY, pollInterval 2 s)",
  open: async (url, queue, started) => {
    const logger = new Logger(() => () => {})
    // A task of the run's own: the task identifiers are the queue here.
    const task = queue.replace(/[^a-zA-Z0-9_]/g, "_")
    // A pool of our own, ended on close: one left to graphile-worker outlived `stop` and crashed
    // this process (an idle client's error with no listener) when the server closed.
    const pool = new pg.Pool({ connectionString: url })
    pool.on("error", (error) => process.stderr.write(`graphile-worker pool: ${String(error)}\n`))
    // graphile-worker asks that every client have a listener too (it warns otherwise).
    pool.on("connect", (client) => client.on("error", () => {}))
    const runner = await run({
      pgPool: pool,
      logger,
      noHandleSignals: true,
      taskList: { [task]: async (payload) => started((payload as { n: number }).n) }
    })
    const utils = await makeWorkerUtils({ connectionString: url, logger })
    return {
      offer: async (n) => {
        await utils.addJob(task, { n })
      },
      close: async () => {
        await utils.release()
        await runner.stop()
        await pool.end()
      }
    }
  }
}

const effectMqPickup = (engine: Engine): PickupContender => ({
  name: `effect-mq (${engine === "redis" ? "Redis" : "PostgreSQL"})`,
  engine,
  ours: false,
  settings: "Worker defaults (concurrency 1, pollInterval 5 s; wake-ups by " +
    (engine === "redis" ? "pub/sub)" : "LISTEN/NOTIFY)"),
  open: async (url, queue, started) => {
    // The producer on a store of its own, as a producer process would be.
    const producer = await openStore(engine, url, 2)
    const consumer = await openStore(engine, url, 4)
    const scope = await Effect.runPromise(Scope.make())
    const close = async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await consumer.dispose()
      await producer.dispose()
    }
    try {
      await consumer.runPromise(Layer.buildWithScope(workerLayer(queue, 1, started), scope))
    } catch (error) {
      await close()
      throw error
    }
    return {
      offer: async (n) => {
        await producer.runPromise(Noop.enqueue({ n }, { queue }))
      },
      close
    }
  }
})

export const effectMqRedisPickup = effectMqPickup("redis")
export const effectMqPostgresPickup = effectMqPickup("postgres")

/** Each engine's pickup contenders: ours first. */
export const pickupContenders: ReadonlyArray<PickupContender> = [
  poolRedisPickup,
  bullmqPickup,
  effectMqRedisPickup,
  poolPostgresPickup,
  graphileWorkerPickup,
  effectMqPostgresPickup,
  pgBossPickup
]
