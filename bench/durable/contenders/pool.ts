/**
 * This library's durable pool as a contender, on whichever store `connect`
 * opens: `Durable.producer(...).submitAll` in batches on the driver side,
 * `Durable.make` with a no-op handler on the consumer side, and the store's
 * own `counts` for the completed jobs. `poolRedis.ts` and `poolPostgres.ts`
 * pick the store and the settings.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { Durable } from "../../../src/index.ts"
import type { Store, StoreError } from "../../../src/durable/Store.ts"
import type { PoolConfigError } from "../../../src/Pool.ts"
import { type ConsumerSide, type DriverSide, type DurableContender, type Engine, inBatches } from "./contender.ts"

/** A consumer's `Durable.make` settings. */
export interface Settings {
  readonly workers: number
  readonly prefetch: number
  /** The consumers' `completedRetention`; none: the default (1 day). */
  readonly completedRetention?: Duration.Input | undefined
}

const schema = Schema.Struct({ n: Schema.Number })

/** How a contender of ours connects to its store, and its consumers' settings. */
export interface Setup {
  readonly connect: (url: string) => Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>
  readonly settings: Settings
}

/** A scope of our own, so that each side can stay open across several promises. */
const openScope = async (connect: Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>) => {
  const scope = await Effect.runPromise(Scope.make())
  try {
    const store = await Effect.runPromise(Scope.provide(scope)(connect))
    return { scope, store, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
  } catch (error) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  }
}

export const durablePool = (name: string, engine: Engine, { connect, settings }: Setup): DurableContender => ({
  name,
  engine,
  ours: true,
  settings: `workers ${settings.workers}, prefetch ${settings.prefetch}` + (settings.completedRetention === undefined
    ? ", completed jobs kept (default: 1 day)"
    : `, completedRetention ${settings.completedRetention}${
      Duration.isZero(Duration.fromInputUnsafe(settings.completedRetention)) ? " (completed jobs deleted at once)" : ""
    }`),
  driver: async (url, queue): Promise<DriverSide> => {
    const { close, store } = await openScope(connect(url))
    const producer = Durable.producer({ store, queue, schema })
    const completed = () => Effect.runPromise(Effect.map(store.counts(queue), (counts) => counts.completed))
    const offer = (batch: ReadonlyArray<{ readonly n: number }>) => Effect.runPromise(Effect.asVoid(producer.submitAll(batch)))
    return {
      produce: (n) => inBatches(n, offer),
      offer,
      done: async (n) => await completed() >= n,
      completed,
      close
    }
  },
  consumer: async (url, queue): Promise<ConsumerSide> => {
    const { close, scope, store } = await openScope(connect(url))
    return {
      start: () =>
        Effect.runPromise(Scope.provide(scope)(Durable.make({
          store,
          queue,
          schema,
          workers: settings.workers,
          prefetch: settings.prefetch,
          ...(settings.completedRetention === undefined ? {} : { completedRetention: settings.completedRetention }),
          handler: () => Effect.void
        }))).then(() => undefined),
      close
    }
  }
})
