/**
 * The Redis store's listener: a subscriber connection of its own (a client
 * subscribed to a channel can send nothing else), subscribed to the queue's
 * channel, where the scripts that store jobs or make them ready publish
 * (an offer, a retry, a release, a redrive). It does not
 * reconnect by itself: once its connection is lost, the wait for the next
 * notification fails, and the pool's wakeup listens again with its own
 * backoff (`wakeup.ts`).
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { StoreError } from "../Store.ts"
import type { Connection } from "./connection.ts"
import { describe, storeError } from "./errors.ts"
import { channelOf } from "./scripts.ts"

/** Subscribes to `queue`'s channel until the scope closes; gives the wait for the next notification. */
export const listen = (
  connection: Connection,
  queue: string
): Effect.Effect<Effect.Effect<void, StoreError>, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    // Notifications that nobody waited for yet are one: they all say "claim".
    const notifications = yield* Queue.sliding<void, StoreError>(1)
    const subscriber = yield* Effect.acquireRelease(
      Effect.sync(() =>
        connection.client.duplicate({
          // The store's socket options (its host, TLS, connect timeout), without reconnecting.
          socket: { ...connection.client.options?.socket, reconnectStrategy: false }
        })
      ),
      (subscriber) =>
        Effect.sync(() => {
          subscriber.removeAllListeners("error")
          // As for the store's client, when it could not answer.
          subscriber.on("error", () => {})
          subscriber.unref()
          try {
            subscriber.destroy()
          } catch {
            // already closed
          }
        })
    )
    // Also keeps an 'error' event (a lost connection) from crashing the process.
    subscriber.on("error", (error: unknown) => {
      Queue.failCauseUnsafe(notifications, Cause.fail(new StoreError({ operation: "listen", reason: describe(error), cause: error })))
    })
    yield* Effect.tryPromise({
      try: async () => {
        await subscriber.connect()
        await subscriber.subscribe(channelOf(queue), () => {
          Queue.offerUnsafe(notifications, undefined)
        })
      },
      catch: (cause) => storeError("listen", connection, cause)
    })
    return Queue.take(notifications)
  })
