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
 * - `payload`   HASH  id -> JSON payload, of every job not completed
 * - `ready`     ZSET  ids ready now, scored by priority then order:
 *                     `(priority + 1024) * 2^42 + place`, `place` from `seq`
 *                     (exact in a double: 11 + 42 bits), lowest first
 * - `seq`       STRING the queue's order counter: one `INCRBY` per call that
 *                     makes jobs ready; deleted by a claim that takes the last
 *                     ready job, so it starts again (see `redis/scripts.ts` for
 *                     its 2^42 places: 14 years at 10,000 jobs/s, then a wrap)
 * - `delayed`   ZSET  ids waiting for their time (offered with a delay or a
 *                     run-at, or a retry's delay), scored by it (ms)
 * - `priority`  HASH  id -> priority, of the jobs whose priority is not 0
 * - `settings`  HASH  id -> the job's own settings, of those that have some
 * - `leased`    ZSET  ids leased to a worker, scored by when the lease runs out (ms)
 * - `token`     HASH  id -> the token of its lease
 * - `attempts`  HASH  id -> attempts counted so far, of every job in the queue
 * - `done`      ZSET  ids completed, scored by when (kept until their retention
 *                     passes, so that an id is not stored twice meanwhile; the
 *                     payload and settings are dropped). A completion not to
 *                     be kept (a retention of zero) deletes the job's every
 *                     key instead: only `completed` counts it
 * - `completed` STRING how many jobs completed, ever: the count, exact however
 *                     many `done` ids were purged
 * - `buried`    ZSET  ids dead-lettered, scored by when (oldest first), each
 *                     score above every one given before in the queue: a dead
 *                     letter's place for paging
 * - `lastBurial` STRING the newest burial's score, so that none is given twice
 *                     (the newest dead letter removed, the clock stepped back);
 *                     absent until the first burial, and older code ignores it
 * - `paused`    STRING set while the queue is paused (`Store.pause`): every
 *                     claim reads it, and leases nothing while it is there;
 *                     older code ignores it
 * - `errors`    HASH  id -> why it was buried
 * - `cancelled` ZSET  ids cancelled, scored by when
 *
 * A claim is bounded, whatever the queue holds: it reads the leases run out
 * (`ZRANGEBYSCORE ... LIMIT max`), moves the jobs of `delayed` whose time
 * came to `ready` (each behind the ready jobs of its priority, at most 1,000
 * or `max` of them per claim, earliest first: a million jobs due at once
 * are moved over a thousand claims), and takes the lowest scores of `ready`
 * (`ZRANGE 0 k` and `ZREMRANGEBYRANK`): O(log n) per job it touches. An
 * idle worker's claim on a queue where a million jobs wait for a later time
 * and none is ready reads the first member of `leased` and `delayed`, finds
 * `ready` empty, and writes nothing. `due` reads the
 * first member of `delayed` (so does a short claim, which answers it:
 * `Store.ClaimedJobs`). Within a priority, jobs made ready by an offer
 * keep their order of offer; a job whose time came goes behind the jobs of
 * its priority that were ready when a claim found it due. A job offered
 * with a run-at in the past (or a delay of 0) is ready at once, in its
 * order of offer, and `due` does not count it.
 *
 * The layout has a version, in `ewp:version` (with `ewp:migrations`, the
 * versions applied and their names): `make` brings a key space to the newest
 * version this code knows, once however many processes connect at once, and
 * refuses one that a newer release migrated, unless each newer step allows
 * this code (see `redis/migrations.ts`).
 *
 * Whether jobs survive Redis itself is the server's configuration: on
 * connect, `make` reads `appendonly`, `save` and `maxmemory-policy` and logs
 * a warning, naming the setting, when a restart or memory pressure could
 * drop jobs (see `redis/persistence.ts`).
 *
 * The connection: `make` fails with `StoreError({ operation: "connect" })`
 * when Redis does not answer within `connectTimeout` (retrying until then,
 * for a server that is still starting). Once connected, a lost connection
 * makes operations fail at once (nothing is buffered while offline) while the
 * client reconnects in the background, with backoff, for as long as the
 * scope is open.
 *
 * A payload longer than the server's `proto-max-bulk-len` (read at connect)
 * is refused at `offer`; a payload that is no longer JSON (changed by hand)
 * is dead-lettered by the claim that meets it, and the rest of the claim
 * goes on.
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
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Checks from "../internal/options.ts"
import { PoolConfigError } from "../Pool.ts"
import * as Boundary from "./boundary.ts"
import { redisDefaultLimit } from "./payloadSize.ts"
import { connectError, defaultTimeoutMs, openClient } from "./redis/connection.ts"
import { describe } from "./redis/errors.ts"
import { payloadLimit } from "./redis/limits.ts"
import * as Migrations from "./redis/migrations.ts"
import * as Persistence from "./redis/persistence.ts"
import { makeEngine } from "./redis/store.ts"
import { Store, type StoreError } from "./Store.ts"

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
   * of each (re)connection attempt. Finite (`"Infinity"` is a
   * `PoolConfigError`). Default 5 seconds.
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

/** The options, checked: a URL the client takes, timeouts in milliseconds (the command's maybe `Infinity`). */
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
      connectTimeoutMs: millisOf(Checks.connectTimeoutOption(read("connectTimeout"), fallback)),
      commandTimeoutMs: millisOf(Checks.timeoutOption("commandTimeout", read("commandTimeout"), fallback))
    }
  })
  return Checks.isInvalid(checked) ? new PoolConfigError(checked) : checked
}

/**
 * Connects to Redis, brings its key space to the newest layout, warns once
 * if the server's configuration could drop jobs, and gives a `Store` on it. The connection is closed when the scope closes. Bad options
 * (a malformed `url`, a negative timeout) fail with `PoolConfigError` naming
 * the option; a server that cannot be reached with `StoreError` ("connect",
 * retryable), as does one that refuses us or whose key space is at a newer
 * layout than this code knows that does not allow it (not retryable).
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

/**
 * Opens the client, waits for Redis within the connect deadline and brings
 * its key space to the newest layout; the operations are then the engine's,
 * through the store boundary, each bounded by `commandTimeout`.
 */
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
      catch: (cause) => connectError(connection, describe(cause), cause)
    }).pipe(
      Effect.andThen(Migrations.migrate(connection)),
      // Told once per store: a server whose configuration could drop jobs is a warning.
      Effect.andThen(Persistence.check(connection)),
      Effect.timeoutOrElse({
        duration: Duration.millis(timeoutMs),
        orElse: () => Effect.fail(connectError(connection, `no answer within ${timeoutMs} ms`))
      }),
      // Stop the reconnection loop now, not when the caller's scope closes.
      Effect.tapError(() => Effect.sync(() => connection.destroy()))
    )
    connection.connected()
    const maxPayloadBytes = yield* Effect.promise(() => payloadLimit(connection.client)).pipe(
      Effect.timeoutOption(Duration.millis(commandTimeoutMs)),
      Effect.map(Option.getOrElse(() => redisDefaultLimit))
    )
    return Boundary.makeStore(makeEngine(connection), {
      engine: "redis",
      maxPayloadBytes,
      commandTimeout: { duration: Duration.millis(commandTimeoutMs), scope: yield* Effect.scope }
    })
  })
