/**
 * End-to-end latency under load: from the offer until the store counts the
 * job acknowledged, while the driver offers a steady `rate` of jobs per
 * second (half the contender's throughput with one consumer, measured in the
 * same run) to one consumer process on a fresh queue.
 *
 * How a job's acknowledgement is read, the same way for every contender:
 * the driver offers, every `TICK_MS`, the jobs due by then as one batch
 * (the batch call of each contender, as in the throughput runs), reading
 * the clock just before the call; and it polls the store's count of
 * completed jobs (each contender's own, as in the throughput runs) back to
 * back. When a poll returns c, the jobs offered k-th for every k up to c
 * count as acknowledged at that poll's midpoint. Jobs complete close to
 * offer order (each queue here serves in order, a few in flight at a time),
 * so the k-th acknowledgement stands for the k-th job; the error is a poll's
 * round trip (a millisecond or two). The offer and the count are read in
 * one process, on one clock. The consumer process first consumes a warm-up
 * queue of its own (as in the throughput runs: `consumer.ts`), and the first
 * `WARMUP_FRACTION` of the jobs are not counted (the consumer's first claims
 * and statements on this queue).
 */
import { randomUUID } from "node:crypto"
import type { DurableContender } from "./contenders/index.ts"
import { type Child, spawnConsumer, stopAll } from "./measure.ts"
import { largest, quantile } from "./pickup.ts"

/** Between two offers: steady at the scale of a millisecond latency, and a batch per tick. */
const TICK_MS = 5
/** Jobs counted out of the latency (the first ones). */
export const WARMUP_FRACTION = 0.1
/** Once the offers end, how long the consumer may take to finish before the run fails. */
const DRAIN_TIMEOUT_MS = 60_000

export interface LoadRun {
  /** The offered rate, jobs per second. */
  readonly rate: number
  /** Jobs offered, and those whose latency counts (after the warm-up ones). */
  readonly offered: number
  readonly jobs: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  /** The rate the offers kept, jobs per second (below `rate` if an offer call took longer than its tick). */
  readonly achievedRate: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Offers jobs `0` to `total - 1` at `rate` a second: every `TICK_MS`, those
 * due by then in one `offer(from, to)` call. Resolves with the time it took, in ms.
 */
export const offerSteadily = async (
  total: number,
  rate: number,
  offer: (from: number, to: number) => Promise<void>
): Promise<number> => {
  const start = performance.now()
  let offered = 0
  while (offered < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / 1000 * rate) + 1)
    if (due > offered) {
      const from = offered
      offered = due
      await offer(from, due)
    }
    await sleep(TICK_MS)
  }
  return performance.now() - start
}

export const measureLoad = async (
  contender: DurableContender,
  url: string,
  rate: number,
  seconds: number,
  warmUpJobs = 0
): Promise<LoadRun> => {
  const queue = `load-${randomUUID()}`
  const driver = await contender.driver(url, queue)
  const warmUp = { queue: `warm-${randomUUID()}`, jobs: warmUpJobs }
  const warmDriver = warmUpJobs > 0 ? await contender.driver(url, warmUp.queue) : undefined
  const children: Array<Child> = []
  const offeredAt: Array<number> = []
  const latencies: Array<number> = []
  try {
    await warmDriver?.produce(warmUpJobs)
    children.push(spawnConsumer(contender, url, queue, warmDriver === undefined ? undefined : warmUp))
    await children[0]!.next("ready")
    children[0]!.send({ type: "go" })
    await children[0]!.next("started")
    const total = Math.max(1, Math.round(rate * seconds))
    let offering = true
    const producer = offerSteadily(total, rate, (from, to) => {
      const at = performance.now()
      for (let i = from; i < to; i++) offeredAt.push(at)
      return driver.offer(Array.from({ length: to - from }, (_, i) => ({ n: from + i })))
    }).then((ms) => {
      offering = false
      return ms
    })
    producer.catch(() => {})
    let acknowledged = 0
    let drainStart = 0
    while (offering || acknowledged < total) {
      const before = performance.now()
      const count = Math.min(await driver.completed(), offeredAt.length)
      const at = (before + performance.now()) / 2
      for (; acknowledged < count; acknowledged++) latencies.push(at - offeredAt[acknowledged]!)
      // A breath between polls: the count must not become the server's main load.
      await sleep(1)
      if (!offering) {
        drainStart ||= performance.now()
        if (performance.now() - drainStart > DRAIN_TIMEOUT_MS) {
          throw new Error(`${contender.name}: ${total - acknowledged} of ${total} jobs not done ${DRAIN_TIMEOUT_MS} ms after the load`)
        }
      }
    }
    const offerMs = await producer
    const counted = latencies.slice(Math.floor(total * WARMUP_FRACTION))
    return {
      rate,
      offered: total,
      jobs: counted.length,
      p50: quantile(counted, 0.5),
      p99: quantile(counted, 0.99),
      max: largest(counted),
      achievedRate: total / (offerMs / 1000)
    }
  } finally {
    await stopAll(children, 1_000)
    await driver.close()
    await warmDriver?.close()
  }
}
