/**
 * The Redis store tells, on connect, when its server's configuration could
 * drop jobs (a restart without persistence, eviction under memory
 * pressure), naming the setting; it says nothing of a server that keeps
 * them; and a server that refuses `CONFIG` (as a managed Redis may) is no
 * error, only a debug line. Against a real redis-server, its settings
 * changed with `CONFIG SET` between tests.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, References } from "effect"
import { createClient } from "redis"
import * as RedisStore from "../src/durable/RedisStore.ts"
import { type PlainServer, startRedisServer } from "./support/servers.ts"
import { capture, type Line } from "./support/logLines.ts"

/** Connects a store to `url` in a scope of its own, and returns what it logged (debug included). */
const connectLogging = (url: string) => {
  const { layer, lines } = capture()
  return Effect.scoped(RedisStore.make({ url })).pipe(
    Effect.as(lines),
    Effect.provide(layer),
    Effect.provideService(References.MinimumLogLevel, "All")
  )
}

/** The commands `commands` sent to the server, as its admin. */
const admin = (commands: ReadonlyArray<ReadonlyArray<string>>) =>
  Effect.promise(async () => {
    const client = createClient({ url: server!.url })
    await client.connect()
    try {
      for (const command of commands) await client.sendCommand([...command])
    } finally {
      client.destroy()
    }
  })

let server: PlainServer | undefined
beforeAll(async () => {
  // As the test support starts it: `appendonly no`, `save ""`, `maxmemory-policy noeviction`.
  server = await startRedisServer()
}, 30_000)
afterAll(() => server?.close())

const warnings = (lines: ReadonlyArray<Line>) => lines.filter((line) => line.level === "Warn")

describe("the Redis store's check of its server", () => {
  it.live("appendonly no with no save points: one warning, naming appendonly", () =>
    Effect.gen(function*() {
      yield* admin([["CONFIG", "SET", "appendonly", "no"], ["CONFIG", "SET", "save", ""]])
      const [warning, ...more] = warnings(yield* connectLogging(server!.url))
      assert.lengthOf(more, 0)
      assert.include(warning?.message, "appendonly is no and save is empty: a restart loses every job")
      assert.deepStrictEqual(warning?.annotations.settings, ["appendonly"])
      assert.strictEqual(warning?.annotations.appendonly, "no")
    }))

  it.live("snapshots only (save points, appendonly no): a warning naming appendonly, with the save points", () =>
    Effect.gen(function*() {
      yield* admin([["CONFIG", "SET", "appendonly", "no"], ["CONFIG", "SET", "save", "900 1"]])
      const [warning, ...more] = warnings(yield* connectLogging(server!.url))
      assert.lengthOf(more, 0)
      assert.include(warning?.message, "appendonly is no: a restart loses the jobs stored since the last snapshot (save '900 1')")
      assert.deepStrictEqual(warning?.annotations.settings, ["appendonly"])
    }))

  it.live("an eviction policy: a warning naming maxmemory-policy", () =>
    Effect.gen(function*() {
      yield* admin([
        ["CONFIG", "SET", "appendonly", "yes"],
        ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]
      ])
      const [warning, ...more] = warnings(yield* connectLogging(server!.url))
      assert.lengthOf(more, 0)
      assert.include(warning?.message, "maxmemory-policy is allkeys-lru: a full server deletes keys, jobs included")
      assert.deepStrictEqual(warning?.annotations.settings, ["maxmemory-policy"])
    }))

  it.live("appendonly yes and noeviction: no warning", () =>
    Effect.gen(function*() {
      yield* admin([
        ["CONFIG", "SET", "appendonly", "yes"],
        ["CONFIG", "SET", "save", ""],
        ["CONFIG", "SET", "maxmemory-policy", "noeviction"]
      ])
      const lines = yield* connectLogging(server!.url)
      assert.deepStrictEqual(warnings(lines), [])
      assert.isFalse(lines.some((line) => line.message.includes("CONFIG")), "a server that answers is not a refusal")
    }))

  it.live("a server that refuses CONFIG (a user without it, as on a managed Redis) connects; one debug line says so", () =>
    Effect.gen(function*() {
      yield* admin([
        ["CONFIG", "SET", "appendonly", "no"],
        ["ACL", "SETUSER", "app", "on", ">secret", "~*", "&*", "+@all", "-config"]
      ])
      const url = server!.url.replace("redis://", "redis://app:secret@")
      const lines = yield* connectLogging(url)
      assert.deepStrictEqual(warnings(lines), [])
      const refused = lines.filter((line) => line.message.includes("CONFIG"))
      assert.lengthOf(refused, 1)
      assert.strictEqual(refused[0]?.level, "Debug")
      assert.include(String(refused[0]?.annotations.reason), "NOPERM")
    }))
})
