/**
 * The program's job in a thread (`--threads`): the handler module each of
 * the pool's threads loads. Its settings come in the query of its URL
 * (`threadJobUrl`), so that every thread has them without a message of
 * their own. It returns the id of the thread that ran it, for the job's line.
 */
import { Effect } from "effect"
import { threadId } from "node:worker_threads"
import type * as Job from "../Job.ts"
import { failsOnPurpose, SimulatedFailure, type Work, working } from "./jobs.ts"

/** The settings a thread's job runs with. */
export interface ThreadJobSettings {
  readonly duration: number
  readonly failureRate: number
  readonly work: Work
}

/** This module's URL with `settings` in its query: `.ts` in the sources, `.js` once built. */
export const threadJobUrl = (settings: ThreadJobSettings): URL => {
  const url = new URL(import.meta.url)
  url.search = new URLSearchParams({
    duration: String(settings.duration),
    failureRate: String(settings.failureRate),
    work: settings.work
  }).toString()
  return url
}

const query = new URL(import.meta.url).searchParams
const duration = Number(query.get("duration") ?? 0)
const failureRate = Number(query.get("failureRate") ?? 0)
const work: Work = query.get("work") === "cpu" ? "cpu" : "sleep"

/** Job `n` works for `--duration` ms, then succeeds with its thread's id or fails as `--failure-rate` picks. */
export const handler = (job: Job.Job<number>): Effect.Effect<number, SimulatedFailure> =>
  Effect.andThen(
    working(work, duration),
    failsOnPurpose(job.payload, failureRate)
      ? Effect.fail(new SimulatedFailure({ job: job.payload }))
      : Effect.succeed(threadId)
  )
