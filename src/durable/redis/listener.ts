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
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { StoreError } from "../Store.ts"
import type { Connection } from "./connection.ts"
import { describe, storeError } from "./errors.ts"
import { channelOf } from "./scripts.ts"

/**
 * A listener's notifications as its waiter sees them: one kept while nobody
 * waits (they all say "claim"), then the failure that ended the listener.
 * A notification resumes the waiter at once, in the subscriber's callback:
 * through a `Queue` it would wait for a turn of the scheduler first, one
 * more turn of the event loop between an offer and its claim.
 */
interface Mailbox {
  pending: boolean
  failure: StoreError | undefined
  waiter: ((effect: Effect.Effect<void, StoreError>) => void) | undefined
}

const notify = (mailbox: Mailbox): void => {
  const waiter = mailbox.waiter
  if (waiter === undefined) {
    mailbox.pending = true
    return
  }
  mailbox.waiter = undefined
  waiter(Effect.void)
}

const fail = (mailbox: Mailbox, error: StoreError): void => {
  if (mailbox.failure !== undefined) return
  mailbox.failure = error
  const waiter = mailbox.waiter
  mailbox.waiter = undefined
  waiter?.(Effect.fail(error))
}

/** The next notification: one kept, or the next to come; once the listener failed, its failure. */
const next = (mailbox: Mailbox): Effect.Effect<void, StoreError> =>
  Effect.callback((resume) => {
    if (mailbox.pending) {
      mailbox.pending = false
      return resume(Effect.void)
    }
    if (mailbox.failure !== undefined) return resume(Effect.fail(mailbox.failure))
    mailbox.waiter = resume
    // Interrupted: a notification that comes later is kept for the next wait.
    return Effect.sync(() => {
      if (mailbox.waiter === resume) mailbox.waiter = undefined
    })
  })

/** Subscribes to `queue`'s channel until the scope closes; gives the wait for the next notification. */
export const listen = (
  connection: Connection,
  queue: string
): Effect.Effect<Effect.Effect<void, StoreError>, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const mailbox: Mailbox = { pending: false, failure: undefined, waiter: undefined }
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
      fail(mailbox, new StoreError({ operation: "listen", reason: describe(error), cause: error }))
    })
    yield* Effect.tryPromise({
      try: async () => {
        await subscriber.connect()
        // Whatever the message says (`wakeMessage`): each one is a reason to claim.
        await subscriber.subscribe(channelOf(queue), () => notify(mailbox))
      },
      catch: (cause) => storeError("listen", connection, cause)
    })
    return next(mailbox)
  })
