/**
 * One thread of a threaded pool, as the pool sees it. It is spawned over
 * Effect's worker support (`effect/workers`, with `@effect/platform-node`'s
 * `NodeWorker` platform), is ready once its handler module has loaded
 * (`threadMain.ts`), and runs one job at a time: `run` sends the job and
 * waits for its reply.
 *
 * A job that must end early (its timeout, its `run` caller interrupted, the
 * drain's deadline) cannot be stopped inside the thread if it is busy
 * computing, so the thread is terminated: `terminate` does not ask, it stops
 * the thread where it stands. A thread that exits on its own (a crash, its
 * `resourceLimits` exceeded) answers its running job with a defect.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Worker from "effect/workers/Worker"
import type { WorkerError } from "effect/workers/WorkerError"
import * as WorkerThreads from "node:worker_threads"
import { DIED, type Reply, type Request, type ThreadData } from "./protocol.ts"

/** What every thread of a pool is started with. */
export interface Settings {
  /** The handler module. */
  readonly module: URL
  readonly resourceLimits: WorkerThreads.ResourceLimits | undefined
  /** Effect's worker platform for Node (`loadPlatform`). */
  readonly platform: Worker.WorkerPlatform["Service"]
}

/**
 * `@effect/platform-node`'s `NodeWorker` platform, loaded when a threaded
 * pool starts: it is an optional peer dependency, and the rest of the
 * library (`Pool`, `Durable` in memory) must load without it.
 */
export const loadPlatform: Effect.Effect<Worker.WorkerPlatform["Service"], string> = Effect.gen(function*() {
  const NodeWorker = yield* Effect.tryPromise({
    try: () => import("@effect/platform-node/NodeWorker"),
    catch: (cause) => `threads need @effect/platform-node (npm install @effect/platform-node): ${String(cause)}`
  })
  return yield* Effect.provide(
    Effect.gen(function*() {
      return yield* Worker.WorkerPlatform
    }),
    NodeWorker.layerPlatform
  )
})

/** A running thread. */
export interface Thread {
  /** The Node worker, kept to terminate it: Effect's platform only asks a worker to close. */
  worker: WorkerThreads.Worker | undefined
  readonly port: Worker.Worker<Reply, Request>
  /** The reply the running job waits for, if a job is running. */
  pending: Deferred.Deferred<Reply> | undefined
  /** Set once the thread has exited or is being terminated: it takes no more jobs. */
  gone: boolean
  /** The thread's own scope, in the pool's: closing it stops the thread and forgets it. */
  readonly scope: Scope.Closeable
}

/** The thread's entry point, next to this module: `.ts` in the sources, `.js` once built. */
const entry = new URL(`./threadMain${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url)

/** Why a thread failed to start (its module did not load, or exports no handler) or stopped. */
export const describeExit = (error: WorkerError): string => {
  const cause = error.reason.cause
  return cause instanceof Error ? cause.message : error.message
}

/**
 * Starts a thread in a scope of its own within `parent`, and waits until its
 * handler module has loaded. Fails with the reason the thread gave if it
 * exits before that. `onExit` is called once if the thread exits on its own
 * (not by `terminate` or `close`) after it started.
 */
export const spawn = (
  settings: Settings,
  parent: Scope.Scope,
  onExit: (thread: Thread) => void
): Effect.Effect<Thread, string> =>
  Effect.gen(function*() {
    const { platform } = settings
    const scope = yield* Scope.fork(parent)
    const data: ThreadData = { module: settings.module.href }
    const spawner: Worker.SpawnerFn = () =>
      thread.worker = new WorkerThreads.Worker(entry, { workerData: data, resourceLimits: settings.resourceLimits })
    const port = yield* platform.spawn<Reply, Request>(0).pipe(
      Effect.provideService(Worker.Spawner, spawner),
      Effect.mapError(describeExit)
    )
    const thread: Thread = { worker: undefined, port, pending: undefined, gone: false, scope }
    const ready = Deferred.makeUnsafe<void>()
    const loop = yield* port.run((reply) => Effect.sync(() => replied(thread, reply)), {
      onSpawn: Deferred.succeed(ready, undefined)
    }).pipe(Effect.forkIn(scope, { startImmediately: true }))
    loop.addObserver((exit) => {
      const onItsOwn = !thread.gone
      thread.gone = true
      const pending = thread.pending
      thread.pending = undefined
      if (pending !== undefined) {
        const reason = Exit.isFailure(exit) ? describeCause(exit) : "it was stopped"
        Deferred.doneUnsafe(pending, Exit.succeed([DIED, new Error(`the thread running the job exited: ${reason}`)]))
      }
      if (onItsOwn && Deferred.isDoneUnsafe(ready)) onExit(thread)
    })
    const started = yield* Effect.raceFirst(
      Effect.as(Deferred.await(ready), true),
      Effect.as(Fiber.await(loop), false)
    )
    if (started) return thread
    thread.gone = true
    const exit = loop.pollUnsafe()
    yield* Scope.close(scope, Exit.void)
    return yield* Effect.fail(exit !== undefined && Exit.isFailure(exit) ? describeCause(exit) : "the thread stopped")
  })

const describeCause = (exit: Exit.Failure<unknown, WorkerError>): string => {
  const reason = exit.cause.reasons[0]
  if (reason?._tag === "Fail") return describeExit(reason.error)
  if (reason?._tag === "Die") return String(reason.defect)
  return "it was interrupted"
}

const replied = (thread: Thread, reply: Reply): void => {
  const pending = thread.pending
  thread.pending = undefined
  if (pending !== undefined) Deferred.doneUnsafe(pending, Exit.succeed(reply))
}

/**
 * Sends one job and waits for its reply. A job that cannot be sent (its
 * payload cannot be cloned any more) dies; the thread is unharmed.
 */
export const run = (
  thread: Thread,
  request: Request,
  transfer: ReadonlyArray<unknown>
): Effect.Effect<Reply> =>
  Effect.suspend(() => {
    const pending = Deferred.makeUnsafe<Reply>()
    thread.pending = pending
    return Effect.andThen(
      Effect.catch(thread.port.send(request, transfer), (error) => {
        thread.pending = undefined
        return Deferred.succeed(pending, [DIED, new Error(`the job cannot be sent to its thread: ${describeExit(error)}`)])
      }),
      Deferred.await(pending)
    )
  })

/**
 * Stops the thread at once, whatever it is running, and waits until it has
 * exited. Its running job gets no reply: the caller has given up on it.
 */
export const terminate = (thread: Thread): Effect.Effect<void> =>
  Effect.suspend(() => {
    thread.gone = true
    thread.pending = undefined
    const worker = thread.worker
    const stopped = worker === undefined ? Effect.void : Effect.promise(() => worker.terminate())
    return Effect.andThen(stopped, Scope.close(thread.scope, Exit.void))
  })

/**
 * Asks the thread to close (it is idle: the pool has drained) and waits until
 * it has; Effect's platform terminates one that has not exited within 5 s.
 */
export const close = (thread: Thread): Effect.Effect<void> =>
  Effect.suspend(() => {
    thread.gone = true
    return Scope.close(thread.scope, Exit.void)
  })
