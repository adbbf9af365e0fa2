/**
 * The pickup-latency measure: on an idle queue, one job at a time, the time
 * from the offer (just before the call) until its handler starts, read on
 * this process's clock. Each job is offered `idleMs` after the previous one
 * started, so every offer meets a consumer that has ended its last job and
 * waits for work. (Offered as the previous one starts, a job meets a
 * consumer still acknowledging that one, and a consumer whose
 * acknowledgement also fetches the next job, as BullMQ's does, takes it
 * with no wakeup at all: that is a busy consumer's latency, which the
 * latency under load measures.) The first `warmups` jobs are not timed:
 * they pay for the first statements and connections.
 */
import type { PickupContender } from "./contenders/pickup.ts"

/** One contender's pickups. */
export interface PickupRun {
  readonly jobs: number
  /** Milliseconds from offer to start, in offer order. */
  readonly latencies: ReadonlyArray<number>
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** The summary of `latencies`, in offer order. */
export const pickupRunOf = (latencies: ReadonlyArray<number>): PickupRun => ({
  jobs: latencies.length,
  latencies,
  p50: quantile(latencies, 0.5),
  p99: quantile(latencies, 0.99),
  max: largest(latencies)
})

/** The `q` quantile (0..1) of `samples`, by the nearest rank. */
export const quantile = (samples: ReadonlyArray<number>, q: number): number => {
  if (samples.length === 0) throw new Error("no samples")
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * The largest of `samples`, by a loop: spread into `Math.max`, the samples
 * of a latency-under-load run (a hundred thousand and more) overflow the stack.
 */
export const largest = (samples: ReadonlyArray<number>): number => {
  let max = -Infinity
  for (const sample of samples) if (sample > max) max = sample
  return max
}

/** How long to wait for one job to start before the run fails: far more than any poll here. */
const startDeadlineMs = 30_000

/** Waits until the consumer settles into waiting: its first claims, polls or subscriptions done. */
const settleMs = 500

/**
 * From a job's start to the next offer: far more than any consumer here
 * takes to acknowledge a job that does nothing (a round trip or two), and
 * short beside a poll (200 ms and more), which then seldom meets an offer.
 */
export const idleMs = 20

/** Offers `warmups`, then `jobs` timed jobs to a fresh `queue`, each `idleMs` after the previous one started. */
export const measurePickup = async (
  contender: PickupContender,
  url: string,
  queue: string,
  jobs: number,
  warmups: number
): Promise<PickupRun> => {
  let waiting: { readonly n: number; readonly resolve: (at: number) => void } | undefined
  const side = await contender.open(url, queue, (n) => {
    const at = performance.now()
    if (waiting?.n === n) waiting.resolve(at)
  })
  const latencies: Array<number> = []
  try {
    await new Promise((resolve) => setTimeout(resolve, settleMs))
    const count = warmups + jobs
    for (let n = 0; n < count; n++) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const started = new Promise<number>((resolve, reject) => {
        waiting = { n, resolve }
        timer = setTimeout(() => reject(new Error(`${contender.name}: job ${n} did not start within ${startDeadlineMs} ms`)), startDeadlineMs)
      })
      const offeredAt = performance.now()
      await side.offer(n)
      const latency = (await started.finally(() => clearTimeout(timer))) - offeredAt
      if (n >= warmups) latencies.push(latency)
      await new Promise((resolve) => setTimeout(resolve, idleMs))
    }
  } finally {
    waiting = undefined
    await side.close()
  }
  return pickupRunOf(latencies)
}

