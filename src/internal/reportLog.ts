/**
 * The fields a shutdown's log line carries, the same for the in-memory and
 * the durable pool: the counts, and the ids of the jobs given back (cut off,
 * or never started), so that a deploy's log says which jobs did not complete
 * here. At most `loggedIds` ids of each kind are written, so that a pool
 * with a large backlog does not write a line of megabytes; the report itself
 * has them all.
 */
import * as Duration from "effect/Duration"
import type * as Job from "../Job.ts"
import type * as Shutdown from "../Shutdown.ts"

export const loggedIds = 100

const idsOf = (jobs: ReadonlyArray<Job.Job<unknown>>): ReadonlyArray<string> => {
  const ids = jobs.slice(0, loggedIds).map((job) => job.id)
  return jobs.length > loggedIds ? [...ids, `... ${jobs.length - loggedIds} more`] : ids
}

/** Whether the shutdown gave any job back. */
export const gaveBack = (report: Shutdown.Report<unknown>): boolean =>
  report.interrupted.length + report.abandoned.length > 0

export const reportAnnotations = (report: Shutdown.Report<unknown>): Record<string, unknown> => ({
  succeeded: report.succeeded,
  failed: report.failed,
  died: report.died,
  cancelled: report.cancelled,
  interruptedBeforeShutdown: report.interruptedBeforeShutdown,
  interruptedIds: idsOf(report.interrupted),
  abandonedIds: idsOf(report.abandoned),
  timedOut: report.timedOut,
  elapsed: Duration.format(report.elapsed)
})
