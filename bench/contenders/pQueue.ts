/**
 * p-queue with `concurrency: workers`, bounded the way its README suggests:
 * when `size` (waiting tasks) reaches `capacity`, the producer awaits
 * `onSizeLessThan(capacity)`. Then `onIdle` waits for the last task.
 */
import PQueue from "p-queue"
import type { Contender } from "./contender.ts"

export const pQueue: Contender = {
  name: "p-queue",
  note: "bounded: awaits `onSizeLessThan(capacity)`",
  run: async (workload) => {
    const queue = new PQueue({ concurrency: workload.workers })
    const fn = workload.job.fn
    for (const _ of workload.items) {
      if (queue.size >= workload.capacity) await queue.onSizeLessThan(workload.capacity)
      void queue.add(fn)
    }
    await queue.onIdle()
  }
}
