/**
 * The shutdown report as the program prints it: a small table of outcomes,
 * then one line that says whether the drain was clean.
 */
import { Duration } from "effect"
import type * as Job from "../Job.ts"
import type * as Shutdown from "../Shutdown.ts"
import type { JobEvents } from "./jobs.ts"
import { formatMillis } from "./screen.ts"

/** Whether every job ended: none interrupted by the deadline, none handed back unstarted. */
export const isClean = (report: Shutdown.Report<number>): boolean =>
  report.interrupted.length + report.abandoned.length === 0

/** Jobs by their numbers (the payload: a durable queue's ids are the store's, not the numbers). */
const listIds = (jobs: ReadonlyArray<Job.Job<number>>): string => {
  if (jobs.length === 0) return ""
  const shown = [...jobs].sort((a, b) => a.payload - b.payload).slice(0, 10).map((job) => job.payload).join(", ")
  const more = jobs.length > 10 ? `, ... (${jobs.length - 10} more)` : ""
  return `${jobs.length === 1 ? "job" : "jobs"} ${shown}${more}`
}

const failedNote = (report: Shutdown.Report<number>): string =>
  report.failed > 0 ? "on purpose (--failure-rate)" : ""

const deadlineLine = (report: Shutdown.Report<number>, drainTimeout: number): string => {
  const deadline = report.timedOut
    ? `deadline of ${formatMillis(drainTimeout)} reached`
    : `within the ${formatMillis(drainTimeout)} allowed`
  return `  drain took ${formatMillis(Duration.toMillis(report.elapsed))}, ${deadline}`
}

const verdict = (report: Shutdown.Report<number>): string =>
  isClean(report)
    ? "Shutdown complete: all workers finished."
    : `Shutdown incomplete: ${report.interrupted.length} interrupted, ${report.abandoned.length} abandoned.`

/** The report of an in-memory run, where each job is delivered once. */
export const renderReport = (report: Shutdown.Report<number>, drainTimeout: number): Array<string> => {
  const rows: Array<readonly [string, number, string]> = [
    ["succeeded", report.succeeded, ""],
    ["failed", report.failed, failedNote(report)],
    ["died", report.died, ""],
    ["cancelled", report.cancelled, ""],
    ["interrupted", report.interrupted.length, listIds(report.interrupted)],
    ["abandoned", report.abandoned.length, listIds(report.abandoned)]
  ]
  return [
    "",
    "Shutdown report",
    `  ${"outcome".padEnd(12)} ${"jobs".padStart(6)}  ids`,
    ...rows.map(([name, count, note]) => `  ${name.padEnd(12)} ${String(count).padStart(6)}  ${note}`.trimEnd()),
    deadlineLine(report, drainTimeout),
    verdict(report)
  ]
}

/**
 * The distinct jobs behind the deliveries this process ran, by how they
 * ended. On a durable queue a job can be delivered more than once: retried
 * after a failure, or again after its lease ran out.
 */
export interface Tally {
  readonly events: JobEvents
  readonly succeeded: ReadonlySet<string>
  readonly failed: ReadonlySet<string>
  /** Jobs whose last allowed delivery failed: the store keeps them as dead letters. */
  readonly deadLettered: ReadonlySet<string>
}

export const makeTally = (maxAttempts: number): Tally => {
  const succeeded = new Set<string>()
  const failed = new Set<string>()
  const deadLettered = new Set<string>()
  return {
    succeeded,
    failed,
    deadLettered,
    events: {
      started() {},
      interrupted() {},
      finished: (_, job) => void succeeded.add(job.id),
      failed: (_, job) => {
        failed.add(job.id)
        if (job.attempt >= maxAttempts) deadLettered.add(job.id)
      }
    }
  }
}

const distinct = (jobs: ReadonlyArray<Job.Job<number>>): number => new Set(jobs.map((job) => job.id)).size

/**
 * The report of a run on a durable queue: deliveries (handler runs) and the
 * distinct jobs they were, side by side.
 */
export const renderDurableReport = (
  report: Shutdown.Report<number>,
  tally: Tally,
  settings: { readonly drainTimeout: number; readonly maxAttempts: number }
): Array<string> => {
  const buried = tally.deadLettered.size
  const failedNotes = [
    failedNote(report),
    buried > 0 ? `${buried} dead-lettered after ${settings.maxAttempts} deliveries` : ""
  ].filter((note) => note !== "").join("; ")
  const rows: Array<readonly [string, number, number | "", string]> = [
    ["succeeded", report.succeeded, tally.succeeded.size, ""],
    ["failed", report.failed, tally.failed.size, failedNotes],
    ["died", report.died, "", ""],
    ["cancelled", report.cancelled, "", ""],
    ["interrupted", report.interrupted.length, distinct(report.interrupted), listIds(report.interrupted)],
    ["abandoned", report.abandoned.length, distinct(report.abandoned), listIds(report.abandoned)]
  ]
  return [
    "",
    "Shutdown report",
    `  ${"outcome".padEnd(12)} ${"deliveries".padStart(10)} ${"jobs".padStart(6)}  ids`,
    ...rows.map(([name, deliveries, jobs, note]) =>
      `  ${name.padEnd(12)} ${String(deliveries).padStart(10)} ${String(jobs).padStart(6)}  ${note}`.trimEnd()
    ),
    "  (a job delivered again, after a failure or once its lease ran out, is one job and more deliveries)",
    deadlineLine(report, settings.drainTimeout),
    verdict(report)
  ]
}
