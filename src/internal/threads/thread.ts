/**
 * One thread of a threaded pool, as the pool sees it. It is spawned over
 * Effect's worker support (`effect/workers`, with `@effect/platform-node`'s
 * `NodeWorker` platform), is ready once its handler module has loaded
 * (`threadMain.ts`), and runs one job at a time. `send` sends it a job, which
 * may be queued ahead of the running one: the job's `Pending` tells when it
 * has started (every job sent before it has ended) and how it ended.
 *
 * A job that must end early (its timeout, its `run` caller interrupted, the
 * drain's deadline) is `stop`ped. One the thread has not started is
 * withdrawn, and the thread goes on. One it is running cannot be stopped
 * inside the thread if it is busy computing, so the thread is terminated
 * where it stands, and the job queued behind it, which it never started, is
 * handed back (`Pending.reply` completes with `undefined`) to be sent to
 * another thread. The claim word (`protocol.ts`) decides which, without a
 * race. A thread that exits on its own (a crash, its `resourceLimits`
 * exceeded) answers the job it was running with a defect, and hands back
 * the one it had not started.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Worker from "effect/workers/Worker"
import type { WorkerError } from "effect/workers/WorkerError"
import * as WorkerThreads from "node:worker_threads"
import { AHEAD, aheadCell, type Answer, DIED, GONE, type Reply, type Request, type ThreadData } from "./protocol.ts"

/** What every thread of a pool is started with. */
export interface Settings {
  /** The handler module. */
  readonly module: URL
  readonly resourceLimits: WorkerThreads.ResourceLimits | undefined
  /** Effect's worker platform for Node (`loadPlatform`). */
  readonly platform: Worker.WorkerPlatform["Service"]
  /**
   * How long a thread may take to load its module (the pool's
   * `startTimeout`), in real time: a thread loads in real time whatever
   * `Clock` the pool runs with, and a test that moves a `TestClock` on must
   * not make a healthy start late.
   */
  readonly startTimeout: Duration.Duration
}

/**
 * `startTimeout`'s default. Without a bound, a module that never finishes
 * loading (a top-level `await` that never settles) would hold up the
 * pool's start for ever, or, as a replacement, every job sent its way. Far
 * above a real start (tens to hundreds of milliseconds).
 */
export const defaultStartTimeout: Duration.Duration = Duration.seconds(60)

/** Effect's own clock, the one a program runs with unless told otherwise: it sleeps in real time. */
const realClock = Clock.Clock.defaultValue()

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

/** A job sent to a thread. */
export interface Pending {
  /** Its number on this thread (see `protocol.ts`). */
  readonly seq: number
  readonly thread: Thread
  /**
   * `true` once the thread has started the job, as far as the pool can tell
   * (every job sent to the thread before it has ended); `false` if it never
   * will: it was handed back.
   */
  readonly started: Deferred.Deferred<boolean>
  /** How the job ended, or `undefined` if it was handed back without being started. */
  readonly reply: Deferred.Deferred<Reply | undefined>
}

/** A running thread. */
export interface Thread {
  /** The Node worker, kept to terminate it: Effect's platform only asks a worker to close. */
  worker: WorkerThreads.Worker | undefined
  readonly port: Worker.Worker<Answer, Request>
  /** The claim word, shared with the thread (see `protocol.ts`). */
  readonly claim: Int32Array
  /** The number of the last job sent. */
  sent: number
  /**
   * The pool's latest run of withdrawals: the jobs `withdrawnAfter + 1` to
   * `withdrawnTo`, each withdrawn by moving the claim word on from the one
   * before. A withdrawal moves the word without the thread moving on: while
   * the word stands at `withdrawnTo`, the last job the thread claimed itself
   * is `withdrawnAfter` (see `claimedByThread`).
   */
  withdrawnAfter: number
  withdrawnTo: number
  /**
   * The numbers sent as gaps (jobs that could not be sent) that the thread
   * may not have claimed yet: a job behind them is withdrawn by moving the
   * word over them, since the thread would skip them anyway.
   */
  readonly gaps: Set<number>
  /** The jobs sent and not ended, in the order sent: the first has started. */
  readonly pending: Array<Pending>
  /** Set once the thread has exited or is being terminated: it takes no more jobs. */
  gone: boolean
  /** Called once when the thread is gone, terminated or on its own, but not closed: it is to be replaced. */
  readonly onGone: (thread: Thread) => void
  /** The thread's own scope, in the pool's: closing it stops the thread and forgets it. */
  readonly scope: Scope.Closeable
}

/** The thread's entry point, next to this module: `.ts` in the sources, `.js` once built. */
const entry = new URL(`./threadMain${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url)

/** Why a thread failed to start (its module did not load, or exports no handler) or stopped. */
export const describeExit = (error: WorkerError): string => {
  const cause = error.reason.cause
  const message = cause instanceof Error ? cause.message : error.message
  // Node's own word for it is only the code.
  return /exited with code:? 13\b/.test(message) ? `${message} (a top-level await in its module never settled)` : message
}

/**
 * Starts a thread in a scope of its own within `parent`, and waits until its
 * handler module has loaded. Fails with the reason the thread gave if it
 * exits before that. `onGone` is called once when the thread is gone after
 * it started (terminated, or exited on its own), not when it is closed.
 */
export const spawn = (
  settings: Settings,
  parent: Scope.Scope,
  onGone: (thread: Thread) => void
): Effect.Effect<Thread, string> =>
  Effect.gen(function*() {
    const { platform } = settings
    // In order: the thread terminated first (see below), then its loop ended.
    const scope = yield* Scope.fork(parent, "sequential")
    const claim = new SharedArrayBuffer(4 * (1 + AHEAD))
    const data: ThreadData = { module: settings.module.href, claim }
    const spawner: Worker.SpawnerFn = () =>
      thread.worker = new WorkerThreads.Worker(entry, { workerData: data, resourceLimits: settings.resourceLimits })
    const port = yield* platform.spawn<Answer, Request>(0).pipe(
      Effect.provideService(Worker.Spawner, spawner),
      Effect.mapError(describeExit)
    )
    const thread: Thread = {
      worker: undefined,
      port,
      claim: new Int32Array(claim),
      sent: 0,
      withdrawnAfter: 0,
      withdrawnTo: 0,
      gaps: new Set(),
      pending: [],
      gone: false,
      onGone,
      scope
    }
    const ready = Deferred.makeUnsafe<void>()
    // The answer is taken as it arrives (in `emit`), not in a fiber of its own: one that arrives as the thread exits is not lost.
    const loop = yield* port.run((answer) => {
      answered(thread, answer)
      return Effect.void
    }, {
      onSpawn: Deferred.succeed(ready, undefined)
    }).pipe(Effect.forkIn(scope, { startImmediately: true }))
    // However its scope closes (a job stopped, the pool closing, its start given up), the thread is
    // terminated at once. Run first (the last added), before the loop's end: Effect's platform would
    // ask the thread to close and wait 5 s for one that does not exit (a timer its module left running).
    yield* Scope.addFinalizer(scope, Effect.suspend(() => terminateWorker(thread)))
    loop.addObserver((exit) => {
      const onItsOwn = !thread.gone
      thread.gone = true
      if (onItsOwn && Deferred.isDoneUnsafe(ready)) {
        onGone(thread)
        // Nobody else closes the scope of a thread that exited on its own
        // before the pool closes: the pool's scope would keep each such
        // thread (its scope, port and Node worker) for the pool's life.
        Effect.runFork(Scope.close(scope, Exit.void))
      }
      // A job the thread claimed and did not answer died with it; one it had not claimed is handed back.
      const last = Atomics.load(thread.claim, 0)
      const reason = Exit.isFailure(exit) ? describeCause(exit) : "it was stopped"
      for (const pending of [...thread.pending]) {
        settle(
          thread,
          pending,
          last === GONE || pending.seq <= last
            ? [DIED, new Error(`the thread running the job exited: ${reason}`)]
            : undefined
        )
      }
    })
    const deadline = settings.startTimeout
    const started = yield* Effect.raceAllFirst([
      Effect.as(Deferred.await(ready), "started" as const),
      Effect.as(Fiber.await(loop), "stopped" as const),
      Effect.as(realClock.sleep(deadline), "late" as const)
    ]).pipe(
      // Interrupted (the pool's start given up): terminated at once, where a
      // request to close would wait 5 s for a thread that is still loading.
      Effect.onInterrupt(() => Effect.suspend(() => (thread.gone = true, kill(thread))))
    )
    if (started === "started") return thread
    thread.gone = true
    const exit = loop.pollUnsafe()
    // Terminated, not asked to close: a thread still loading its module would not read the request.
    yield* kill(thread)
    if (started === "late") return yield* Effect.fail(`its module did not load within ${Duration.format(deadline)}`)
    return yield* Effect.fail(exit !== undefined && Exit.isFailure(exit) ? describeCause(exit) : "the thread stopped")
  })

const describeCause = (exit: Exit.Failure<unknown, WorkerError>): string => {
  const reason = exit.cause.reasons[0]
  if (reason?._tag === "Fail") return describeExit(reason.error)
  if (reason?._tag === "Die") return String(reason.defect)
  return "it was interrupted"
}

/**
 * Ends `pending` with `reply` (`undefined`: handed back, never started), and
 * marks the next job as started: the thread starts it as soon as the one
 * before it has ended.
 */
const settle = (thread: Thread, pending: Pending, reply: Reply | undefined): void => {
  const index = thread.pending.indexOf(pending)
  if (index < 0) return
  thread.pending.splice(index, 1)
  Deferred.doneUnsafe(pending.started, reply === undefined ? notStarted : hasStarted)
  Deferred.doneUnsafe(pending.reply, Exit.succeed(reply))
  const first = thread.pending[0]
  if (first !== undefined && !thread.gone) Deferred.doneUnsafe(first.started, hasStarted)
}

const hasStarted = Exit.succeed(true)
const notStarted = Exit.succeed(false)

/** An answer from the thread; one for a job the pool has given up on is dropped. */
const answered = (thread: Thread, [seq, reply]: Answer): void => {
  for (const pending of thread.pending) {
    if (pending.seq === seq) return settle(thread, pending, reply)
  }
}

/** How many jobs the thread has been sent and not ended: 0 when it is idle. */
export const load = (thread: Thread): number => thread.pending.length

/**
 * Sends a job to the thread, behind any it has not ended. A job that cannot
 * be sent (its payload cannot be cloned any more) dies; the thread is
 * unharmed.
 */
export const send = (
  thread: Thread,
  id: string,
  payload: unknown,
  attempt: number,
  timeout: number | undefined,
  transfer: ReadonlyArray<unknown>
): Effect.Effect<Pending> =>
  Effect.suspend(() => {
    const seq = ++thread.sent
    const pending: Pending = { seq, thread, started: Deferred.makeUnsafe(), reply: Deferred.makeUnsafe() }
    thread.pending.push(pending)
    if (thread.pending.length === 1) Deferred.doneUnsafe(pending.started, hasStarted)
    return Effect.as(
      Effect.catch(thread.port.send([seq, id, payload, attempt, timeout], transfer), (error) =>
        Effect.andThen(
          // Its number must still reach the thread, which claims jobs in order: as a gap, not a job.
          Effect.ignore(Effect.andThen(
            Effect.sync(() => gapSent(thread, seq)),
            thread.port.send([-seq, id, undefined, attempt, undefined])
          )),
          Effect.sync(() =>
            settle(thread, pending, [DIED, new Error(`the job cannot be sent to its thread: ${describeExit(error)}`)])
          )
        )),
      pending
    )
  })

/**
 * Stops the job `pending`: the caller has given up on it (it gets no reply).
 * Withdrawn if the thread has not started it; if the thread is running it,
 * the thread is terminated and the job queued behind it handed back; if the
 * thread has already finished it, nothing more. Running it, the thread has
 * claimed no job after it: the claim word is its number, or that of a job
 * queued behind it that the pool withdrew (`claimedByThread`).
 */
export const stop = (pending: Pending): Effect.Effect<void> =>
  Effect.suspend(() => {
    const { seq, thread } = pending
    if (!thread.pending.includes(pending)) return Effect.void
    // Each swap fails only if the thread claimed a job (or a gap) meanwhile: then look again.
    for (let word = Atomics.load(thread.claim, 0); word !== GONE; word = Atomics.load(thread.claim, 0)) {
      if (word < seq) {
        // Not started: withdrawn, by moving the word over the gaps between, if any.
        if (!onlyGapsBetween(thread, word, seq)) {
          // A job the thread will start first lies between (sent, not read yet): withdrawn in its own cell.
          if (seq - word >= AHEAD) return Effect.andThen(realClock.sleep(Duration.millis(1)), stop(pending))
          if (!withdrawnAhead(thread, seq)) continue
          settle(thread, pending, undefined)
          return Effect.void
        }
        if (Atomics.compareExchange(thread.claim, 0, word, seq) !== word) continue
        withdrawn(thread, word, seq)
        settle(thread, pending, undefined)
        return Effect.void
      }
      // Running it, unless the thread has claimed a job after it: the word may
      // stand past it only because the pool withdrew the jobs queued behind it.
      if (claimedByThread(thread, word) !== seq) break
      if (Atomics.compareExchange(thread.claim, 0, word, GONE) !== word) continue
      giveUp(thread, seq)
      settle(thread, pending, undefined)
      return kill(thread)
    }
    // The thread has moved on to the next job: this one has ended in it.
    settle(thread, pending, undefined)
    return Effect.void
  })

/**
 * Withdraws job `seq` in its own cell, the thread having claimed one of the
 * `AHEAD - 1` jobs before it (`protocol.ts`); `false` if the thread has
 * claimed it meanwhile.
 */
const withdrawnAhead = (thread: Thread, seq: number): boolean => {
  const cell = aheadCell(seq)
  for (let was = Atomics.load(thread.claim, cell); was !== seq; was = Atomics.load(thread.claim, cell)) {
    if (Atomics.compareExchange(thread.claim, cell, was, -seq) === was) return true
  }
  return false
}

/** Notes a gap sent as number `seq`, and forgets those the thread has claimed. */
const gapSent = (thread: Thread, seq: number): void => {
  const word = Atomics.load(thread.claim, 0)
  for (const gap of thread.gaps) if (gap <= word) thread.gaps.delete(gap)
  thread.gaps.add(seq)
}

/** Whether every number after `word` and before `seq` is a gap: the thread skips them. */
const onlyGapsBetween = (thread: Thread, word: number, seq: number): boolean => {
  for (let n = word + 1; n < seq; n++) if (!thread.gaps.has(n)) return false
  return true
}

/** Notes that the pool has withdrawn the jobs (and gaps) after `from` up to `seq`, moving the word from `from` to `seq`. */
const withdrawn = (thread: Thread, from: number, seq: number): void => {
  if (thread.withdrawnTo !== from) thread.withdrawnAfter = from
  thread.withdrawnTo = seq
}

/**
 * The last job the thread claimed itself (started, or skipped as a gap),
 * from the claim word: the word, unless the pool moved it on by withdrawing
 * the jobs after that one, which the thread never started.
 */
const claimedByThread = (thread: Thread, word: number): number =>
  word === thread.withdrawnTo ? thread.withdrawnAfter : word

/**
 * Marks the thread gone, the claim at `GONE` and its last job claimed
 * `last`: the jobs sent after that one, which it never started, are handed
 * back. The pool is told (`onGone`) at once, so that a replacement starts
 * while this thread stops.
 */
const giveUp = (thread: Thread, last: number): void => {
  if (thread.gone) return
  thread.gone = true
  // Told first: a job handed back may be sent again at once (a fiber waiting on a `Deferred` resumes as it completes).
  thread.onGone(thread)
  for (const pending of [...thread.pending]) if (pending.seq > last) settle(thread, pending, undefined)
}

/** Terminates the Node worker, whatever it is running, and waits until it has exited. */
const terminateWorker = (thread: Thread): Effect.Effect<void> => {
  const worker = thread.worker
  return worker === undefined ? Effect.void : Effect.promise(() => worker.terminate())
}

/** Stops the thread at once, whatever it is running, and waits until it has exited (its scope's finalizer terminates it). */
const kill = (thread: Thread): Effect.Effect<void> => Scope.close(thread.scope, Exit.void)

/**
 * Stops the thread at once, whatever it is running, and waits until it has
 * exited. The job it is running gets a defect if it is still waited for,
 * and the jobs it had not started are handed back.
 */
export const terminate = (thread: Thread): Effect.Effect<void> =>
  Effect.suspend(() => {
    const last = Atomics.exchange(thread.claim, 0, GONE)
    if (last !== GONE) giveUp(thread, last)
    return kill(thread)
  })
