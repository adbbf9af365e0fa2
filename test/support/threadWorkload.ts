/**
 * The invariant's jobs (`workload.ts`'s `Task`) as a handler module for a
 * threaded pool. The thread knows no TestClock, so a job's duration is
 * dropped: it ends at once, as the task says. A job that hangs computes
 * for ever, so that only terminating its thread stops it.
 */
import { Effect } from "effect"
import type { Job } from "../../src/index.ts"
import { BadPayload, type Task } from "./workload.ts"

export const handler = (job: Job.Job<Task>): Effect.Effect<string, BadPayload> => {
  const task = job.payload
  switch (task._tag) {
    case "ok":
      return Effect.succeed(job.id)
    case "fail":
      return Effect.fail(new BadPayload({ reason: job.id }))
    case "die":
      return Effect.die(new Error(`defect in ${job.id}`))
    case "throw":
      throw new Error(`thrown in ${job.id}`)
    case "hang":
      return Effect.sync(() => {
        for (;;) {
          // computing for ever
        }
      })
    case "selfInterrupt":
      return Effect.interrupt
    case "notAnEffect":
      return undefined as never
    case "gate":
      return Effect.die(new Error("a gate cannot cross to a thread"))
  }
}
