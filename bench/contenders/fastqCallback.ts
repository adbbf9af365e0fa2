/**
 * fastq's callback API (`fastq(worker, workers)`), its fastest form: a worker
 * that calls back synchronously lets `push` run the job in the same call,
 * with no promise at all. The producer is bounded with a `Gate`, counted out
 * by each push's completion callback.
 */
import fastq from "fastq"
import type { Contender } from "./contender.ts"
import { makeGate } from "./gate.ts"

export const fastqCallback: Contender = {
  name: "fastq callback",
  note: "bounded: waits while `capacity + workers` in flight",
  run: async (workload) => {
    const callback = workload.job.callback
    const queue = fastq((_: number, done: fastq.done) => callback(done), workload.workers)
    const gate = makeGate(workload.capacity + workload.workers)
    for (const item of workload.items) {
      if (gate.full()) await gate.room()
      gate.enter()
      queue.push(item, gate.leave)
    }
    await gate.idle()
  }
}
