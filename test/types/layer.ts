/**
 * Type-level tests of `Pool.layer` (and `subscribe`), checked by
 * `tsc --noEmit -p .` (never run): a handler whose payload, result or error
 * does not fit the service is a compile error, as it is for
 * `Layer.effect(Service, Pool.make(...))`.
 * Each `@ts-expect-error` fails the type check if its line compiles.
 */
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { Pool } from "../../src/index.ts"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

class Lengths extends Context.Service<Lengths, Pool.WorkerPool<string, number, never>>()("types/Lengths") {}
class Risky extends Context.Service<Risky, Pool.WorkerPool<string, number, Boom>>()("types/Risky") {}

// The ordinary case: the job's payload type comes from the service.
export const lengths: Layer.Layer<Lengths, Pool.PoolConfigError> = Pool.layer(Lengths, {
  workers: 1,
  handler: (job) => Effect.succeed(job.payload.length)
})

// A handler that may fail with the service's error, or that never fails, fits it.
export const risky: Layer.Layer<Risky, Pool.PoolConfigError> = Pool.layer(Risky, {
  workers: 1,
  handler: (job) => job.payload === "" ? Effect.fail(new Boom()) : Effect.succeed(job.payload.length)
})
export const riskyNeverFails = Pool.layer(Risky, { workers: 1, handler: (job) => Effect.succeed(job.payload.length) })

// What the handler needs is what the layer needs.
class Config extends Context.Service<Config, { readonly factor: number }>()("types/Config") {}
export const needsConfig: Layer.Layer<Lengths, Pool.PoolConfigError, Config> = Pool.layer(Lengths, {
  workers: 1,
  handler: (job) =>
    Effect.gen(function*() {
      const { factor } = yield* Config
      return job.payload.length * factor
    })
})

// A wrong error type: the service says the pool's jobs cannot fail.
export const wrongError = Pool.layer(Lengths, {
  workers: 1,
  // @ts-expect-error Boom is not never
  handler: () => Effect.fail(new Boom())
})

// A wrong result type.
export const wrongResult = Pool.layer(Lengths, {
  workers: 1,
  // @ts-expect-error string is not number
  handler: (job) => Effect.succeed(job.payload)
})

// A wrong payload type.
export const wrongPayload = Pool.layer(Lengths, {
  workers: 1,
  // @ts-expect-error the service's jobs carry strings, not numbers
  handler: (job: { readonly payload: number }) => Effect.succeed(job.payload)
})

// What `onShutdown` needs, the layer needs too; its report carries the service's payload type.
class Archive extends Context.Service<Archive, { readonly keep: (ids: ReadonlyArray<string>) => Effect.Effect<void> }>()(
  "types/Archive"
) {}
export const archived: Layer.Layer<Lengths, Pool.PoolConfigError, Archive> = Pool.layer(Lengths, {
  workers: 1,
  handler: (job) => Effect.succeed(job.payload.length),
  onShutdown: (report) =>
    Effect.gen(function*() {
      const archive = yield* Archive
      const payloads: ReadonlyArray<string> = report.abandoned.map((job) => job.payload)
      yield* archive.keep(payloads)
    })
})
// @ts-expect-error the layer needs Archive: onShutdown uses it
export const archivedWithoutArchive: Layer.Layer<Lengths, Pool.PoolConfigError> = archived

// `subscribe()` cannot fail; `subscribe(buffer)` can, with PoolConfigError.
declare const pool: Pool.WorkerPool<string, number, never>
export const plain: Effect.Effect<unknown, never, Scope.Scope> = pool.subscribe()
// @ts-expect-error a buffer can be wrong: PoolConfigError
export const sized: Effect.Effect<unknown, never, Scope.Scope> = pool.subscribe({ capacity: 10 })
