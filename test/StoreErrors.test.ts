/**
 * Whether a store's failure is worth retrying, on real servers: a lost
 * connection, a timeout, a server busy or out of connections is
 * (`retryable: true`); a permanent refusal, which the same call would meet
 * again, is not (`retryable: false`). Each error keeps what the engine's
 * client failed with as its `cause`.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import * as PgConnection from "@effect/sql-pg/PgConnection"
import { Duration, Effect, Fiber, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError
} from "redis"
import * as PostgresErrors from "../src/durable/postgres/errors.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisErrors from "../src/durable/redis/errors.ts"
import type { Connection as RedisConnection } from "../src/durable/redis/connection.ts"
import { makeEngine as redisEngine } from "../src/durable/redis/store.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import { StoreError } from "../src/durable/Store.ts"
import { freePort, startPostgres, startRedis } from "./support/servers.ts"
import { pgRows, redisAdmin, sharedServers } from "./support/admin.ts"
import { start } from "./support/runMain.ts"
import { connecting } from "./support/storeContract.ts"

const { postgres, redis } = sharedServers()

let lastQueue = 0
const queueName = () => `errors-${process.pid}-${Date.now()}-${++lastQueue}`
const minute = Duration.minutes(1)
const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `j${i}`, payload: i }))

describe("StoreError", () => {
  it("is retryable unless it says otherwise, as every StoreError was taken to be before it could say", () => {
    assert.isTrue(new StoreError({ operation: "claim", reason: "connection refused" }).retryable)
    assert.isFalse(new StoreError({ operation: "claim", reason: "no", retryable: false }).retryable)
  })
})

describe("Redis: retryable or not", () => {

  it("a mistake in code (a TypeError, RangeError, SyntaxError, ReferenceError) is not retryable; the client's and Node's connection errors are", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const connectionErrors = [
      new ConnectionTimeoutError(),
      new SocketTimeoutError(100),
      new ClientClosedError(),
      new ClientOfflineError(),
      new SocketClosedUnexpectedlyError(),
      new ReconnectStrategyError(new Error("gave up"), refused),
      refused,
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      new AggregateError([refused, Object.assign(new Error("connect ECONNREFUSED ::1:1"), { code: "ECONNREFUSED" })])
    ]
    for (const error of connectionErrors) assert.isTrue(RedisErrors.isRetryable(error), `${error.constructor.name}: ${error.message}`)
    const mistakes = [
      new TypeError(`"arguments[3]" must be of type "string | Buffer", got number instead.`),
      new RangeError("Invalid string length"),
      new SyntaxError("Unexpected token"),
      new ReferenceError("x is not defined")
    ]
    for (const error of mistakes) assert.isFalse(RedisErrors.isRetryable(error), `${error.constructor.name}: ${error.message}`)
  })

  it.live("a command built of a value that is not text (the client's TypeError) is a StoreError not retryable, keeping the TypeError as cause", () =>
    Effect.gen(function*() {
      const client = yield* redisAdmin(redis().url)
      const connection: RedisConnection = { client, lastError: () => undefined, connected: () => {}, destroy: () => {} }
      // The store's boundary lets only text through: past it, a token of another type is a mistake of ours.
      const lease = { id: "x", token: 42 as unknown as string }
      const error = yield* Effect.flip(redisEngine(connection).complete(queueName(), [lease]))
      assert.deepStrictEqual([error.operation, error.retryable], ["complete", false])
      assert.instanceOf(error.cause, TypeError)
    }))

  it.live("a key of the wrong type (WRONGTYPE) is not retryable, and keeps the server's reply as cause", () =>
    Effect.gen(function*() {
      const store = yield* RedisStore.make({ url: redis().url })
      const queue = queueName()
      const client = yield* redisAdmin(redis().url)
      yield* Effect.promise(() => client.set(`ewp:{${queue}}:ready`, "not a sorted set"))
      const error = yield* Effect.flip(store.offer(queue, jobs(1)))
      assert.deepStrictEqual([error.operation, error.retryable], ["offer", false])
      assert.match(error.reason, /^WRONGTYPE/)
      assert.instanceOf(error.cause, ErrorReply)
    }))

  it.live("a payload that is not JSON is no error of the claim: its job alone is dead-lettered", () =>
    Effect.gen(function*() {
      const store = yield* RedisStore.make({ url: redis().url })
      const queue = queueName()
      const client = yield* redisAdmin(redis().url)
      // A job written behind the store's back, not as its scripts write one.
      yield* Effect.promise(() => client.hSet(`ewp:{${queue}}:payload`, "x", "{not json"))
      yield* Effect.promise(() => client.zAdd(`ewp:{${queue}}:ready`, { score: 0, value: "x" }))
      assert.deepStrictEqual(yield* store.claim(queue, 1, minute), [])
      const [buried] = yield* store.buried(queue, 1)
      assert.deepStrictEqual([buried?.id, buried?.payload], ["x", undefined])
      assert.match(buried!.error, /^the payload of x is not JSON/)
    }))

  it.live("a lost connection and a server that does not answer in time are retryable", () =>
    Effect.gen(function*() {
      const server = yield* startRedis()
      const store = yield* RedisStore.make({ url: server.url, commandTimeout: "300 millis" })
      const queue = queueName()
      yield* store.offer(queue, jobs(1))
      server.pause()
      const late = yield* Effect.flip(store.counts(queue)).pipe(Effect.ensuring(Effect.sync(server.resume)))
      assert.deepStrictEqual([late.reason, late.retryable], ["no answer within 300 ms", true])
      yield* server.kill()
      const lost = yield* Effect.flip(store.counts(queue))
      assert.deepStrictEqual([lost.operation, lost.retryable], ["counts", true])
      assert.isDefined(lost.cause)
    }), 30_000)

  it.live("a server busy running a script (BUSY) is retryable", () =>
    Effect.gen(function*() {
      const server = yield* startRedis()
      const store = yield* RedisStore.make({ url: server.url })
      const [runner, killer] = [yield* redisAdmin(server.url), yield* redisAdmin(server.url)]
      yield* Effect.promise(() => killer.configSet("busy-reply-threshold", "50"))
      // A script that loops until it is killed: the server answers others BUSY meanwhile.
      const looping = runner.sendCommand(["EVAL", "while true do end", "0"]).catch(() => undefined)
      yield* Effect.sleep(200)
      const error = yield* Effect.flip(store.counts(queueName())).pipe(
        Effect.ensuring(Effect.promise(() => killer.sendCommand(["SCRIPT", "KILL"]).catch(() => undefined)))
      )
      yield* Effect.promise(() => looping)
      assert.match(error.reason, /^BUSY/)
      assert.isTrue(error.retryable)
      // Once the script is killed, the same store goes on.
      yield* store.counts(queueName())
    }), 30_000)

  it.live("a server that cannot be reached is a retryable connect failure; one that wants a password (NOAUTH, WRONGPASS), not", () =>
    Effect.gen(function*() {
      const server = yield* startRedis()
      const client = yield* redisAdmin(server.url)
      yield* Effect.promise(() => client.configSet("requirepass", "secret"))
      const refused = yield* Effect.flip(connecting(RedisStore.make({ url: server.url })))
      assert.deepStrictEqual([refused.operation, refused.retryable], ["connect", false])
      assert.match(refused.reason, /NOAUTH/)
      const wrong = yield* Effect.flip(
        connecting(RedisStore.make({ url: server.url.replace("redis://", "redis://default:wrong@"), connectTimeout: "2 seconds" }))
      )
      assert.deepStrictEqual([wrong.operation, wrong.retryable], ["connect", false])
      assert.match(wrong.reason, /WRONGPASS/)
      yield* server.kill()
      const down = yield* Effect.flip(connecting(RedisStore.make({ url: server.url, connectTimeout: "300 millis" })))
      assert.deepStrictEqual([down.operation, down.retryable], ["connect", true])
    }), 30_000)
})

describe("Redis: a refusal at the handshake", () => {
  it.live("a database index the server refuses (SELECT 99) is not retryable, and the server is asked once, not until connectTimeout", () =>
    Effect.gen(function*() {
      const admin = yield* redisAdmin(redis().url)
      const received = Effect.map(
        Effect.promise(() => admin.info("stats")),
        (stats) => Number(/total_connections_received:(\d+)/.exec(stats)?.[1])
      )
      const before = yield* received
      const error = yield* Effect.flip(connecting(RedisStore.make({ url: `${redis().url}/99` })))
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.include(error.reason, "DB index is out of range")
      assert.instanceOf(error.cause, ErrorReply)
      // One connection, its SELECT refused: no reconnection after it.
      assert.strictEqual((yield* received) - before, 1)
    }))
})

describe("Redis: a certificate this process does not trust", () => {
  const fixture = (name: string) => fileURLToPath(new URL(`./support/tls/${name}`, import.meta.url))

  it.live("fails the start at its first answer, not retryable (a running store waits it out); trusted (NODE_EXTRA_CA_CERTS), the store works over TLS", () =>
    Effect.gen(function*() {
      const tlsPort = yield* Effect.promise(freePort)
      yield* startRedis({
        args: [
          "--tls-port", String(tlsPort),
          "--tls-cert-file", fixture("selfSigned.crt"),
          "--tls-key-file", fixture("selfSigned.key"),
          "--tls-ca-cert-file", fixture("selfSigned.crt"),
          "--tls-auth-clients", "no"
        ]
      })
      // The TLS port behind a proxy that counts the connections made to it.
      let connections = 0
      const proxy = Net.createServer((client) => {
        connections++
        const upstream = Net.connect(tlsPort, "127.0.0.1")
        client.pipe(upstream).pipe(client)
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => client.destroy())
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))),
        () => Effect.sync(() => proxy.close())
      )
      const url = `rediss://127.0.0.1:${(proxy.address() as Net.AddressInfo).port}`
      const error = yield* Effect.flip(connecting(RedisStore.make({ url, connectTimeout: "20 seconds" })))
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.include(error.reason, "self-signed certificate")
      // One connection, its certificate refused: no reconnection after it.
      assert.strictEqual(connections, 1)
      // The same failure to a store already running: an outage it waits out (a certificate renewed late).
      assert.isTrue(RedisErrors.isRetryable(error.cause))
      const store = fileURLToPath(new URL("../src/durable/RedisStore.ts", import.meta.url))
      const script = `import * as RedisStore from ${JSON.stringify(store)}
import { Effect } from "effect"
const counts = await Effect.runPromise(Effect.scoped(Effect.flatMap(RedisStore.make({ url: ${JSON.stringify(url)} }), (store) =>
  Effect.andThen(store.offer("tls", [{ id: "a", payload: 1 }]), store.counts("tls")))))
console.log(JSON.stringify(counts))`
      const { code, stderr, stdout } = yield* Effect.promise(() =>
        start([], {
          command: [process.execPath, "--input-type=module", "-e", script],
          env: { NODE_EXTRA_CA_CERTS: fixture("selfSigned.crt") }
        }).exited
      )
      assert.strictEqual(code, 0, stderr)
      // Its last line: the store warns first of a server without persistence.
      assert.deepStrictEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), { ready: 1, leased: 0, completed: 0, buried: 0 })
    }), 30_000)
})

describe("Redis: a server out of connections at the handshake", () => {
  it.live("is tried again until connectTimeout, and the store starts once a connection is free", () =>
    Effect.scoped(Effect.gen(function*() {
      // One client at most, and a password: the refusal comes as an error reply to the handshake's AUTH.
      const server = yield* startRedis()
      yield* Effect.scoped(Effect.gen(function*() {
        const admin = yield* redisAdmin(server.url)
        yield* Effect.promise(() => admin.configSet({ maxclients: "1", requirepass: "pw" }))
      }))
      const url = server.url.replace("redis://", "redis://:pw@")
      const hog = Net.connect(server.port, "127.0.0.1")
      yield* Effect.promise(() => new Promise<void>((resolve) => hog.once("connect", () => resolve())))
      const starting = yield* Effect.forkChild(Effect.scoped(connecting(RedisStore.make({ url, connectTimeout: "20 seconds" }))))
      // The server refuses meanwhile ("ERR max number of clients reached"): a refusal for now, not for good.
      yield* Effect.sleep("500 millis")
      assert.isUndefined(starting.pollUnsafe(), "make gave up on a server out of connections")
      hog.destroy()
      const exit = yield* Fiber.await(starting)
      assert.strictEqual(exit._tag, "Success", String(exit))
    })), 40_000)
})

describe("PostgreSQL: retryable or not", () => {
  const as = (role: string) => postgres().url.replace(/\/\/[^@/]*@/, `//${role}@`)

  /**
   * A login role `name` (with `options`, such as a connection limit) on the
   * schema made by its owner, at the newest version: it may read the
   * migrations table, nothing more. Its URL.
   */
  const role = (name: string, options = "") =>
    Effect.gen(function*() {
      yield* PostgresStore.make({ url: postgres().url })
      yield* pgRows(postgres().url, `DROP ROLE IF EXISTS ${name}`)
      yield* pgRows(postgres().url, `CREATE ROLE ${name} LOGIN ${options}`)
      yield* pgRows(postgres().url, `GRANT SELECT ON ${PostgresStore.migrationsTable} TO ${name}`)
      return as(name)
    })

  it.live("text PostgreSQL cannot store is not retryable", () =>
    Effect.gen(function*() {
      const store = yield* PostgresStore.make({ url: postgres().url })
      const error = yield* Effect.flip(store.offer(queueName(), [{ id: "nul", payload: "a\u0000b" }]))
      assert.deepStrictEqual([error.operation, error.retryable], ["offer", false])
    }))

  it.live("a database that does not exist is not retryable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(connecting(PostgresStore.make({ url: postgres().url.replace(/\/postgres$/, "/nope") })))
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.isTrue(isSqlError(error.cause), "the driver's error is the cause")
    }))

  it.live("a right the role lacks is not retryable; a role on a schema made for it connects without creating", () =>
    Effect.gen(function*() {
      const store = yield* PostgresStore.make({ url: yield* role("ewp_reader") })
      const error = yield* Effect.flip(store.offer(queueName(), jobs(1)))
      assert.deepStrictEqual([error.operation, error.retryable], ["offer", false])
      assert.include(error.reason, "permission denied")
    }))

  it.live("URL parameters the driver reads pass its check: the store connects with them", () =>
    Effect.gen(function*() {
      for (
        const query of [
          "sslmode=disable",
          // The test server has no TLS: the driver falls back to plaintext.
          "sslmode=prefer",
          "sslmode=allow",
          "application_name=ewp-test",
          "options=-c%20statement_timeout%3D60000",
          "connect_timeout=10",
          "connect_timeout=0",
          // Ignored, as libpq ignores what it does not know.
          "target_session_attrs=any"
        ]
      ) {
        const store = yield* PostgresStore.make({ url: `${postgres().url}?${query}` }).pipe(
          Effect.mapError((error) => new Error(`${query}: ${error.message}`))
        )
        yield* store.counts(queueName())
      }
    }))

  it.live("sslmode=require and verify-full pass the URL check: a server without TLS is a connect failure, not a bad option, and not retryable", () =>
    Effect.gen(function*() {
      for (const mode of ["require", "verify-ca", "verify-full"]) {
        // A connectTimeout past the test's own limit (30 s): tried again until it, the test would fail.
        const error = yield* Effect.flip(
          connecting(PostgresStore.make({ url: `${postgres().url}?sslmode=${mode}`, connectTimeout: "40 seconds" }))
        )
        assert.deepStrictEqual([error.operation, error.retryable], ["connect", false], mode)
        assert.include(error.reason, "TLS", mode)
        // The same failure to a store already running: an outage it waits out (a server restarted without TLS).
        assert.isTrue(PostgresErrors.storeError("claim")(error.cause as SqlError).retryable, mode)
      }
    }))

  it.live("a certificate this process does not trust (verify-full, a self-signed one) is a connect failure, not retryable; a client that trusts it works over TLS", () =>
    Effect.gen(function*() {
      const fixture = (name: string) => fileURLToPath(new URL(`./support/tls/${name}`, import.meta.url))
      const server = yield* startPostgres({ tls: { cert: fixture("selfSigned.crt"), key: fixture("selfSigned.key") } })
      // A connectTimeout past the test's own limit (60 s): tried again until it, the test would fail.
      const error = yield* Effect.flip(
        connecting(PostgresStore.make({ url: `${server.url}?sslmode=verify-full`, connectTimeout: "90 seconds" }))
      )
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", false])
      assert.include(error.reason, "self-signed certificate")
      // The same failure to a store already running: an outage it waits out (a certificate renewed late).
      assert.isTrue(PostgresErrors.storeError("claim")(error.cause as SqlError).retryable)
      // The same server on a client that trusts its certificate: the store works, over TLS.
      const client = yield* PgClient.make({
        url: Redacted.make(server.url),
        ssl: { ca: Fs.readFileSync(fixture("selfSigned.crt"), "utf8") }
      }).pipe(Effect.provide(Reactivity.layer))
      const store = yield* PostgresStore.fromClient().pipe(Effect.provideService(PgClient.PgClient, client))
      yield* store.offer(queueName(), jobs(1))
      const [[encrypted]] = yield* pgRows(server.url, "SELECT count(*)::int FROM pg_stat_ssl WHERE ssl")
      assert.isAbove(encrypted as number, 0, "no connection used TLS")
    }), 60_000)

  it.live("a server out of connections (53300) is retryable: make tries again until connectTimeout", () =>
    Effect.gen(function*() {
      const url = yield* role("ewp_single", "CONNECTION LIMIT 1")
      // The role's one connection, taken.
      yield* PgConnection.make({ url: Redacted.make(url) })
      const started = Date.now()
      const error = yield* Effect.flip(connecting(PostgresStore.make({ url, connectTimeout: 500 })))
      assert.isAtLeast(Date.now() - started, 450, "gave up before connectTimeout")
      assert.deepStrictEqual([error.operation, error.retryable], ["connect", true])
      assert.include(error.reason, "too many connections")
    }))

  it.live("a lost connection and a server that does not answer in time are retryable", () =>
    Effect.gen(function*() {
      const server = yield* startPostgres()
      const store = yield* PostgresStore.make({ url: server.url, commandTimeout: 300 })
      const queue = queueName()
      yield* store.offer(queue, jobs(1))
      server.pause()
      const late = yield* Effect.flip(store.counts(queue)).pipe(
        Effect.ensuring(Effect.sync(server.resume)),
        Effect.forkChild,
        Effect.flatMap(Fiber.join)
      )
      assert.deepStrictEqual([late.reason, late.retryable], ["no answer within 300 ms", true])
      yield* server.kill()
      const lost = yield* Effect.flip(store.claim(queue, 1, minute))
      assert.deepStrictEqual([lost.operation, lost.retryable], ["claim", true])
      assert.isTrue(isSqlError(lost.cause), "the driver's error is the cause")
    }), 60_000)
})
