/**
 * Picks the store engine from a URL, so that a program can take one setting
 * (`--store redis://…`, `DATABASE_URL`, …) and run on whichever engine it
 * names: `redis://` or `rediss://` for Redis, `postgres://` or
 * `postgresql://` for PostgreSQL, `memory:` for a store in this process.
 *
 * Each engine is loaded when its URL is seen (a dynamic `import()`), so a
 * program that uses one engine, or the memory store, needs only that
 * engine's client installed (`redis`, `@effect/sql-pg`).
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { messageOf } from "../internal/options.ts"
import { PoolConfigError } from "../Pool.ts"
import * as MemoryStore from "./MemoryStore.ts"
import { type Store, StoreError } from "./Store.ts"

/** Loads an engine's module; a client that is not installed is a `StoreError` that says which to install. */
const load = <M>(client: string, importEngine: () => Promise<M>): Effect.Effect<M, StoreError> =>
  Effect.tryPromise({
    try: importEngine,
    catch: (cause) =>
      new StoreError({
        operation: "connect",
        reason: `this store needs the ${client} package (npm install ${client}): ${messageOf(cause)}`
      })
  })

/**
 * Connects to the store `url` names. A `url` that is not a string is a
 * `PoolConfigError` naming `url`; a malformed URL of a known engine is the
 * error that engine's own `make` gives (a `PoolConfigError` naming `url`);
 * a URL of no known engine (`http://…`, or text that is no URL, such as
 * `" memory:"` with its leading space) is a `StoreError` ("connect") saying
 * which engines there are, not retryable: the same URL meets it again.
 */
export const fromUrl = (
  url: string | Redacted.Redacted<string>
): Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope> =>
  Effect.suspend(() => {
    const text = Redacted.isRedacted(url) ? Redacted.value(url) : url
    if (typeof text !== "string") {
      return Effect.fail(new PoolConfigError({ option: "url", reason: `must be a store URL, got ${typeof text}` }))
    }
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase()
    switch (scheme) {
      case "redis":
      case "rediss":
        return Effect.flatMap(load("redis", () => import("./RedisStore.ts")), (engine) => engine.make({ url }))
      case "postgres":
      case "postgresql":
        return Effect.flatMap(load("@effect/sql-pg", () => import("./PostgresStore.ts")), (engine) => engine.make({ url }))
      case "memory":
        return MemoryStore.make
      default:
        // A StoreError, as it always was: the program reports it as a store it cannot reach.
        // Not retryable: no number of tries makes the URL name an engine.
        return Effect.fail(
          new StoreError({
            operation: "connect",
            // The scheme only: the rest may hold a password.
            reason: `unknown store (${scheme === undefined ? "no scheme" : `${scheme}:`}): use redis://, postgres:// or memory:`,
            retryable: false
          })
        )
    }
  })
