/**
 * A consumer process of the durable benchmark, forked by `measure.ts`.
 * Connects one contender's consumer to the queue, says `ready` over IPC,
 * starts consuming on `go`, and closes and exits on `stop`. The driver
 * times from `go` to the store's count of completed jobs, so the start-up
 * of this process and its connection is not timed.
 *
 * Given a warm-up queue and its job count, it first consumes those jobs
 * with a consumer of its own, until the store counts them completed, and
 * closes it: the timed consumer then runs on code the process has already
 * compiled, as a worker that has been running does, rather than on a
 * fresh process's first compilation. The warm-up is bounded as a timed run
 * is (`measure.ts`): one that never ends fails this process, which fails
 * the run, instead of holding up the driver's wait for `ready` for ever.
 *
 * Usage (forked, with an IPC channel):
 *   node bench/durable/consumer.ts <contender> <url> <queue> [<warm-up queue> <warm-up jobs> <warm-up timeout ms>]
 */
import { byName, type DurableContender } from "./contenders/index.ts"

/** The messages between the driver and a consumer. */
export type ToConsumer = { readonly type: "go" } | { readonly type: "stop" }
export type FromConsumer = { readonly type: "ready" } | { readonly type: "started" }

const send = (message: FromConsumer) => process.send?.(message)

const fail = (error: unknown) => {
  process.stderr.write(`consumer failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Consumes the `jobs` jobs of `queue` with a consumer of its own, then closes it; fails after `timeoutMs`. */
const warmUp = async (contender: DurableContender, url: string, queue: string, jobs: number, timeoutMs: number) => {
  const driver = await contender.driver(url, queue)
  const consumer = await contender.consumer(url, queue)
  await consumer.start()
  const start = performance.now()
  while (!await driver.done(jobs)) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(`${contender.name}: warm-up of ${jobs} jobs not done in ${timeoutMs} ms`)
    }
    await sleep(5)
  }
  await consumer.close()
  await driver.close()
}

const main = async () => {
  const [name = "", url = "", queue = "", warmQueue, warmJobs, warmTimeout] = process.argv.slice(2)
  if (process.send === undefined) throw new Error("run me with an IPC channel (child_process.fork)")
  const contender = byName(name)
  if (warmQueue !== undefined) await warmUp(contender, url, warmQueue, Number(warmJobs), Number(warmTimeout))
  const consumer = await contender.consumer(url, queue)
  process.on("message", (message: ToConsumer) => {
    if (message.type === "go") consumer.start().then(() => send({ type: "started" }), fail)
    if (message.type === "stop") consumer.close().then(() => process.exit(0), fail)
  })
  // The driver going away (a failed run) must not leave this process behind.
  process.on("disconnect", () => process.exit(0))
  send({ type: "ready" })
}

main().catch(fail)
