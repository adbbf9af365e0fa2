/**
 * pg-boss on PostgreSQL: `insert` in batches on the driver side, `work` with
 * its best batch settings found here on the consumer side, and a SQL count of
 * the queue's rows to know when all are completed (pg-boss's own stats are a
 * cache refreshed by its monitor, too coarse to time a run).
 *
 * pg-boss hands its handler a batch of jobs and completes the batch as one:
 * a no-op handler per batch of 500 does far less per job than a handler per
 * job (see the notes in results-durable.md). Without batching it fetches one
 * job per poll and is much slower; both were measured when choosing.
 */
import { PgBoss } from "pg-boss"
import { type ConsumerSide, type DriverSide, type DurableContender, inBatches } from "./contender.ts"

/** The best found: batches of 500, 2 fetch loops per process, fetching again at once after a full batch. */
export const BATCH_SIZE = 500
export const LOCAL_CONCURRENCY = 2
/** pg-boss's minimum; only the tail waits on it, as full batches fetch again at once. */
export const POLLING_INTERVAL_SECONDS = 0.5

const start = async (url: string) => {
  const boss = new PgBoss({ connectionString: url })
  boss.on("error", (error: unknown) => process.stderr.write(`pg-boss: ${String(error)}\n`))
  await boss.start()
  return boss
}

export const pgBoss: DurableContender = {
  name: "pg-boss",
  engine: "postgres",
  ours: false,
  settings: `batchSize ${BATCH_SIZE}, localConcurrency ${LOCAL_CONCURRENCY}, burstWhenBatchFull, ` +
    `pollingIntervalSeconds ${POLLING_INTERVAL_SECONDS}; handler per batch; completed jobs kept (its default)`,
  driver: async (url, queue): Promise<DriverSide> => {
    const boss = await start(url)
    await boss.createQueue(queue)
    const offer = async (batch: ReadonlyArray<{ readonly n: number }>) => {
      await boss.insert(queue, batch.map((data) => ({ data })))
    }
    return {
      produce: (n) => inBatches(n, offer),
      offer,
      // Not a count of the completed rows (which grows to all of them): whether any row is still
      // to run, which pg-boss's index of live jobs (job_i14) answers at once.
      done: async () => {
        const { rows } = await boss.getDb().executeSql(
          "SELECT NOT EXISTS (SELECT 1 FROM pgboss.job " +
            "WHERE name = $1 AND state IN ('created', 'retry', 'active')) AS done",
          [queue]
        )
        return rows[0]?.done === true
      },
      completed: async () => {
        const { rows } = await boss.getDb().executeSql(
          "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'",
          [queue]
        )
        return Number(rows[0]?.n ?? 0)
      },
      close: () => boss.stop({ graceful: false })
    }
  },
  consumer: async (url, queue): Promise<ConsumerSide> => {
    const boss = await start(url)
    return {
      start: async () => {
        await boss.work(queue, {
          batchSize: BATCH_SIZE,
          localConcurrency: LOCAL_CONCURRENCY,
          burstWhenBatchFull: true,
          pollingIntervalSeconds: POLLING_INTERVAL_SECONDS
        }, async () => {})
      },
      close: () => boss.stop({ graceful: true, timeout: 5_000 })
    }
  }
}
