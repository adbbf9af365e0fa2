/**
 * Hostile input at the threaded pool's entry points that the in-memory
 * pool's hostile tests do not reach: the options it shares with that pool
 * read through getters that throw, a thread count past any machine's, a
 * handler that is a Proxy over a URL, and `transfer` lists that
 * `postMessage` refuses. Each is a typed `PoolConfigError` naming the
 * option, never a defect; a refused job is not run, and no thread ends for it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { Durable, Threads } from "../src/index.ts"
import { sharedOptions } from "../src/internal/poolOptions.ts"
import { boom } from "./support/hostileValues.ts"
import type { ThreadTask } from "./support/threadJobs.ts"
import { type Area, schema, Square, type TooBig } from "./support/threadSchemas.ts"

const jobs = new URL("./support/threadJobs.ts", import.meta.url)

describe("Threads.make with hostile options", () => {
  it.effect("an option shared with the in-memory pool read through a getter that throws is refused, naming it", () =>
    Effect.gen(function*() {
      for (const option of sharedOptions) {
        const options = Object.defineProperty({ handler: jobs, threads: 1 }, option, { get: boom, enumerable: true })
        const error = yield* Effect.flip(Threads.make(options as Threads.Options<ThreadTask, unknown, never>))
        assert.deepStrictEqual([error._tag, error.option], ["PoolConfigError", option])
        assert.match(error.reason, /could not be read/)
      }
    }).pipe(Effect.scoped))

  it.effect("more than 1,024 threads is refused, naming threads (or workers, for a durable pool on threads)", () =>
    Effect.gen(function*() {
      for (const threads of [1025, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
        const error = yield* Effect.flip(Threads.make<ThreadTask, unknown, never>({ handler: jobs, threads }))
        assert.deepStrictEqual([error.option, error.reason], ["threads", `must be at most 1024, got ${threads}`])
      }
      const durable = yield* Effect.flip(Durable.make({
        store: yield* MemoryStore.make,
        queue: "q",
        schema: Schema.String,
        workers: 1025,
        handler: Threads.handler<string, unknown, never>(jobs)
      }))
      assert.deepStrictEqual([durable._tag, (durable as { option?: string }).option], ["PoolConfigError", "workers"])
    }).pipe(Effect.scoped))

  it.effect("an unknown key of resourceLimits is refused, naming it, rather than leaving the thread unbounded", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Threads.make<ThreadTask, unknown, never>({
        handler: jobs,
        threads: 1,
        resourceLimits: { maxOldSpaceSizeMb: 64 } as never
      }))
      assert.deepStrictEqual([error.option, error.reason], ["resourceLimits.maxOldSpaceSizeMb", "is not an option of resourceLimits"])
    }).pipe(Effect.scoped))

  it.live("a handler module whose top-level await never settles is refused at once, saying so", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Threads.make<ThreadTask, unknown, never>({
        handler: new URL("./support/unsettledThreadJobs.ts", import.meta.url),
        threads: 1
      }))
      assert.deepStrictEqual([error._tag, error.option], ["PoolConfigError", "handler"])
      assert.match(error.reason, /a top-level await in its module never settled/)
    }).pipe(Effect.scoped))

  it.effect("a handler that is a Proxy over a URL is refused, naming handler", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Threads.make<ThreadTask, unknown, never>({ handler: new Proxy(jobs, {}), threads: 1 }))
      assert.deepStrictEqual([error._tag, error.option], ["PoolConfigError", "handler"])
    }).pipe(Effect.scoped))
})

describe("a transfer list that postMessage refuses", () => {
  it.live("is refused at submit with a PoolConfigError on transfer; nothing runs, and the thread goes on", () =>
    Effect.gen(function*() {
      type Given = { readonly _tag: "echo"; readonly value: string; readonly transfer: ReadonlyArray<unknown> }
      const pool = yield* Threads.make<Given, unknown, never>({
        handler: jobs,
        threads: 1,
        transfer: (payload) => payload.transfer as Iterable<ArrayBuffer>
      })
      const buffer = new ArrayBuffer(8)
      const moved = new ArrayBuffer(8)
      structuredClone(moved, { transfer: [moved] })
      const wrong: ReadonlyArray<readonly [ReadonlyArray<unknown>, RegExp]> = [
        [[buffer, buffer], /lists the same item twice \(at 1\)/],
        [[{}], /gave an object that is not an ArrayBuffer at 0/],
        [[undefined], /gave undefined at 0/],
        [[new Uint8Array(buffer)], /gave a view \(Uint8Array; move its \.buffer\) at 0/],
        [[moved], /already moved \(detached\) at 0/],
        [[new SharedArrayBuffer(8)], /gave an object that is not an ArrayBuffer at 0/]
      ]
      for (const [transfer, reason] of wrong) {
        const error = yield* Effect.flip(pool.run({ _tag: "echo", value: "refused", transfer: [] }).pipe(
          Effect.andThen(pool.run({ _tag: "echo", value: "refused", transfer }))
        ))
        assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", "transfer"])
        assert.match((error as { reason: string }).reason, reason)
      }
      // A list it takes still goes: the buffer, moved.
      assert.strictEqual(yield* pool.run({ _tag: "echo", value: "moved", transfer: [buffer] }), "moved")
      assert.strictEqual(buffer.byteLength, 0, "the buffer was copied, not moved")
      const stats = yield* pool.stats
      // The refused ones were never accepted: only the echoes that went ran, and none died.
      assert.deepStrictEqual([stats.submitted, stats.succeeded, stats.died], [wrong.length + 1, wrong.length + 1, 0])
    }).pipe(Effect.scoped))
})

describe("a transfer list that names what the payload's schema already moves", () => {
  it.live("is refused at submit, as one list, naming transfer; the job that lists only its own goes", () =>
    Effect.gen(function*() {
      const pool = yield* Threads.make<Square, Area, TooBig>({
        handler: new URL("./support/schemaThreadJobs.ts", import.meta.url),
        threads: 1,
        schema,
        transfer: (square) => square.side === 2 ? [square.bytes.buffer as ArrayBuffer] : []
      })
      // The schema moves its bytes' buffer (`Transferable.Uint8Array`): listed again, postMessage would refuse both.
      const error = yield* Effect.flip(pool.run(new Square({ side: 2, bytes: new Uint8Array(8) })))
      assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", "transfer"])
      assert.match((error as { reason: string }).reason, /lists the same item twice/)
      assert.strictEqual((yield* pool.run(new Square({ side: 3, bytes: new Uint8Array(8) }))).value, 9)
      assert.strictEqual((yield* pool.stats).died, 0)
    }).pipe(Effect.scoped))
})
