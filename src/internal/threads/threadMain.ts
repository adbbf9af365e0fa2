/**
 * The entry point of a pool's thread: loads the handler module named by the
 * pool (`workerData.module`), then serves jobs over Effect's worker runner
 * (`@effect/platform-node`'s `NodeWorkerRunner`), one at a time, in the
 * order they came, answering how each ended (`protocol.ts`). A job that
 * comes while another runs waits in `queue`; each is claimed before it
 * starts, and one the pool has withdrawn meanwhile is skipped.
 *
 * A module that cannot be loaded, or exports no function named `handler`,
 * throws here, before the thread says it is ready: the pool's `make` sees the
 * thread fail and refuses with a `PoolConfigError` on `handler`.
 *
 * @internal
 */
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Schema from "effect/Schema"
import * as Transferable from "effect/workers/Transferable"
import * as WorkerRunner from "effect/workers/WorkerRunner"
import * as WorkerThreads from "node:worker_threads"
import type * as Job from "../../Job.ts"
import { effectOrDie } from "../userEffect.ts"
import { decode, encode, schemasOf } from "./codec.ts"
import {
  aheadCell,
  type Answer,
  DIED,
  FAILED,
  GONE,
  INTERRUPTED,
  portable,
  type Reply,
  type Request,
  SUCCEEDED,
  type ThreadData
} from "./protocol.ts"

type Handler = (job: Job.Job<unknown>) => unknown

const { claim, module } = WorkerThreads.workerData as ThreadData
const claimed = new Int32Array(claim)
const loaded: Record<string, unknown> = await import(module)
const handler = loaded.handler as Handler
if (typeof handler !== "function") {
  throw new TypeError(`the module ${module} does not export a function named handler`)
}
const schemas = schemasOf(loaded.schema)

/** How an effect's exit crosses back: the value, else the error, else the defect, else an interruption. */
const replyOf = (exit: Exit.Exit<unknown, unknown>): Reply => {
  if (Exit.isSuccess(exit)) return [SUCCEEDED, exit.value]
  const error = Cause.findError(exit.cause)
  if (error._tag === "Success") return [FAILED, error.success, portable(error.success)]
  const defect = Cause.findDefect(exit.cause)
  return defect._tag === "Success" ? [DIED, defect.success, portable(defect.success)] : [INTERRUPTED]
}

/** Calls the handler, as the in-memory pool would: a throw or a non-Effect is a defect. */
const callHandler = (job: Job.Job<unknown>): Effect.Effect<unknown, unknown> => {
  try {
    return effectOrDie(handler(job), "the handler")
  } catch (defect) {
    return Effect.die(defect)
  }
}

/** `value` encoded to go back, its transferables added to the reply's; one that does not encode is a defect. */
const crossing = (schema: Schema.Top | undefined, value: unknown): Effect.Effect<unknown> =>
  Effect.orDie(encode(schema, value)).pipe(
    Effect.tap((encoded) => Transferable.addAll(encoded.transfers as Parameters<typeof Transferable.addAll>[0])),
    Effect.map((encoded) => encoded.value)
  )

/**
 * Runs one job: its payload decoded by the payload schema (one that does not
 * decode is a defect), its result or error encoded by theirs (likewise).
 */
const runJob = ([, id, encoded, attempt, timeout]: Request): Effect.Effect<Exit.Exit<unknown, unknown>> =>
  Effect.exit(Effect.gen(function*() {
    const payload = yield* Effect.orDie(decode(schemas.payload, encoded))
    const job: Job.Job<unknown> = {
      id,
      payload,
      attempt,
      timeout: timeout === undefined ? undefined : Duration.millis(timeout)
    }
    const exit = yield* Effect.exit(callHandler(job))
    if (Exit.isSuccess(exit)) return yield* crossing(schemas.success, exit.value)
    const error = Cause.findError(exit.cause)
    if (error._tag === "Success" && schemas.failure !== undefined) {
      return yield* Effect.fail(yield* crossing(schemas.failure, error.success))
    }
    return yield* exit
  }))

/**
 * Sends the answer, moving what the handler added to the `Transferable`
 * collector. A result that cannot be cloned is the job's defect, not a thread
 * that never answers.
 */
const send = (
  runner: WorkerRunner.WorkerRunner<Answer, Request>,
  seq: number,
  reply: Reply,
  transfers: ReadonlyArray<unknown>
) => {
  try {
    runner.sendUnsafe(0, [seq, reply], transfers)
  } catch (cause) {
    const what = reply[0] === SUCCEEDED ? "result" : reply[0] === FAILED ? "error" : "defect"
    runner.sendUnsafe(0, [seq, [DIED, new Error(`the job's ${what} cannot be sent back from its thread: ${String(cause)}`)]])
  }
}

/** The jobs sent ahead, in the order they came, and whether one is running. */
const queue: Array<Request> = []
let running = false

/**
 * Starts the next job the pool has not withdrawn, if any: claimed by
 * swapping the claim from the job before it (see `protocol.ts`). Once the
 * pool has given the thread up (`GONE`), nothing more starts.
 */
const next = (runner: WorkerRunner.WorkerRunner<Answer, Request>): void => {
  running = false
  while (queue.length > 0) {
    const request = queue.shift()!
    // A negative number is a gap: a job the pool numbered and could not send.
    const seq = Math.abs(request[0])
    const was = Atomics.compareExchange(claimed, 0, seq - 1, seq)
    if (was === GONE) {
      queue.length = 0
      return
    }
    if (was !== seq - 1 || request[0] < 0) continue // withdrawn by the pool before it started, or a gap
    // Withdrawn ahead, while the thread had not claimed the job before it (see `protocol.ts`).
    if (Atomics.exchange(claimed, aheadCell(seq), seq) === -seq) continue
    running = true
    const collector = Transferable.makeCollectorUnsafe()
    const fiber = Effect.runFork(runJob(request).pipe(Effect.provideService(Transferable.Collector, collector)))
    fiber.addObserver((exit) => {
      // `runJob` captures the job's exit: its own exit is a success, unless the thread itself is stopping.
      send(runner, seq, Exit.isSuccess(exit) ? replyOf(exit.value) : [INTERRUPTED], collector.readUnsafe())
      next(runner)
    })
    return
  }
}

const serve = Effect.gen(function*() {
  const platform = yield* WorkerRunner.WorkerRunnerPlatform
  const runner = yield* platform.start<Answer, Request>()
  yield* runner.run<void, never, never>((_port, request) => {
    queue.push(request)
    if (!running) next(runner)
  })
})

Effect.runFork(serve.pipe(Effect.provide(NodeWorkerRunner.layer)))
