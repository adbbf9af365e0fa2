/**
 * The Redis store's connection: a node-redis client that never buffers
 * commands while offline, retries its first connection until the connect
 * deadline (a server may be starting) and reconnects for ever, with backoff,
 * once it has been connected; and readable reasons for what it reports.
 *
 * Internal: not an entry point of the package.
 */
import { createClient } from "redis"
import { StoreError } from "../Store.ts"
import { describe, isRetryable, refusedForGood } from "./errors.ts"

/** The node-redis client of a store, with what the store needs to know about it. */
export interface Connection {
  readonly client: ReturnType<typeof createClient>
  /** The last error the client reported (a failed reconnection, a lost socket), for error messages. */
  readonly lastError: () => string | undefined
  /** From now on, reconnect forever instead of giving up at the connect deadline. */
  readonly connected: () => void
  /** Closes the connection now, whatever its state; idempotent. */
  readonly destroy: () => void
}

export const defaultTimeoutMs = 5_000
/** Reconnection backoff: doubles from `backoffBaseMs`, up to `backoffMaxMs`, plus up to `jitterMs`. */
const backoffBaseMs = 50
const backoffMaxMs = 2_000
const jitterMs = 100

/** The longest delay Node's timers hold. */
const longestTimerMs = 2 ** 31 - 1

export const openClient = (url: string, timeoutMs: number): Connection => {
  const startedAt = Date.now()
  let isConnected = false
  let lastError: string | undefined
  const client = createClient({
    url,
    // Commands sent while the connection is down fail at once, instead of
    // waiting in memory for a server that may never come back.
    disableOfflineQueue: true,
    socket: {
      // A socket's timer holds at most 2^31 - 1 ms (about 24.8 days); a longer one is cut to that
      // with a warning on stderr. The deadline below is what bounds a start.
      connectTimeout: Math.min(timeoutMs, longestTimerMs),
      reconnectStrategy: (retries, cause) => {
        const backoff = Math.min(backoffBaseMs * 2 ** retries, backoffMaxMs) + Math.floor(Math.random() * jitterMs)
        if (isConnected) return backoff
        // Connecting for the first time: a server that answered the
        // handshake with a refusal it would give again (a wrong password, a
        // database index it does not have) is not tried again, and `make`
        // fails with that answer at once.
        if (refusedForGood(cause)) return false
        // Anything else: retry (the server may be starting)
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

/**
 * The `StoreError` of a failed connection, with the client's last error if
 * the reason does not say it. A server that refused us (a password, a
 * right) is not retryable; one that could not be reached is.
 */
export const connectError = (connection: Connection, reason: string, cause?: unknown) => {
  const last = connection.lastError()
  return new StoreError({
    operation: "connect",
    reason: last === undefined || reason.includes(last) ? reason : `${reason} (last error: ${last})`,
    retryable: cause === undefined || (!refusedForGood(cause) && isRetryable(cause)),
    cause
  })
}
