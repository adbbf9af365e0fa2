/**
 * graphile-worker on PostgreSQL, in two settings: its defaults but for the
 * concurrency (`concurrentJobs` 24 and a pool of 25 connections, the figures
 * of its documentation's performance page; with its default of one job at a
 * time it would be no contest), and the same with the batching that page
 * recommends for throughput: a local queue of 500 jobs fetched and locked at
 * once (`localQueue.size`), and completions and failures batched
 * (`completeJobBatchDelay` and `failJobBatchDelay` 0: whatever completed in
 * the same tick goes in one statement).
 *
 * Driver side: `addJobs` in batches, for a task named after the run's queue
 * (a task of graphile-worker is what a queue is here). graphile-worker
 * deletes a job once completed, so the run is done when none of the task's
 * jobs is left, and the completed count is the jobs offered less those left
 * (a failed job stays, with its error: none of these fails).
 */
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from "graphile-worker"
// graphile-worker's own driver (its dependency): a pool made and filled before `go`, so that
// connecting is not timed, as every other contender connects before `go`.
import pg from "pg"
import { type ConsumerSide, type DriverSide, type DurableContender, inBatches } from "./contender.ts"

/** The concurrency of graphile-worker's documented performance run, and its pool. */
export const CONCURRENT_JOBS = 24
export const MAX_POOL_SIZE = 25
/** The documented batching: a local queue of 500, completions and failures batched per tick. */
export const LOCAL_QUEUE_SIZE = 500

const silent = new Logger(() => () => {})

/** graphile-worker's task identifier for a bench queue. */
export const taskOf = (queue: string): string => queue.replace(/[^a-zA-Z0-9_]/g, "_")

/** Whether none of `task`'s jobs is left: it stops at the first one, where a count would read them all (polled every 5 ms). */
const none = (utils: WorkerUtils, task: string): Promise<boolean> =>
  utils.withPgClient(async (client) => {
    const { rows } = await client.query<{ none: boolean }>(
      "SELECT NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs j " +
        "WHERE j.task_id = (SELECT id FROM graphile_worker._private_tasks WHERE identifier = $1)) AS none",
      [task]
    )
    return rows[0]?.none === true
  })

/** The jobs of `task` still in graphile-worker's table (completed ones are deleted). */
const left = (utils: WorkerUtils, task: string): Promise<number> =>
  utils.withPgClient(async (client) => {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM graphile_worker._private_jobs j " +
        "JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE t.identifier = $1",
      [task]
    )
    return Number(rows[0]?.n ?? 0)
  })

/** A pool of graphile-worker's size with all its connections open. */
export const connectedPool = async (url: string): Promise<pg.Pool> => {
  const pool = new pg.Pool({ connectionString: url, max: MAX_POOL_SIZE })
  pool.on("error", (error) => process.stderr.write(`graphile-worker pool: ${String(error)}\n`))
  // graphile-worker asks that every client have a listener too (it warns otherwise).
  pool.on("connect", (client) => client.on("error", () => {}))
  const clients = await Promise.all(Array.from({ length: MAX_POOL_SIZE }, () => pool.connect()))
  clients.forEach((client) => client.release())
  return pool
}

/** A runner of `task` on `pool` with a no-op handler (or `handler`), batched or not. */
export const runner = (
  pool: pg.Pool,
  task: string,
  batched: boolean,
  handler: (n: number) => void = () => {}
): Promise<Runner> =>
  run({
    pgPool: pool,
    logger: silent,
    noHandleSignals: true,
    taskList: { [task]: async (payload) => handler((payload as { n: number }).n) },
    preset: {
      worker: {
        concurrentJobs: CONCURRENT_JOBS,
        maxPoolSize: MAX_POOL_SIZE,
        ...(batched ? { localQueue: { size: LOCAL_QUEUE_SIZE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } : {})
      }
    }
  })

const graphile = (batched: boolean): DurableContender => ({
  name: batched ? "graphile-worker (batched)" : "graphile-worker",
  engine: "postgres",
  ours: false,
  // Unbatched, one statement per job each way: 20,000 would take many seconds a run.
  ...(batched ? {} : { maxJobs: 5_000 }),
  settings: `concurrentJobs ${CONCURRENT_JOBS}, maxPoolSize ${MAX_POOL_SIZE}, ` +
    (batched
      ? `localQueue.size ${LOCAL_QUEUE_SIZE}, completeJobBatchDelay 0, failJobBatchDelay 0`
      : "no batching (its defaults)") +
    "; completed jobs deleted (its only mode)",
  driver: async (url, queue): Promise<DriverSide> => {
    const utils = await makeWorkerUtils({ connectionString: url, logger: silent })
    await utils.migrate()
    const task = taskOf(queue)
    let offered = 0
    const offer = async (batch: ReadonlyArray<{ readonly n: number }>) => {
      await utils.addJobs(batch.map((payload) => ({ identifier: task, payload })))
      offered += batch.length
    }
    return {
      produce: (n) => inBatches(n, offer),
      offer,
      done: () => none(utils, task),
      completed: async () => offered - await left(utils, task),
      close: async () => {
        await utils.release()
      }
    }
  },
  consumer: async (url, queue): Promise<ConsumerSide> => {
    const pool = await connectedPool(url)
    let started: Runner | undefined
    return {
      start: async () => {
        started = await runner(pool, taskOf(queue), batched)
      },
      close: async () => {
        await started?.stop()
        await pool.end()
      }
    }
  }
})

export const graphileWorker = graphile(false)
export const graphileWorkerBatched = graphile(true)
