/**
 * A `Store` on Redis: jobs survive a crash or a deploy of the workers (and of
 * Redis too, when it persists: AOF or RDB), and any number of processes can
 * share a queue.
 *
 * Each operation is one Lua script, so it is atomic on the server and costs a
 * single round trip however many jobs it carries; concurrent operations of
 * one client are pipelined on its connection. Time is the server's
 * (`TIME`), so the workers' clocks need not agree. A queue's keys share the
 * hash tag `{queue}` and each script names every key it touches, so the
 * layout fits a cluster (one queue per node), though this client talks to a
 * single server.
 *
 * Keys of a queue `q`, all under `ewp:{q}:`:
 *
 * - `payload`  HASH  id -> JSON payload, of every job not completed
 * - `ready`    LIST  ids ready now, oldest first
 * - `delayed`  ZSET  ids waiting for a retry, scored by when they are ready (ms)
 * - `leased`   ZSET  ids leased to a worker, scored by when the lease runs out (ms)
 * - `token`    HASH  id -> the token of its lease
 * - `attempts` HASH  id -> attempts counted so far, of every job not completed
 * - `done`     SET   ids completed (kept, so that an id is never stored twice
 *                    and counts are exact; the payload is dropped)
 * - `buried`   LIST  ids dead-lettered, oldest first
 * - `errors`   HASH  id -> why it was buried
 *
 * The connection: `make` fails with `StoreError({ operation: "connect" })`
 * when Redis does not answer within `connectTimeout` (retrying until then,
 * for a server that is still starting). Once connected, a lost connection
 * makes operations fail at once (nothing is buffered while offline) while the
 * client reconnects in the background, with backoff, for as long as the
 * scope is open.
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import * as RedisStore from "effect-worker-pool/RedisStore"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* RedisStore.make({ url: "redis://127.0.0.1:6379" })
 *   yield* store.offer("emails", [{ id: "welcome-42", payload: { to: "ada@example.com" } }])
 *   const jobs = yield* store.claim("emails", 10, Duration.seconds(30))
 *   yield* store.complete("emails", jobs)
 * }))
 * ```
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { createHash, randomUUID } from "node:crypto"
import { createClient } from "redis"
import { isInvalid } from "../internal/options.ts"
import { PoolConfigError } from "../Pool.ts"
import * as Checks from "./options.ts"
import { type Buried, type Claimed, type Counts, type Lease, Store, StoreError } from "./Store.ts"

/** How to reach Redis. */
export interface Options {
  /**
   * `redis[s]://[[user][:password]@]host[:port][/db]`, as a string or
   * `Redacted` (so that a password read from `Config.Redacted` stays out of
   * logs). Anything else is a `PoolConfigError` naming `url`.
   */
  readonly url: string | Redacted.Redacted<string>
  /**
   * How long `make` waits for Redis to answer before it fails; also the limit
   * of each (re)connection attempt. Default 5 seconds.
   */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * How long an operation waits for Redis's answer before it fails with a
   * `StoreError`. A lost connection fails operations at once; this bounds
   * the wait on a server that hangs, or a network that drops packets without
   * resetting the connection. An operation that timed out may still happen
   * once the server answers again (every operation is safe either way: a
   * lease nobody saw runs out). Default 5 seconds.
   */
  readonly commandTimeout?: Duration.Input | undefined
}

/** The options, checked: a URL the client takes, timeouts in milliseconds (maybe `Infinity`). */
interface Settings {
  readonly url: string
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
}

const millisOf = (duration: Duration.Duration): number => Math.ceil(Duration.toMillis(duration))

/** Checks the options; a bad one is named, never a defect or a failed connection. */
const settings = (options: Options): Settings | PoolConfigError => {
  const checked = Checks.checked("options", (): Settings => {
    const source = Checks.record("options", options)
    const read = (key: string) => Checks.field(source, key, key)
    const url = Checks.storeUrl(read("url"), ["redis", "rediss"])
    const fallback = Duration.millis(defaultTimeoutMs)
    return {
      url,
      connectTimeoutMs: millisOf(Checks.timeoutOption("connectTimeout", read("connectTimeout"), fallback)),
      commandTimeoutMs: millisOf(Checks.timeoutOption("commandTimeout", read("commandTimeout"), fallback))
    }
  })
  return isInvalid(checked) ? new PoolConfigError(checked) : checked
}

/**
 * Connects to Redis and gives a `Store` on it. The connection is closed when
 * the scope closes. Bad options (a malformed `url`, a negative timeout) fail
 * with `PoolConfigError` naming the option; a server that cannot be reached
 * with `StoreError` ("connect").
 */
export const make = (options: Options): Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope> =>
  Effect.suspend(() => {
    const checked = settings(options)
    return checked instanceof PoolConfigError ? Effect.fail(checked) : connect(checked)
  })

/**
 * The store as a layer: the `Store` service, connected when the layer is
 * built and closed when it is released.
 *
 * ```ts
 * import { Redacted } from "effect"
 * import * as RedisStore from "effect-worker-pool/RedisStore"
 *
 * const StoreLive = RedisStore.layer({ url: Redacted.make("redis://127.0.0.1:6379") })
 * ```
 */
export const layer = (options: Options): Layer.Layer<Store, StoreError | PoolConfigError> =>
  Layer.effect(Store, make(options))

/**
 * The store as a layer, its options read from `Config`, as `PgClient.layerConfig`
 * reads its own.
 *
 * ```ts
 * import { Config } from "effect"
 * import * as RedisStore from "effect-worker-pool/RedisStore"
 *
 * const StoreLive = RedisStore.layerConfig({ url: Config.Redacted("REDIS_URL") })
 * ```
 */
export const layerConfig = (
  config: Config.Wrap<Options>
): Layer.Layer<Store, StoreError | PoolConfigError | Config.ConfigError> =>
  Layer.effect(Store, Effect.flatMap(Config.unwrap(config), make))

const connect = ({ commandTimeoutMs, connectTimeoutMs: timeoutMs, url }: Settings) =>
  Effect.gen(function*() {
    const connection = yield* Effect.acquireRelease(
      Effect.try({
        try: () => openClient(url, timeoutMs),
        // The client reads more of the URL than `storeUrl` does (the database number, say).
        catch: (cause) => new PoolConfigError({ option: "url", reason: `is refused by the Redis client: ${describe(cause)}` })
      }),
      (connection) => Effect.sync(() => connection.destroy())
    )
    yield* Effect.tryPromise({
      try: () => connection.client.connect(),
      catch: (cause) => connectError(connection, describe(cause))
    }).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(timeoutMs),
        orElse: () => Effect.fail(connectError(connection, `no answer within ${timeoutMs} ms`))
      }),
      // Stop the reconnection loop now, not when the caller's scope closes.
      Effect.tapError(() => Effect.sync(() => connection.destroy()))
    )
    connection.connected()
    return makeStore(connection, commandTimeoutMs)
  })

// ---------------------------------------------------------------------------
// Connection

/** The node-redis client of a store, with what the store needs to know about it. */
interface Connection {
  readonly client: ReturnType<typeof createClient>
  /** The last error the client reported (a failed reconnection, a lost socket), for error messages. */
  readonly lastError: () => string | undefined
  /** From now on, reconnect forever instead of giving up at the connect deadline. */
  readonly connected: () => void
  /** Closes the connection now, whatever its state; idempotent. */
  readonly destroy: () => void
}

const defaultTimeoutMs = 5_000
/** Reconnection backoff: doubles from `backoffBaseMs`, up to `backoffMaxMs`, plus up to `jitterMs`. */
const backoffBaseMs = 50
const backoffMaxMs = 2_000
const jitterMs = 100

const openClient = (url: string, timeoutMs: number): Connection => {
  const startedAt = Date.now()
  let isConnected = false
  let lastError: string | undefined
  const client = createClient({
    url,
    // Commands sent while the connection is down fail at once, instead of
    // waiting in memory for a server that may never come back.
    disableOfflineQueue: true,
    socket: {
      // With an infinite timeout, `make` waits for Redis forever, each attempt bounded by the default.
      connectTimeout: Number.isFinite(timeoutMs) ? timeoutMs : defaultTimeoutMs,
      reconnectStrategy: (retries) => {
        const backoff = Math.min(backoffBaseMs * 2 ** retries, backoffMaxMs) + Math.floor(Math.random() * jitterMs)
        if (isConnected) return backoff
        // Connecting for the first time: retry (the server may be starting)
        // until the deadline, then give up so that `make` fails.
        const remaining = startedAt + timeoutMs - Date.now()
        return remaining > 0 ? Math.min(backoff, remaining) : false
      }
    }
  })
  // Without a listener, an 'error' event (emitted on every failed
  // reconnection) would crash the process.
  client.on("error", (error: unknown) => {
    lastError = describe(error)
  })
  let destroyed = false
  return {
    client,
    lastError: () => lastError,
    connected: () => {
      isConnected = true
    },
    destroy: () => {
      if (destroyed) return
      destroyed = true
      // If a connection attempt is still under way, its socket must not keep the process alive.
      client.unref()
      try {
        // Not `close()`: it waits for pending replies, forever if the server hangs.
        // Whoever waited for them has been interrupted with the scope.
        client.destroy()
      } catch {
        // already closed: the client gave up reconnecting
      }
    }
  }
}

const connectError = (connection: Connection, reason: string) => {
  const last = connection.lastError()
  return new StoreError({
    operation: "connect",
    reason: last === undefined || reason.includes(last) ? reason : `${reason} (last error: ${last})`
  })
}

/** A readable reason: Node's connection errors are often AggregateErrors with an empty message. */
const describe = (cause: unknown): string => {
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return [...new Set(cause.errors.map(describe))].join("; ")
  }
  if (cause instanceof Error) {
    if (cause.message !== "") return cause.message
    const code = (cause as { readonly code?: unknown }).code
    return typeof code === "string" ? code : cause.name
  }
  return String(cause)
}

// ---------------------------------------------------------------------------
// Scripts

/**
 * Shared by every script: the queue's keys, always passed in this order (a
 * script declares every key it touches), the server clock, and batched
 * writes (Lua's `unpack` is limited to a few thousand values).
 */
const prelude = `
local payload, ready, delayed, leased, token, attempts, done, buried, errors =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function batch(command, key, values)
  for i = 1, #values, 4000 do
    redis.call(command, key, unpack(values, i, math.min(i + 3999, #values)))
  end
end
local function fetch(command, key, values)
  local out = {}
  for i = 1, #values, 4000 do
    for _, value in ipairs(redis.call(command, key, unpack(values, i, math.min(i + 3999, #values)))) do
      out[#out + 1] = value
    end
  end
  return out
end
`

const keySuffixes = ["payload", "ready", "delayed", "leased", "token", "attempts", "done", "buried", "errors"] as const

const keysOf = (queue: string): ReadonlyArray<string> => keySuffixes.map((suffix) => `ewp:{${queue}}:${suffix}`)

interface Script {
  readonly source: string
  readonly sha: string
}

const script = (body: string): Script => {
  const source = prelude + body
  return { source, sha: createHash("sha1").update(source).digest("hex") }
}

/** ARGV: id, payload, id, payload... Ids already known (in any state) are skipped. */
const offerScript = script(`
local hasDone = redis.call('SCARD', done) > 0
local fresh = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if not (hasDone and redis.call('SISMEMBER', done, id) == 1)
    and redis.call('HSETNX', payload, id, ARGV[i + 1]) == 1 then
    fresh[#fresh + 1] = id
  end
end
batch('RPUSH', ready, fresh)
return #fresh
`)

/**
 * ARGV: max, lease ms, token. First makes ready the retries whose delay is
 * over; then leases up to max jobs: leases that ran out first (their worker
 * is presumed dead), oldest first, then ready ones. A lease that ran out is
 * taken over only by the claim that leases it (its token overwritten here):
 * until then it is still its holder's, who may yet end it. Returns id,
 * payload, attempt...
 */
const claimScript = script(`
local t = now()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', t)
if #due > 0 then
  redis.call('ZREMRANGEBYSCORE', delayed, '-inf', t)
  batch('RPUSH', ready, due)
end
local max = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', leased, '-inf', t, 'LIMIT', 0, max)
if #ids < max then
  local fresh = redis.call('LPOP', ready, max - #ids)
  if fresh then
    for _, id in ipairs(fresh) do ids[#ids + 1] = id end
  end
end
if #ids == 0 then return {} end
local until_, tok = t + tonumber(ARGV[2]), ARGV[3]
local payloads, counts = fetch('HMGET', payload, ids), fetch('HMGET', attempts, ids)
local out, scores, tokens, counted = {}, {}, {}, {}
for i, id in ipairs(ids) do
  local attempt = (tonumber(counts[i]) or 0) + 1
  out[#out + 1] = id
  out[#out + 1] = payloads[i]
  out[#out + 1] = attempt
  scores[#scores + 1] = until_
  scores[#scores + 1] = id
  tokens[#tokens + 1] = id
  tokens[#tokens + 1] = tok
  counted[#counted + 1] = id
  counted[#counted + 1] = attempt
end
batch('ZADD', leased, scores)
batch('HSET', token, tokens)
batch('HSET', attempts, counted)
return out
`)

/** ARGV: id, token, id, token... */
const completeScript = script(`
local ids, seen, ok = {}, {}, {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local tokens = fetch('HMGET', token, ids)
for i, id in ipairs(ids) do
  -- The same lease twice in one call is completed once.
  if tokens[i] == ARGV[2 * i] and not seen[id] then
    seen[id] = true
    ok[#ok + 1] = id
  end
end
if #ok > 0 then
  batch('HDEL', token, ok)
  batch('ZREM', leased, ok)
  batch('HDEL', payload, ok)
  batch('HDEL', attempts, ok)
  batch('SADD', done, ok)
end
return #ok
`)

/** ARGV: id, token, delay ms. */
const retryScript = script(`
local id = ARGV[1]
if redis.call('HGET', token, id) ~= ARGV[2] then return 0 end
redis.call('HDEL', token, id)
redis.call('ZREM', leased, id)
local delay = tonumber(ARGV[3])
if delay > 0 then
  redis.call('ZADD', delayed, now() + delay, id)
else
  redis.call('RPUSH', ready, id)
end
return 1
`)

/** ARGV: id, token, error. */
const buryScript = script(`
local id = ARGV[1]
if redis.call('HGET', token, id) ~= ARGV[2] then return 0 end
redis.call('HDEL', token, id)
redis.call('ZREM', leased, id)
redis.call('HSET', errors, id, ARGV[3])
redis.call('RPUSH', buried, id)
return 1
`)

/** ARGV: id, token, id, token... The attempt is given back. */
const releaseScript = script(`
local n = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', token, id) == ARGV[i + 1] then
    redis.call('HDEL', token, id)
    redis.call('ZREM', leased, id)
    redis.call('HINCRBY', attempts, id, -1)
    redis.call('RPUSH', ready, id)
    n = n + 1
  end
end
return n
`)

/** ARGV: lease ms, id, token, id, token... */
const extendScript = script(`
local until_ = now() + tonumber(ARGV[1])
local scores = {}
for i = 2, #ARGV, 2 do
  if redis.call('HGET', token, ARGV[i]) == ARGV[i + 1] then
    scores[#scores + 1] = until_
    scores[#scores + 1] = ARGV[i]
  end
end
batch('ZADD', leased, scores)
return #scores / 2
`)

/** Returns ready, leased, completed, buried. */
const countsScript = script(`
return {
  redis.call('LLEN', ready) + redis.call('ZCARD', delayed),
  redis.call('ZCARD', leased),
  redis.call('SCARD', done),
  redis.call('LLEN', buried)
}
`)

/** ARGV: limit. Returns id, payload, attempts, error... oldest first. */
const buriedScript = script(`
local out = {}
for _, id in ipairs(redis.call('LRANGE', buried, 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', payload, id)
  out[#out + 1] = redis.call('HGET', attempts, id)
  out[#out + 1] = redis.call('HGET', errors, id)
end
return out
`)

// ---------------------------------------------------------------------------
// Payloads and durations

/** `""` stands for `undefined`, which JSON cannot say; no JSON text is empty. */
const encode = (payload: unknown): string => payload === undefined ? "" : JSON.stringify(payload)

const decode = (json: unknown): unknown => typeof json === "string" && json !== "" ? JSON.parse(json) : undefined

/** A far future for an infinite lease or delay: the server's scores are doubles. */
const foreverMs = 1e15

/** Whole milliseconds for the server, rounded up so that a short lease is not zero. */
const millis = (duration: Duration.Duration): string => {
  const ms = Duration.toMillis(duration)
  return String(Number.isFinite(ms) ? Math.max(0, Math.ceil(ms)) : foreverMs)
}

const leaseArgs = (leases: ReadonlyArray<Lease>): Array<string> => {
  const args: Array<string> = []
  for (const lease of leases) args.push(lease.id, lease.token)
  return args
}

const asArray = (reply: unknown): ReadonlyArray<unknown> => {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply from Redis: ${String(reply)}`)
  return reply
}

// ---------------------------------------------------------------------------
// The store

const makeStore = (connection: Connection, timeoutMs: number): Store => {
  const { client } = connection
  const timeout = Duration.millis(timeoutMs)

  /** Runs `script` on `queue` (EVALSHA, then EVAL if the server lost its script cache) and decodes its reply. */
  const run = <A>(
    operation: string,
    queue: string,
    script: Script,
    args: () => ReadonlyArray<string>,
    read: (reply: unknown) => A
  ): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({
      try: async () => {
        const command = ["EVALSHA", script.sha, String(keySuffixes.length), ...keysOf(queue), ...args()]
        let reply: unknown
        try {
          reply = await client.sendCommand(command)
        } catch (error) {
          if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error
          // A restarted (or flushed) server forgot the script: send it whole, which caches it again.
          command[0] = "EVAL"
          command[1] = script.source
          reply = await client.sendCommand(command)
        }
        return read(reply)
      },
      catch: (cause) => {
        let reason = describe(cause)
        const last = connection.lastError()
        if (!client.isReady && last !== undefined && !reason.includes(last)) reason = `${reason} (last error: ${last})`
        return new StoreError({ operation, reason })
      }
    }).pipe(bounded(operation))

  const bounded = (operation: string) => <A>(effect: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
    Number.isFinite(timeoutMs)
      ? Effect.timeoutOrElse(effect, {
        duration: timeout,
        orElse: () => Effect.fail(new StoreError({ operation, reason: `no answer within ${timeoutMs} ms` }))
      })
      : effect

  const none = Effect.void

  return {
    offer: (queue, jobs) => {
      if (jobs.length === 0) return none
      const refused = Checks.nonStringId(jobs)
      if (refused !== undefined) return Effect.fail(new StoreError({ operation: "offer", reason: refused }))
      return run("offer", queue, offerScript, () => {
        const args: Array<string> = []
        for (const job of jobs) args.push(job.id, encode(job.payload))
        return args
      }, () => undefined)
    },

    claim: (queue, max, lease) =>
      !(max >= 1) ? Effect.succeed([]) : Effect.suspend(() => {
        // One token for the batch: a lease is proved by id and token together.
        const token = randomUUID()
        const count = String(Math.floor(Math.min(max, Number.MAX_SAFE_INTEGER)))
        return run("claim", queue, claimScript, () => [count, millis(lease), token], (reply) => {
          const flat = asArray(reply)
          const claimed: Array<Claimed> = []
          for (let i = 0; i < flat.length; i += 3) {
            claimed.push({ id: String(flat[i]), payload: decode(flat[i + 1]), attempt: Number(flat[i + 2]), token })
          }
          return claimed
        })
      }),

    complete: (queue, leases) =>
      leases.length === 0 ? none : run("complete", queue, completeScript, () => leaseArgs(leases), () => undefined),

    retry: (queue, lease, delay) =>
      run("retry", queue, retryScript, () => [lease.id, lease.token, millis(delay)], () => undefined),

    bury: (queue, lease, error) =>
      run("bury", queue, buryScript, () => [lease.id, lease.token, error], () => undefined),

    release: (queue, leases) =>
      leases.length === 0 ? none : run("release", queue, releaseScript, () => leaseArgs(leases), () => undefined),

    extend: (queue, leases, lease) =>
      leases.length === 0
        ? none
        : run("extend", queue, extendScript, () => [millis(lease), ...leaseArgs(leases)], () => undefined),

    counts: (queue) =>
      run("counts", queue, countsScript, () => [], (reply): Counts => {
        const [ready, leased, completed, buried] = asArray(reply).map(Number)
        return { ready: ready!, leased: leased!, completed: completed!, buried: buried! }
      }),

    buried: (queue, limit) =>
      !(limit >= 1) ? Effect.succeed([]) : run(
        "buried",
        queue,
        buriedScript,
        () => [String(Math.floor(Math.min(limit, Number.MAX_SAFE_INTEGER)))],
        (reply) => {
          const flat = asArray(reply)
          const out: Array<Buried> = []
          for (let i = 0; i < flat.length; i += 4) {
            out.push({
              id: String(flat[i]),
              payload: decode(flat[i + 1]),
              attempts: Number(flat[i + 2] ?? 0),
              error: String(flat[i + 3] ?? "")
            })
          }
          return out
        }
      )
  }
}
