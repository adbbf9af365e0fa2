/**
 * The start of a process-level test on a real engine: a server of its own
 * (on loopback, stopped with the scope), a store connected to it, and a
 * queue no other test uses. The URL is handed on to the processes the test
 * starts.
 */
import { Effect, type Scope } from "effect"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"
import * as RedisStore from "../../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../../src/durable/Store.ts"
import type { PoolConfigError } from "../../src/Pool.ts"
import { type ManagedServer, type ServerError, startPostgres, startRedis } from "./servers.ts"

/** An engine: how to start its server, and how to connect a store to it. */
export interface Engine {
  readonly server: Effect.Effect<ManagedServer, ServerError, Scope.Scope>
  readonly connect: (url: string) => Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>
}

export const redis: Engine = { server: startRedis(), connect: (url) => RedisStore.make({ url }) }

export const postgres: Engine = { server: startPostgres(), connect: (url) => PostgresStore.make({ url }) }

/** A server of `engine`, a store on it, and a fresh queue named after `prefix`. */
export const engineQueue = (engine: Engine, prefix: string) =>
  Effect.gen(function*() {
    const { url } = yield* engine.server
    const store = yield* engine.connect(url)
    return { url, store, queue: `${prefix}-${process.pid}-${Date.now()}` }
  })
