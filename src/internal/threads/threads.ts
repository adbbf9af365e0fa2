/**
 * The threads of one pool, behind the in-memory pool, which has two workers
 * per thread: the pool's own workers, queue, ledger and drain decide
 * everything, and each thread runs one job and has at most one more queued
 * ahead, sent before the running one ends, so that it never waits for the
 * pool between two jobs.
 *
 * Before each job (`beforeJob`, outside the job's deadline) the worker sends
 * it to the least loaded thread (an idle one first) and waits until the
 * thread has started it, so that a job's deadline does not run while it
 * waits behind another. `handler`, the in-memory pool's handler, then waits
 * for its answer and turns it back into the effect the handler would have
 * been in memory. When that effect is interrupted (the job's timeout, its
 * `run` caller, the drain's deadline), the job is stopped (`Thread.stop`):
 * withdrawn if not started; otherwise its thread is terminated, since
 * computing code cannot be interrupted inside it, and a replacement is
 * started at once. The job queued behind it, which that thread never
 * started, is handed back and sent to another thread: it runs once. A
 * thread that exits on its own is replaced the same way.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type * as Job from "../../Job.ts"
import * as Once from "../once.ts"
import { DIED, FAILED, INTERRUPTED, type Reply, restore, SUCCEEDED } from "./protocol.ts"
import { decode, encode, type Schemas } from "./codec.ts"
import * as Thread from "./thread.ts"

/** How many jobs a thread is given at most: the one it runs and one queued ahead. */
export const depth = 2

/** A place for one thread: the one running, or the one starting in its place. */
interface Slot {
  /** The thread, once started; `undefined` while a replacement starts. */
  current: Thread.Thread | undefined
  next: Deferred.Deferred<Thread.Thread, string>
  /** Jobs waiting for the replacement to start. */
  waiting: number
}

/** The threads of a pool. */
export interface Threads<A> {
  readonly settings: Thread.Settings
  /** What `postMessage` moves rather than copies, for a payload. */
  readonly transfer: (payload: A) => ReadonlyArray<unknown>
  /** The schemas of what crosses, on this side. */
  readonly schemas: Schemas
  /** Holds every thread's scope and every replacement being started. */
  readonly scope: Scope.Closeable
  readonly slots: ReadonlyArray<Slot>
  /** The job each worker has sent and seen started, from `beforeJob` to `handler`. */
  readonly sent: WeakMap<Job.Job<A>, Thread.Pending>
  /** Started when the pool closes its threads (none is replaced after that); every `close` waits for it. */
  readonly closing: Once.Once<void>
}

/**
 * Starts `count` threads and waits until all have loaded the handler module.
 * Fails with the first thread's reason if one cannot; no thread is left
 * running then, nor when the start is interrupted.
 */
export const start = <A>(
  settings: Thread.Settings,
  count: number,
  transfer: (payload: A) => ReadonlyArray<unknown>,
  schemas: Schemas
): Effect.Effect<Threads<A>, string> =>
  Effect.gen(function*() {
    // Its threads are closed all at once, not one after another.
    const scope = yield* Scope.make("parallel")
    const slots = Array.from({ length: count }, (): Slot => ({ current: undefined, next: Deferred.makeUnsafe(), waiting: 0 }))
    const threads: Threads<A> = {
      settings,
      transfer,
      schemas,
      scope,
      slots,
      sent: new WeakMap(),
      closing: Once.make()
    }
    // Failed, or interrupted (a start-up deadline, a signal): the threads already started, or
    // starting, would otherwise run on outside any scope, and keep the process alive.
    yield* Effect.forEach(slots, (slot) => startIn(threads, slot), { concurrency: "unbounded", discard: true }).pipe(
      Effect.onError(() => close(threads))
    )
    return threads
  })

/** Starts a thread for `slot`, which its next job gets; one that is gone (terminated, exited) is replaced. */
const startIn = <A>(threads: Threads<A>, slot: Slot): Effect.Effect<Thread.Thread, string> => {
  const next = slot.next
  return Thread.spawn(threads.settings, threads.scope, () => replace(threads, slot)).pipe(
    Effect.tap((thread) =>
      Effect.sync(() => {
        if (slot.next === next) slot.current = thread
      })
    ),
    Effect.onExit((exit) => Deferred.done(next, exit))
  )
}

/** Starts a thread in the slot's place, in the background; the jobs sent to the slot wait for it. */
const replace = <A>(threads: Threads<A>, slot: Slot): void => {
  slot.current = undefined
  if (threads.closing.started()) return
  slot.next = Deferred.makeUnsafe()
  Effect.runFork(Effect.ignore(startIn(threads, slot)))
}

/**
 * How many jobs the slot's thread has; a thread still starting counts as a
 * full one, plus the jobs waiting for it, since it takes far longer to start
 * than a job takes to run.
 */
const loadOf = (slot: Slot): number => slot.current === undefined ? depth + slot.waiting : Thread.load(slot.current)

/** The slot with the fewest jobs: an idle thread first, then one with a job to queue behind. */
const leastLoaded = <A>(threads: Threads<A>): Slot => {
  let best = threads.slots[0]!
  let bestLoad = loadOf(best)
  for (let i = 1; i < threads.slots.length && bestLoad > 0; i++) {
    const slot = threads.slots[i]!
    const load = loadOf(slot)
    if (load < bestLoad) {
      best = slot
      bestLoad = load
    }
  }
  return best
}

/**
 * The effect the in-memory pool's handler would have been, from the thread's
 * reply: a result or error decoded by its schema, if any (one that does not
 * decode is a defect).
 */
const fromReply = <B, E>(schemas: Schemas, reply: Reply): Effect.Effect<B, E> => {
  switch (reply[0]) {
    case SUCCEEDED:
      return schemas.success === undefined
        ? Effect.succeed(reply[1] as B)
        : Effect.orDie(decode(schemas.success, reply[1])) as Effect.Effect<B>
    case FAILED:
      return schemas.failure === undefined
        ? Effect.fail(restore(reply[1], reply[2]) as E)
        : Effect.flatMap(Effect.orDie(decode(schemas.failure, reply[1])), (error) => Effect.fail(error as E))
    case DIED:
      return Effect.die(restore(reply[1], reply[2]))
    case INTERRUPTED:
      return Effect.interrupt
  }
}

/** A job's timeout in milliseconds as it crosses (`undefined` for none). */
const timeoutOf = <A>(job: Job.Job<A>): number | undefined =>
  job.timeout === undefined || !Duration.isFinite(job.timeout) ? undefined : Duration.toMillis(job.timeout)

/** The job's payload as it crosses: encoded, with what moves rather than copies. */
interface Outgoing {
  readonly payload: unknown
  readonly transfers: ReadonlyArray<unknown>
}

const outgoing = <A>(threads: Threads<A>, job: Job.Job<A>): Effect.Effect<Outgoing> => {
  if (threads.schemas.payload === undefined) {
    return Effect.suspend(() => sendable({ payload: job.payload, transfers: threads.transfer(job.payload) }))
  }
  // Checked at submit: a payload that no longer encodes is a defect of this job only.
  return Effect.flatMap(Effect.orDie(encode(threads.schemas.payload, job.payload)), (encoded) =>
    sendable({
      payload: encoded.value,
      transfers: encoded.transfers.length === 0
        ? threads.transfer(job.payload)
        : [...threads.transfer(job.payload), ...encoded.transfers]
    }))
}

/**
 * `out`, unless a buffer it would move is detached: moved already, to a
 * thread that exited before reading it (the job is sent again, handed
 * back). The payload is gone with that thread; sent again, it would end
 * each thread it is sent to, for ever.
 */
const sendable = (out: Outgoing): Effect.Effect<Outgoing> =>
  out.transfers.some((item) => item instanceof ArrayBuffer && (item as { readonly detached?: boolean }).detached === true)
    ? Effect.die(new Error("the job's payload was moved to a thread that exited before reading it"))
    : Effect.succeed(out)

/**
 * How many times a job may be handed back, unstarted, before it dies: a
 * payload `postMessage` refuses (past the submit check) ends each thread it
 * is sent to as that thread starts, and would start thread after thread.
 */
const maxHandBacks = 5

const handedBackTooOften = (): Effect.Effect<never> =>
  Effect.die(new Error(`the job was handed back by ${maxHandBacks} threads that ended before starting it`))

const nothing: ReadonlyArray<unknown> = []

/**
 * Sends the job to the least loaded thread and waits until that thread has
 * started it; sends it again, to the least loaded thread then, if it is
 * handed back first (its thread was gone before starting it). A payload is
 * moved only to an idle thread: queued ahead, it is copied, so that it can
 * still go to another thread if it is handed back.
 */
const dispatch = <A>(
  threads: Threads<A>,
  job: Job.Job<A>,
  out: Outgoing,
  sent: (pending: Thread.Pending) => void,
  handedBack = 0
): Effect.Effect<Thread.Pending> =>
  Effect.suspend(() => {
    const slot = leastLoaded(threads)
    const current = slot.current
    const thread = current !== undefined && !current.gone ? Effect.succeed(current) : waitFor(threads, slot)
    return thread.pipe(
      Effect.flatMap((thread) => {
        // Gone while this job waited for it: the slot has a replacement starting.
        if (thread.gone) return Effect.andThen(Effect.yieldNow, dispatch(threads, job, out, sent, handedBack))
        const idle = Thread.load(thread) === 0
        // Not interrupted between being sent and being known to the caller, which stops it if interrupted later.
        return Effect.uninterruptible(Effect.tap(
          Thread.send(thread, job.id, out.payload, job.attempt, timeoutOf(job), idle ? out.transfers : nothing),
          (pending) => Effect.sync(() => sent(pending))
        ))
      }),
      Effect.flatMap((pending) =>
        Effect.flatMap(Deferred.await(pending.started), (started) =>
          started
            ? Effect.succeed(pending)
            : handedBack + 1 >= maxHandBacks
            ? handedBackTooOften()
            : dispatch(threads, job, out, sent, handedBack + 1))
      )
    )
  })

/**
 * The slot's replacement thread, once started. If it cannot start (its
 * module is gone?), the job dies and the slot tries again for the next.
 */
const waitFor = <A>(threads: Threads<A>, slot: Slot): Effect.Effect<Thread.Thread> =>
  Effect.suspend(() => {
    slot.waiting++
    return Effect.exit(Deferred.await(slot.next)).pipe(
      Effect.ensuring(Effect.sync(() => slot.waiting--)),
      Effect.flatMap((started) => {
        if (Exit.isSuccess(started)) return Effect.succeed(started.value)
        replace(threads, slot)
        const reason = started.cause.reasons[0]
        const why = reason?._tag === "Fail" ? reason.error : "interrupted"
        return Effect.die(new Error(`the job's thread could not start: ${why}`))
      })
    )
  })

/**
 * Run by the pool before each job (`Hooks.beforeJob`), outside the job's
 * deadline: sends the job to a thread and waits until the thread has
 * started it, so that neither the time a replacement thread takes to start
 * nor the time spent queued behind another job is the job's.
 */
export const beforeJob = <A>(threads: Threads<A>) => (job: Job.Job<A>): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) => {
    let current: Thread.Pending | undefined
    return Effect.flatMap(outgoing(threads, job), (out) =>
      restore(dispatch(threads, job, out, (pending) => {
        current = pending
      }))).pipe(
        Effect.flatMap((pending) => Effect.sync(() => threads.sent.set(job, pending))),
        Effect.onInterrupt(() => current === undefined ? Effect.void : Thread.stop(current))
      )
  })

/**
 * The job's answer, from the thread `beforeJob` sent it to; sent again to
 * another if it is handed back. Interrupted, it stops the job (`Thread.stop`).
 */
const answer = <A>(threads: Threads<A>, job: Job.Job<A>, first: Thread.Pending | undefined): Effect.Effect<Reply> =>
  Effect.uninterruptibleMask((restore) => {
    let current = first
    let handedBack = 0
    const track = (pending: Thread.Pending) => {
      current = pending
    }
    const wait = (pending: Thread.Pending | undefined): Effect.Effect<Reply> =>
      pending === undefined
        ? Effect.flatMap(outgoing(threads, job), (out) => Effect.flatMap(restore(dispatch(threads, job, out, track)), wait))
        : Effect.flatMap(
          restore(Deferred.await(pending.reply)),
          (reply) =>
            reply !== undefined
              ? Effect.succeed(reply)
              : ++handedBack >= maxHandBacks
              ? handedBackTooOften()
              : wait(undefined)
        )
    return Effect.onInterrupt(wait(first), () => current === undefined ? Effect.void : Thread.stop(current))
  })

/**
 * Told by the pool as each job ends (`Hooks.ended`): a job interrupted after
 * `beforeJob` sent it and before `handler` took it over is stopped here,
 * so that it does not go on computing in its thread.
 */
export const ended = <A>(threads: Threads<A>, job: Job.Job<A>): void => {
  const pending = threads.sent.get(job)
  if (pending === undefined) return
  threads.sent.delete(job)
  Effect.runFork(Thread.stop(pending))
}

/** The in-memory pool's handler: the job's answer from its thread, as the effect the handler would have been. */
export const handler = <A, B, E>(threads: Threads<A>) => (job: Job.Job<A>): Effect.Effect<B, E> =>
  Effect.suspend(() => {
    const first = threads.sent.get(job)
    threads.sent.delete(job)
    return Effect.flatMap(answer(threads, job, first), (reply) => fromReply<B, E>(threads.schemas, reply))
  })

/**
 * Closes every thread (the pool has drained: they are idle) and waits until
 * they have exited: all at once, each terminated at once (see `Thread.spawn`),
 * so that a timer a module left running cannot hold up the shutdown. Closed
 * by a `shutdown` caller and by the pool's scope, whichever comes first, once
 * (`Once`): the other waits for it (a second `Scope.close` would return at
 * once, with the threads still exiting), and a first caller interrupted at
 * any point cannot leave it half-started.
 */
export const close = <A>(threads: Threads<A>): Effect.Effect<void> =>
  threads.closing.run(Scope.close(threads.scope, Exit.void))
