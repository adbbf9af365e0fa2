/**
 * The program's job: report the start, work for a while, report the end, and
 * fail on purpose where `--failure-rate` says so.
 */
import { Effect, Schema } from "effect"
import type * as Job from "../Job.ts"
import * as Pool from "../Pool.ts"
import type { Screen } from "./screen.ts"

/** The typed error of a job that `--failure-rate` picked to fail. */
export class SimulatedFailure extends Schema.TaggedError<SimulatedFailure>()("SimulatedFailure", {
  job: Schema.Number
}) {
  override get message(): string {
    return `job ${this.job} was picked to fail by --failure-rate`
  }
}

/**
 * Whether job `n` (1-based) fails. Deterministic and evenly spread: the
 * failures are the jobs where `n * rate` crosses an integer, so any `N`
 * consecutive jobs hold `N * rate` failures, give or take one. The epsilon
 * keeps 0.1 * 10 from landing just below 1.
 */
export const failsOnPurpose = (n: number, rate: number): boolean =>
  Math.floor(n * rate + 1e-9) > Math.floor((n - 1) * rate + 1e-9)

/** What a worker tells about the delivery it runs. */
export interface JobEvents {
  readonly started: (worker: number, job: Job.Job<number>) => void
  readonly finished: (worker: number, job: Job.Job<number>) => void
  readonly failed: (worker: number, job: Job.Job<number>, error: SimulatedFailure) => void
  readonly interrupted: (worker: number, job: Job.Job<number>) => void
}

export const silent: JobEvents = { started() {}, finished() {}, failed() {}, interrupted() {} }

/** A line per event: "Worker 2 started job 7", "... finished ...", "... FAILED ...", "... INTERRUPTED ...". */
export const jobLines = (screen: Screen): JobEvents => ({
  started: (worker, job) => screen.line(`Worker ${worker} started job ${job.payload}`),
  finished: (worker, job) => screen.line(`Worker ${worker} finished job ${job.payload}`),
  failed: (worker, job, error) =>
    screen.line(`Worker ${worker} FAILED job ${job.payload} with ${error._tag}: ${error.message}`),
  interrupted: (worker, job) =>
    screen.line(`Worker ${worker} INTERRUPTED job ${job.payload} (drain deadline reached)`)
})

/** Both `first` and `second` hear every event. */
export const bothEvents = (first: JobEvents, second: JobEvents): JobEvents => ({
  started: (worker, job) => (first.started(worker, job), second.started(worker, job)),
  finished: (worker, job) => (first.finished(worker, job), second.finished(worker, job)),
  failed: (worker, job, error) => (first.failed(worker, job, error), second.failed(worker, job, error)),
  interrupted: (worker, job) => (first.interrupted(worker, job), second.interrupted(worker, job))
})

/** What a job does for its `--duration`: wait on a timer, or compute. */
export type Work = "sleep" | "cpu"

/** Keeps the current thread busy for `ms` milliseconds: a job of `--work cpu`. */
export const compute = (ms: number): void => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // computing: nothing else runs on this thread meanwhile
  }
}

/** Works for `duration` ms, as `work` says. */
export const working = (work: Work, duration: number): Effect.Effect<void> =>
  work === "cpu" ? Effect.sync(() => compute(duration)) : Effect.sleep(duration)

/** The job: job `n` works for `duration` ms, then succeeds or fails as `--failure-rate` picks. */
export const handler = (
  options: { readonly duration: number; readonly failureRate: number; readonly work: Work },
  events: JobEvents
) =>
(job: Job.Job<number>) =>
  Effect.gen(function*() {
    const worker = yield* Pool.WorkerId
    const work = Effect.gen(function*() {
      events.started(worker, job)
      yield* working(options.work, options.duration)
      if (failsOnPurpose(job.payload, options.failureRate)) {
        const error = new SimulatedFailure({ job: job.payload })
        events.failed(worker, job, error)
        return yield* error
      }
      events.finished(worker, job)
    })
    yield* Effect.onInterrupt(work, () => Effect.sync(() => events.interrupted(worker, job)))
  })
