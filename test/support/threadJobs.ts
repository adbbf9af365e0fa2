/**
 * The handler module of the threaded pools under test: what a job does is
 * chosen by its payload. Loaded by each thread, never by the tests.
 */
import { Effect, Schema } from "effect"
import * as Transferable from "effect/workers/Transferable"
import { appendFileSync } from "node:fs"
import { threadId } from "node:worker_threads"
import { Durable, type Job } from "../../src/index.ts"

/** The handler's own typed error: it crosses as a plain object, by structured clone. */
export class Refused extends Schema.TaggedError<Refused>()("Refused", { reason: Schema.String }) {}

export type ThreadTask =
  | { readonly _tag: "echo"; readonly value: unknown }
  /** Computes for about `ms` milliseconds, then returns the thread's id. */
  | { readonly _tag: "compute"; readonly ms: number }
  /**
   * Computes for ever: only terminating the thread stops it. With `path`, it
   * first appends the job's id to that file, so a test sees it has started.
   */
  | { readonly _tag: "spin"; readonly path?: string }
  /**
   * Holds its thread, which reads no message meanwhile, until the test sets
   * `cells[1]` (and notifies), having set `cells[0]` as it starts to hold: two
   * cells of memory shared with the test. With `answerFirst`, it answers at once and holds the thread
   * after: the job sent next is started as far as the pool can tell, but
   * the thread has not read it.
   */
  | { readonly _tag: "hold"; readonly cells: Int32Array; readonly answerFirst?: boolean }
  | { readonly _tag: "fail" }
  | { readonly _tag: "die" }
  | { readonly _tag: "throw" }
  | { readonly _tag: "selfInterrupt" }
  | { readonly _tag: "notAnEffect" }
  /** Exits the thread under the job. */
  | { readonly _tag: "exit" }
  /**
   * Answers, then keeps its thread busy for a second, having written
   * `path` as it starts to, and exits it: a job sent meanwhile is never read.
   */
  | { readonly _tag: "answerThenExit"; readonly path: string }
  /** Allocates until the thread's memory limit stops it. */
  | { readonly _tag: "oom" }
  /** Returns a function, which cannot be cloned back. */
  | { readonly _tag: "uncloneable" }
  /** Snoozes its job for `millis` (`Durable.snooze`): a durable pool delivers it again then, as the same attempt. */
  | { readonly _tag: "snooze"; readonly millis: number }
  /** Fails with an `Error` whose own field throws when read (`field`), or a Proxy of one whose traps throw (`proxy`). */
  | { readonly _tag: "unreadableError"; readonly how: "field" | "proxy" }
  /** Returns a new buffer of `bytes` bytes, moved back rather than copied. */
  | { readonly _tag: "buffer"; readonly bytes: number }
  /** Adds 1 to the first cell of `cells`, a view of memory shared with the caller. */
  | { readonly _tag: "shared"; readonly cells: Int32Array }
  /** Returns the byte length of the `ArrayBuffer` it was sent. */
  | { readonly _tag: "length"; readonly buffer: ArrayBuffer }
  | { readonly _tag: "threadId" }
  /** Appends the job's id to the file `path` (so a test sees whether, and how often, it ran), then returns the thread's id. */
  | { readonly _tag: "mark"; readonly path: string }

const spin = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // computing
  }
}

const hold = (cells: Int32Array): void => {
  Atomics.store(cells, 0, 1)
  Atomics.wait(cells, 1, 0)
}

const unreadable = (how: "field" | "proxy"): Error => {
  const error = new Error("unreadable")
  if (how === "proxy") {
    return new Proxy(error, {
      getPrototypeOf: () => {
        throw new Error("trap")
      },
      ownKeys: () => {
        throw new Error("trap")
      }
    })
  }
  Object.defineProperty(error, "field", {
    enumerable: true,
    get: () => {
      throw new Error("getter")
    }
  })
  return error
}

export const handler = (job: Job.Job<ThreadTask>): Effect.Effect<unknown, Refused | Durable.Snooze> => {
  const task = job.payload
  switch (task._tag) {
    case "echo":
      return Effect.succeed(task.value)
    case "compute":
      return Effect.sync(() => {
        spin(task.ms)
        return threadId
      })
    case "spin":
      return Effect.sync(() => {
        if (task.path !== undefined) appendFileSync(task.path, `${job.id}\n`)
        spin(Number.POSITIVE_INFINITY)
      })
    case "hold":
      return Effect.sync(() => {
        if (task.answerFirst === true) setTimeout(() => hold(task.cells), 0)
        else hold(task.cells)
        return threadId
      })
    case "fail":
      return Effect.fail(new Refused({ reason: job.id }))
    case "snooze":
      return Durable.snooze(task.millis)
    case "die":
      return Effect.die(new Error(`defect in ${job.id}`))
    case "throw":
      throw new Error(`thrown in ${job.id}`)
    case "selfInterrupt":
      return Effect.interrupt
    case "notAnEffect":
      return 42 as never
    case "exit":
      return Effect.sync(() => process.exit(3))
    case "answerThenExit":
      return Effect.sync(() => {
        setTimeout(() => {
          appendFileSync(task.path, "busy\n")
          spin(1_000)
          process.exit(3)
        }, 0)
        return threadId
      })
    case "oom":
      return Effect.sync(() => {
        const hold: Array<Array<number>> = []
        for (;;) hold.push(Array.from({ length: 100_000 }, (_, i) => i))
      })
    case "uncloneable":
      return Effect.succeed(() => "a function")
    case "unreadableError":
      return Effect.fail(unreadable(task.how) as never)
    case "buffer":
      return Effect.gen(function*() {
        const buffer = new ArrayBuffer(task.bytes)
        yield* Transferable.addAll([buffer])
        return buffer
      })
    case "length":
      return Effect.succeed(task.buffer.byteLength)
    case "shared":
      return Effect.sync(() => Atomics.add(task.cells, 0, 1) + 1)
    case "threadId":
      return Effect.succeed(threadId)
    case "mark":
      return Effect.sync(() => {
        appendFileSync(task.path, `${job.id}\n`)
        return threadId
      })
  }
}
