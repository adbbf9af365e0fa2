/**
 * BullMQ on Redis: `Queue.addBulk` in batches on the driver side, a `Worker`
 * with a no-op processor and `concurrency` 32 on the consumer side, and
 * `getJobCounts("completed")` for the completed jobs. Completed jobs are kept
 * (BullMQ's default), as the pool's stores keep theirs.
 *
 * ioredis is not installed: BullMQ takes a connected node-redis v5 client
 * instead (it detects the driver), one per process.
 */
import { Queue, Worker } from "bullmq"
import { createClient } from "redis"
import { type ConsumerSide, type DriverSide, type DurableContender, inBatches } from "./contender.ts"

export const CONCURRENCY = 32

const connect = async (url: string) => {
  const client = createClient({ url })
  client.on("error", (error: unknown) => process.stderr.write(`bullmq redis client: ${String(error)}\n`))
  await client.connect()
  // BullMQ's `connection` type names ioredis; at run time it accepts node-redis.
  return { client, connection: client as never }
}

export const bullmq: DurableContender = {
  name: "BullMQ",
  engine: "redis",
  ours: false,
  settings: `Worker concurrency ${CONCURRENCY}, completed jobs kept`,
  driver: async (url, queueName): Promise<DriverSide> => {
    const { client, connection } = await connect(url)
    const queue = new Queue(queueName, { connection })
    const completed = async () => (await queue.getJobCounts("completed")).completed ?? 0
    const offer = async (batch: ReadonlyArray<{ readonly n: number }>) => {
      await queue.addBulk(batch.map((data) => ({ name: "noop", data })))
    }
    return {
      produce: (n) => inBatches(n, offer),
      offer,
      done: async (n) => await completed() >= n,
      completed,
      close: async () => {
        await queue.close()
        await client.close()
      }
    }
  },
  consumer: async (url, queueName): Promise<ConsumerSide> => {
    const { client, connection } = await connect(url)
    const worker = new Worker(queueName, async () => {}, { connection, concurrency: CONCURRENCY, autorun: false })
    worker.on("error", (error) => process.stderr.write(`bullmq worker: ${String(error)}\n`))
    await worker.waitUntilReady()
    return {
      start: async () => {
        // `run` resolves only when the worker closes.
        worker.run().catch((error: unknown) => process.stderr.write(`bullmq worker: ${String(error)}\n`))
      },
      close: async () => {
        await worker.close()
        await client.close()
      }
    }
  }
}
