/**
 * Handlers for tests: jobs whose behaviour the payload decides, and a record
 * of what the handler saw (started, finished, finalized), so that tests can
 * assert on it without real time.
 */
import { Deferred, Effect, Schema } from "effect"
import { type Job, Pool } from "../../src/index.ts"

/** The handler's own typed error. */
export class BadPayload extends Schema.TaggedError<BadPayload>()("BadPayload", { reason: Schema.String }) {}

/** What a test job does, chosen by its payload. */
export type Task =
  | { readonly _tag: "ok"; readonly ms: number }
  | { readonly _tag: "fail"; readonly ms: number }
  | { readonly _tag: "die"; readonly ms: number }
  | { readonly _tag: "throw" }
  | { readonly _tag: "hang" }
  | { readonly _tag: "selfInterrupt"; readonly ms: number }
  // A handler whose effect goes on with something that is not an Effect (only
  // JavaScript, or a cast, can write it): the runtime ends the fiber at once.
  | { readonly _tag: "notAnEffect"; readonly ms: number }
  | { readonly _tag: "gate"; readonly gate: Deferred.Deferred<void> }

export const ok = (ms = 0): Task => ({ _tag: "ok", ms })
export const fail = (ms = 0): Task => ({ _tag: "fail", ms })
export const die = (ms = 0): Task => ({ _tag: "die", ms })
export const hang: Task = { _tag: "hang" }

/** What the handler has seen. */
export interface Trace {
  readonly started: Array<string>
  readonly finished: Array<string>
  /** Jobs whose handler was interrupted: its finalizer ran. */
  readonly finalized: Array<string>
  /** Handlers running right now. */
  running: number
}

export const makeTrace = (): Trace => ({ started: [], finished: [], finalized: [], running: 0 })

/**
 * A handler that does what the payload says and records it in `trace`.
 * `started` is signalled (if given) each time a job starts.
 */
export const handler = (trace: Trace) => (job: Job.Job<Task>): Effect.Effect<string, BadPayload> => {
  const task = job.payload
  if (task._tag === "notAnEffect") {
    // No finalizer of its own would run, so it is traced apart: started, and never finished.
    return Effect.andThen(
      Effect.sync(() => void trace.started.push(job.id)),
      Effect.andThen(Effect.sleep(task.ms), Effect.suspend((): Effect.Effect<string, BadPayload> => undefined as never)) // TestClock
    )
  }
  const body: Effect.Effect<string, BadPayload> = task._tag === "ok"
    ? Effect.as(Effect.sleep(task.ms), job.id) // TestClock time, as every sleep here
    : task._tag === "fail"
    ? Effect.andThen(Effect.sleep(task.ms), Effect.fail(new BadPayload({ reason: job.id }))) // TestClock
    : task._tag === "die"
    ? Effect.andThen(Effect.sleep(task.ms), Effect.die(new Error(`defect in ${job.id}`))) // TestClock
    : task._tag === "throw"
    ? Effect.sync(() => {
      throw new Error(`thrown in ${job.id}`)
    })
    : task._tag === "hang"
    ? Effect.never
    : task._tag === "selfInterrupt"
    ? Effect.andThen(Effect.sleep(task.ms), Effect.interrupt) // TestClock

    : Effect.as(Deferred.await(task.gate), job.id)
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      trace.started.push(job.id)
      trace.running++
    }),
    () => body,
    (_, exit) =>
      Effect.sync(() => {
        trace.running--
        if (exit._tag === "Success") trace.finished.push(job.id)
        else if (exit.cause.reasons.some((reason) => reason._tag === "Interrupt")) trace.finalized.push(job.id)
      })
  )
}

/** Lets every fiber that can run, run: forked fibers start, resumed ones go on. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

/** A job that runs until its gate opens. */
export const gate = Effect.map(Deferred.make<void>(), (gate): Task & { gate: Deferred.Deferred<void> } => ({
  _tag: "gate",
  gate
}))

/**
 * A one-worker pool whose worker is busy with job "busy" until `release`, and
 * whose queue holds a quick job for each of `queued`.
 */
export const busyPool = (capacity: number, queued: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const trace = makeTrace()
    const pool = yield* Pool.make({ workers: 1, capacity, handler: handler(trace) })
    const busy = yield* gate
    yield* pool.submit(busy, { id: "busy" })
    yield* settle
    for (const id of queued) yield* pool.submit(ok(), { id })
    return { pool, trace, release: Deferred.succeed(busy.gate, undefined) }
  })
