/**
 * fastq's promise API (`fastq.promise(worker, workers)`). Its worker must
 * return a promise, so a synchronous job returns a shared resolved one. The
 * producer is bounded with a `Gate` counted out by a `then` on each push's
 * promise (the cost of learning, through this API, that a job ended).
 */
import fastq from "fastq"
import type { Contender } from "./contender.ts"
import { makeGate } from "./gate.ts"

const resolved = Promise.resolve()

export const fastqPromise: Contender = {
  name: "fastq.promise",
  note: "bounded: waits while `capacity + workers` in flight",
  run: async (workload) => {
    const fn = workload.job.fn
    const queue = fastq.promise((_: number) => fn() ?? resolved, workload.workers)
    const gate = makeGate(workload.capacity + workload.workers)
    for (const item of workload.items) {
      if (gate.full()) await gate.room()
      gate.enter()
      void queue.push(item).then(gate.leave)
    }
    await gate.idle()
  }
}
