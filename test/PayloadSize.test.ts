/**
 * The payload limit the store boundary keeps at `offer` (`payloadSize.ts`):
 * a payload whose JSON text is larger than the engine takes is refused by
 * name, with the limit, before the engine is asked and with nothing of the
 * batch stored. On an engine that records its calls, and on the memory
 * store. The server engines' own limits are checked against real servers in
 * `PayloadLimits.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as PgTypes from "@effect/sql-pg/PgTypes"
import { Cause, Effect, Exit, Schema } from "effect"
import * as Boundary from "../src/durable/boundary.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { memoryLimit } from "../src/durable/payloadSize.ts"
import { limitsOf } from "../src/durable/postgres/limits.ts"
import type { Runner } from "../src/durable/postgres/runner.ts"
import { makeEngine } from "../src/durable/postgres/store.ts"
import type { Offered } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { refusal } from "./support/payloadRefusal.ts"

describe("the payload limit", () => {
  it.effect("a payload over the engine's limit is refused by name and limit; the engine is never asked", () =>
    Effect.gen(function*() {
      const offered: Array<ReadonlyArray<Offered>> = []
      const engine = {
        // As an engine answers: the ids it skipped, none here.
        offer: (_queue: string, jobs: ReadonlyArray<Offered>) => Effect.sync(() => (offered.push(jobs), []))
      } as unknown as Boundary.Engine
      const store = Boundary.makeStore(engine, { engine: "test", maxPayloadBytes: 20 })
      // 20 bytes of JSON: `"` + 18 characters + `"`.
      yield* store.offer("q", [{ id: "fits", payload: "x".repeat(18) }])
      // Bytes, not characters: "é" is 2 bytes of UTF-8, so 10 of them and the quotes are 22.
      const exit = yield* Effect.exit(store.offer("q", [
        { id: "small", payload: 1 },
        { id: "big", payload: "é".repeat(10) }
      ]))
      assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), String(exit))
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error.operation, "offer")
      assert.isFalse(error.retryable, "the same payload would be refused again")
      assert.deepStrictEqual(refusal.exec(error.reason)?.slice(1), ["22", "test", "20"])
      assert.deepStrictEqual(offered.map((jobs) => jobs.map((job) => job.id)), [["fits"]])
    }))

  it.effect("the memory store takes 8 MiB of JSON, as PostgreSQL does by default: one byte more is refused", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const atLimit = "x".repeat(memoryLimit - 2)
      yield* store.offer("q", [{ id: "fits", payload: atLimit }])
      const error = yield* Effect.flip(store.offer("q", [{ id: "big", payload: `${atLimit}x` }]))
      assert.deepStrictEqual(refusal.exec(error.reason)?.slice(1), [String(memoryLimit + 1), "memory", String(memoryLimit)])
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 1, leased: 0, completed: 0, buried: 0 })
    }))

  it.effect("a durable pool's submit of a payload too large fails with that StoreError and loses nothing else", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const jobs = Durable.producer({ store, queue: "q", schema: Schema.String })
      const error = yield* Effect.flip(jobs.submit("x".repeat(memoryLimit), { id: "big" }))
      assert.strictEqual(error._tag, "StoreError")
      assert.match(error._tag === "StoreError" ? error.reason : "", refusal)
      yield* jobs.submit("fine", { id: "next" })
      assert.strictEqual((yield* store.counts("q")).ready, 1)
    }))

  it.effect("a payload whose JSON is made anew at each reading (a Proxy) is sent as it was measured, or refused", () =>
    Effect.gen(function*() {
      // The PostgreSQL engine, on a runner that keeps what it would send.
      const sent: Array<ReadonlyArray<unknown>> = []
      const run: Runner["run"] = (_sql, params) => Effect.sync(() => (sent.push(params), []))
      const runner: Runner = {
        run,
        runOwn: run,
        inTransaction: Effect.succeed(false),
        maxMessageSize: 64,
        listen: () => Effect.die("not listened")
      }
      const limits = limitsOf(runner.maxMessageSize)
      const store = Boundary.makeStore(makeEngine(runner, limits), { engine: "postgres", maxPayloadBytes: limits.payload })
      const jobs = Durable.producer({ store, queue: "q", schema: Schema.Unknown })
      // JSON data to the schema, small when it is checked and measured, ten times the limit from then on.
      let readings = 0
      const shifty = new Proxy({ text: "" }, {
        get: (target, key) => key === "text" ? readings++ < 2 ? "small" : "x".repeat(10 * limits.payload) : Reflect.get(target, key)
      })
      const exit = yield* Effect.exit(jobs.submit(shifty, { id: "shifty" }))
      assert.isTrue(Exit.isSuccess(exit) || !Cause.hasDies(exit.cause), String(exit))
      // The offer's payloads: its third parameter, a `text[]`.
      const texts = sent.flatMap((params) => (params[2] as PgTypes.Parameter).value as ReadonlyArray<string>)
      if (Exit.isSuccess(exit)) assert.lengthOf(texts, 1)
      for (const text of texts) assert.isAtMost(Buffer.byteLength(text), limits.payload, "a payload over the limit was sent")
    }))
})
