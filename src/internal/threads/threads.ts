/**
 * The threads of one pool, one per worker of the in-memory pool it runs
 * behind: worker `n` (its `WorkerId`) sends its jobs to thread `n`, so the
 * pool's own workers, queue, ledger and drain decide everything, and a
 * thread only ever runs one job at a time.
 *
 * `handler` is the in-memory pool's handler: it sends the job to its
 * worker's thread and turns the reply back into the effect the handler
 * would have been in memory. When that effect is interrupted (the job's
 * timeout, its `run` caller, the drain's deadline), the thread is
 * terminated, since computing code cannot be interrupted inside it, and a
 * replacement is started at once for the worker's next job. A thread that
 * exits on its own is replaced the same way.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type * as Job from "../../Job.ts"
import { WorkerId } from "../../Pool.ts"
import { DIED, FAILED, INTERRUPTED, type Reply, type Request, restore, SUCCEEDED } from "./protocol.ts"
import { decode, encode, type Schemas } from "./codec.ts"
import * as Thread from "./thread.ts"

/** A worker's thread: the one running, or the one starting in its place. */
interface Slot {
  next: Deferred.Deferred<Thread.Thread, string>
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
  /** Set when the pool closes its threads: none is replaced after that. */
  closing: boolean
}

/**
 * Starts `count` threads and waits until all have loaded the handler module.
 * Fails with the first thread's reason if one cannot (no thread is left running).
 */
export const start = <A>(
  settings: Thread.Settings,
  count: number,
  transfer: (payload: A) => ReadonlyArray<unknown>,
  schemas: Schemas
): Effect.Effect<Threads<A>, string> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const slots = Array.from({ length: count }, (): Slot => ({ next: Deferred.makeUnsafe() }))
    const threads: Threads<A> = { settings, transfer, schemas, scope, slots, closing: false }
    const started = yield* Effect.exit(Effect.forEach(slots, (slot) => startIn(threads, slot), {
      concurrency: "unbounded",
      discard: true
    }))
    if (Exit.isFailure(started)) {
      yield* close(threads)
      return yield* Effect.failCause(started.cause)
    }
    return threads
  })

/** Starts a thread for `slot`, which its next job gets; one that exits on its own is replaced. */
const startIn = <A>(threads: Threads<A>, slot: Slot): Effect.Effect<Thread.Thread, string> => {
  const next = slot.next
  return Thread.spawn(threads.settings, threads.scope, () => replace(threads, slot)).pipe(
    Effect.onExit((exit) => Deferred.done(next, exit))
  )
}

/** Starts a thread in the slot's place, in the background; the slot's next job waits for it. */
const replace = <A>(threads: Threads<A>, slot: Slot): void => {
  if (threads.closing) return
  slot.next = Deferred.makeUnsafe()
  Effect.runFork(Effect.ignore(startIn(threads, slot)))
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

/** The job as it crosses: its payload encoded, its timeout in milliseconds (`undefined` for none). */
const requestOf = <A>(job: Job.Job<A>, payload: unknown): Request => [
  job.id,
  payload,
  job.attempt,
  job.timeout === undefined || !Duration.isFinite(job.timeout) ? undefined : Duration.toMillis(job.timeout)
]

/** Runs one job on the current worker's thread (see the module's comment). */
const runOnThread = <A, B, E>(threads: Threads<A>, slot: Slot, job: Job.Job<A>): Effect.Effect<B, E> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const started = yield* restore(Effect.exit(Deferred.await(slot.next)))
      if (Exit.isFailure(started)) {
        // The thread could not be started again (its module is gone?): this job dies, the next one tries again.
        replace(threads, slot)
        const reason = started.cause.reasons[0]
        const why = reason?._tag === "Fail" ? reason.error : "interrupted"
        return yield* Effect.die(new Error(`the job's thread could not start: ${why}`))
      }
      const thread = started.value
      // Checked at submit: a payload that no longer encodes is a defect of this job only.
      const payload = yield* Effect.orDie(encode(threads.schemas.payload, job.payload))
      const transfers = payload.transfers.length === 0
        ? threads.transfer(job.payload)
        : [...threads.transfer(job.payload), ...payload.transfers]
      const reply = yield* restore(Thread.run(thread, requestOf(job, payload.value), transfers)).pipe(
        Effect.onInterrupt(() => Effect.andThen(Effect.sync(() => replace(threads, slot)), Thread.terminate(thread)))
      )
      // The thread exited under the job (a crash, its resource limits): it was replaced already.
      return yield* fromReply<B, E>(threads.schemas, reply)
    })
  )

/**
 * Waits until the current worker's thread is ready: run by the pool before
 * each job (`Hooks.beforeJob`), outside the job's deadline, so that the time
 * a replacement takes to start is not the job's.
 */
export const ready = <A>(threads: Threads<A>): Effect.Effect<void> =>
  Effect.contextWith((context) => Effect.exit(Deferred.await(slotOf(threads, context).next)))

/** The slot of the worker running the current job. */
const slotOf = <A>(threads: Threads<A>, context: Context.Context<never>): Slot =>
  threads.slots[Context.get(context, WorkerId) - 1]!

/** The in-memory pool's handler: each job goes to its worker's thread. */
export const handler = <A, B, E>(threads: Threads<A>) => (job: Job.Job<A>): Effect.Effect<B, E> =>
  Effect.contextWith((context) => runOnThread<A, B, E>(threads, slotOf(threads, context), job))

/** Closes every thread (the pool has drained: they are idle) and waits until they have exited. */
export const close = <A>(threads: Threads<A>): Effect.Effect<void> =>
  Effect.suspend(() => {
    threads.closing = true
    return Scope.close(threads.scope, Exit.void)
  })
