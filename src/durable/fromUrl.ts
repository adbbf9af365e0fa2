/**
 * Picks the store engine from a URL, so that a program can take one setting
 * (`--store redis://…`, `DATABASE_URL`, …) and run on whichever engine it
 * names: `redis://` or `rediss://` for Redis, `postgres://` or
 * `postgresql://` for PostgreSQL, `memory:` for a store in this process.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as MemoryStore from "./MemoryStore.ts"
import * as PostgresStore from "./PostgresStore.ts"
import * as RedisStore from "./RedisStore.ts"
import { type Store, StoreError } from "./Store.ts"

/** Connects to the store `url` names; a URL of no known engine is a `StoreError` saying which are. */
export const fromUrl = (url: string): Effect.Effect<Store, StoreError, Scope.Scope> => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()
  switch (scheme) {
    case "redis":
    case "rediss":
      return RedisStore.make({ url })
    case "postgres":
    case "postgresql":
      return PostgresStore.make({ url })
    case "memory":
      return MemoryStore.make
    default:
      return Effect.fail(
        new StoreError({
          operation: "connect",
          reason: `unknown store ${JSON.stringify(url)}: use redis://, postgres:// or memory:`
        })
      )
  }
}
