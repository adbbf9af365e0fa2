/**
 * Options a store engine cannot use are a `PoolConfigError` naming the
 * option, the same from `RedisStore.make`, `PostgresStore.make`, their
 * layers and `fromUrl`: refused before any connection is tried, never a
 * defect, and never with the URL (which may hold a password) in the message.
 * No server is needed: nothing here gets as far as connecting.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Cause, Config, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { fromUrl } from "../src/durable/fromUrl.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"

const throwing = () => {
  throw new Error("a hostile getter")
}
const hostile = new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing })

/** A Proxy that throws at any touch. */
const revoked = () => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

type Make = (options: unknown) => Effect.Effect<Store, unknown, never>

const engines: ReadonlyArray<readonly [string, string, Make]> = [
  ["RedisStore.make", "redis", (options) => Effect.scoped(RedisStore.make(options as RedisStore.Options))],
  ["PostgresStore.make", "postgres", (options) => Effect.scoped(PostgresStore.make(options as PostgresStore.Options))],
  [
    "RedisStore.layer",
    "redis",
    (options) => Effect.scoped(Layer.build(RedisStore.layer(options as RedisStore.Options))) as never
  ],
  [
    "PostgresStore.layer",
    "postgres",
    (options) => Effect.scoped(Layer.build(PostgresStore.layer(options as PostgresStore.Options))) as never
  ]
]

/** Bad options for an engine whose URLs start with `scheme`, and the option each must name. */
const badOptions = (scheme: string): ReadonlyArray<readonly [string, unknown, string]> => [
  ["a port out of range", { url: `${scheme}://127.0.0.1:99999` }, "url"],
  ["port 0", { url: `${scheme}://127.0.0.1:0` }, "url"],
  ["a port that is not a number", { url: `${scheme}://secret:hunter2@127.0.0.1:abc` }, "url"],
  ["a url that is a number", { url: 42 }, "url"],
  ["a url that is an object", { url: {} }, "url"],
  ["a url that is null", { url: null }, "url"],
  ["no url", {}, "url"],
  ["a url of another engine", { url: "ftp://127.0.0.1:21" }, "url"],
  ["a url that is no URL", { url: "not a url" }, "url"],
  ["a Redacted url with a bad port", { url: Redacted.make(`${scheme}://secret:hunter2@127.0.0.1:99999`) }, "url"],
  ["a url whose getter throws", Object.defineProperty({}, "url", { get: throwing }), "url"],
  ["a url that is a revoked Proxy", { url: revoked() }, "url"],
  ["options null", null, "options"],
  ["options a string", `${scheme}://127.0.0.1:1`, "options"],
  ["options an array", [], "options"],
  ["options a Proxy whose traps throw", hostile, "url"],
  ["a negative connectTimeout", { url: `${scheme}://127.0.0.1:1`, connectTimeout: -1 }, "connectTimeout"],
  ["an infinite connectTimeout", { url: `${scheme}://127.0.0.1:1`, connectTimeout: "Infinity" }, "connectTimeout"],
  ["a connectTimeout of Infinity ms", { url: `${scheme}://127.0.0.1:1`, connectTimeout: Infinity }, "connectTimeout"],
  ["a malformed commandTimeout", { url: `${scheme}://127.0.0.1:1`, commandTimeout: "soon" }, "commandTimeout"],
  ["a zero commandTimeout", { url: `${scheme}://127.0.0.1:1`, commandTimeout: 0 }, "commandTimeout"]
]

const expectConfigError = (effect: Effect.Effect<unknown, unknown>, option: string) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
    const error = (yield* Effect.flip(exit)) as { readonly _tag: string; readonly option: string; readonly message: string }
    assert.strictEqual(error._tag, "PoolConfigError", String(error))
    assert.strictEqual(error.option, option, error.message)
    assert.notInclude(error.message, "hunter2", "the password is in the message")
  })

describe("store options the engines cannot use", () => {
  it.live("RedisStore.make with a database that is not a number: PoolConfigError naming url, from the client's own check", () =>
    expectConfigError(Effect.scoped(RedisStore.make({ url: "redis://secret:hunter2@127.0.0.1:6379/abc" })), "url"))

  for (const [name, scheme, make] of engines) {
    for (const [what, options, option] of badOptions(scheme)) {
      it.live(`${name} with ${what}: PoolConfigError naming ${option}`, () => expectConfigError(make(options), option))
    }
  }

  const layersConfig = [
    ["RedisStore.layerConfig", "redis", RedisStore.layerConfig],
    ["PostgresStore.layerConfig", "postgres", PostgresStore.layerConfig]
  ] as const
  for (const [name, scheme, layerConfig] of layersConfig) {
    it.live(`${name} with a connectTimeout read from the environment as Infinity ("1e309"): PoolConfigError naming connectTimeout`, () =>
      expectConfigError(
        Effect.scoped(Layer.build(layerConfig({
          url: Config.Redacted("STORE_URL"),
          connectTimeout: Config.Number("STORE_CONNECT_TIMEOUT")
        }))).pipe(Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnv({ env: { STORE_URL: `${scheme}://127.0.0.1:1`, STORE_CONNECT_TIMEOUT: "1e309" } })
        )),
        "connectTimeout"
      ))
  }

  for (const [what, url] of [
    ["a Redis port out of range", "redis://127.0.0.1:99999"],
    ["a PostgreSQL port out of range", "postgres://postgres@127.0.0.1:99999/postgres"],
    ["a Redis port that is not a number", "rediss://secret:hunter2@127.0.0.1:x"]
  ] as const) {
    it.live(`fromUrl with ${what}: the engine's own PoolConfigError naming url`, () =>
      expectConfigError(Effect.scoped(fromUrl(url)), "url"))
  }

  for (const [what, url] of [["a number", 42], ["null", null], ["an object", {}]] as const) {
    it.live(`fromUrl with ${what}: PoolConfigError naming url`, () =>
      expectConfigError(Effect.scoped(fromUrl(url as unknown as string)), "url"))
  }
})

describe("a PostgreSQL URL the driver cannot read is a bad option, not a connection tried until connectTimeout", () => {
  // Nothing listens on port 1: a URL that got past the check would be a
  // StoreError ("connect"), after connectTimeout.
  const at = "postgres://secret:hunter2@127.0.0.1:1/app"
  const unreadable: ReadonlyArray<readonly [string, string]> = [
    ["an sslmode the driver does not know", `${at}?sslmode=bogus`],
    ["a connect_timeout that is not a number of seconds", `${at}?connect_timeout=abc`],
    ["a negative connect_timeout", `${at}?connect_timeout=-1`],
    ["a port parameter out of range", `${at}?port=0`],
    ["a bad percent-escape in the user", "postgres://%zz:hunter2@127.0.0.1:1/app"],
    ["a bad percent-escape in the password", "postgres://secret:hunter2%zz@127.0.0.1:1/app"],
    ["a bad percent-escape in the database", "postgres://secret:hunter2@127.0.0.1:1/a%zz"],
    ["a NUL in the startup options", `${at}?options=%00`]
  ]
  const noClient = {} as PgClient.PgClient
  for (const [what, url] of unreadable) {
    it.live(`make with ${what}: PoolConfigError naming url, saying what the driver read`, () =>
      Effect.gen(function*() {
        yield* expectConfigError(Effect.scoped(PostgresStore.make({ url })), "url")
        const error = yield* Effect.flip(Effect.scoped(PostgresStore.make({ url })))
        assert.include(error.message, "is refused by the PostgreSQL client")
      }))
  }
  const [what, url] = unreadable[0]!
  for (
    const [entry, run, option] of [
      ["PostgresStore.layer", Effect.scoped(Layer.build(PostgresStore.layer({ url }))), "url"],
      ["PostgresStore.migrate", PostgresStore.migrate({ url }), "url"],
      ["fromUrl", Effect.scoped(fromUrl(url)), "url"],
      ["fromUrl with a Redacted url", Effect.scoped(fromUrl(Redacted.make(url))), "url"],
      ["make's listenUrl", Effect.scoped(PostgresStore.make({ url: at, listenUrl: url })), "listenUrl"],
      [
        "fromClient's listenUrl",
        Effect.scoped(PostgresStore.fromClient({ listenUrl: url })).pipe(Effect.provideService(PgClient.PgClient, noClient)),
        "listenUrl"
      ]
    ] as const
  ) {
    it.live(`${entry} with ${what}: PoolConfigError naming ${option}`, () => expectConfigError(run, option))
  }
})

describe("fromUrl with a URL of no known engine", () => {
  for (
    const url of ["http://secret:hunter2@example.com", " memory:", "memory", "not a url", "", "mysql://secret:hunter2@127.0.0.1/app"]
  ) {
    it.live(`${JSON.stringify(url)}: StoreError ("connect") that is not retryable, saying which engines there are`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(fromUrl(url)))
        assert.instanceOf(error, StoreError)
        if (!(error instanceof StoreError)) return
        assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
        assert.include(error.reason, "use redis://, postgres:// or memory:")
        assert.notInclude(error.message, "hunter2", "the password is in the message")
      }))
  }
})

describe("the PostgreSQL store's other entry points check their options the same way", () => {
  const url = "postgres://secret:hunter2@127.0.0.1:5432/app"
  // Never used: every option here is refused before the client is asked.
  const noClient = {} as PgClient.PgClient
  const onClient = (options: unknown) =>
    Effect.scoped(PostgresStore.fromClient(options as PostgresStore.ClientOptions)).pipe(
      Effect.provideService(PgClient.PgClient, noClient)
    )

  for (
    const [what, run, option] of [
      ["make with migrate: \"yes\"", Effect.scoped(PostgresStore.make({ url, migrate: "yes" as unknown as boolean })), "migrate"],
      ["fromClient with migrate: 1", onClient({ migrate: 1 }), "migrate"],
      ["fromClient with a negative commandTimeout", onClient({ commandTimeout: -1 }), "commandTimeout"],
      ["fromClient with an infinite connectTimeout", onClient({ connectTimeout: "Infinity" }), "connectTimeout"],
      ["migrate with an infinite connectTimeout", PostgresStore.migrate({ url, connectTimeout: "Infinity" }), "connectTimeout"],
      ["fromClient with null options", onClient(null), "options"],
      ["migrate with a port out of range", PostgresStore.migrate({ url: "postgres://secret:hunter2@127.0.0.1:99999/app" }), "url"],
      ["make with a listenUrl of another engine", Effect.scoped(PostgresStore.make({ url, listenUrl: "redis://127.0.0.1:6379" })), "listenUrl"],
      ["make with a listenUrl that is null", Effect.scoped(PostgresStore.make({ url, listenUrl: null as unknown as string })), "listenUrl"],
      [
        "make with a Redacted listenUrl with a bad port",
        Effect.scoped(PostgresStore.make({ url, listenUrl: Redacted.make("postgres://secret:hunter2@127.0.0.1:99999/app") })),
        "listenUrl"
      ],
      ["fromClient with a listenUrl that is a number", onClient({ listenUrl: 5432 }), "listenUrl"],
      ["make with a listenUrl that is a revoked Proxy", Effect.scoped(PostgresStore.make({ url, listenUrl: revoked() as never })), "listenUrl"]
    ] as const
  ) {
    it.live(`${what}: PoolConfigError naming ${option}`, () => expectConfigError(run, option))
  }
})

describe("StoreError's message", () => {
  it("says what the store failed to do in words, for an operation of the contract and for any other", () => {
    assert.strictEqual(
      new StoreError({ operation: "counts", reason: "no answer" }).message,
      "the job store failed to count the queue: no answer"
    )
    assert.strictEqual(new StoreError({ operation: "connect", reason: "refused" }).message, "the job store failed to connect: refused")
  })
})
