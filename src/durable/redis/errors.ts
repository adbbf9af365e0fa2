/**
 * What a failure of Redis means for the caller: a `StoreError` whose
 * `retryable` says whether the same command can succeed later.
 *
 * Anything that is not a reply of the server is the connection's doing
 * (refused, reset, closed, offline): retryable; except an error JavaScript
 * raises for a mistake in code (a `TypeError`, say, from a command built
 * of a value that is not text), which the same command would meet again.
 * The client's own errors for a connection in trouble all extend `Error`
 * itself, none of these. At the start, a
 * certificate this process does not trust is not (`refusedForGood`). A reply is an error the
 * server chose, and its first word says which: a few say the server cannot
 * serve now but will (busy running a script, loading its data set, out of
 * memory, a replica being promoted); every other one (`WRONGTYPE`, `ERR`,
 * `NOPERM`, `WRONGPASS`...) is what the same command would meet again.
 *
 * Internal: not an entry point of the package.
 */
import { ErrorReply } from "redis"
import { StoreError } from "../Store.ts"
import { isUntrustedCertificate } from "../untrustedCertificate.ts"
import type { Connection } from "./connection.ts"

/** Reply codes of a server that cannot serve now but will. */
const passing: ReadonlySet<string> = new Set([
  "BUSY",
  "LOADING",
  "TRYAGAIN",
  "MASTERDOWN",
  "CLUSTERDOWN",
  "READONLY",
  "NOREPLICAS",
  "OOM"
])

/**
 * Whether the handshake's answer `cause` is one the same settings meet on
 * every try: a server certificate this process does not trust, a wrong
 * user or password, a user without the right, a database index the server
 * does not have (`SELECT 99`, `SELECT 1.5`).
 * Not any error reply: a server out of connections ("ERR max number of
 * clients reached") has room again once another client leaves.
 */
export const refusedForGood = (cause: unknown): boolean =>
  isUntrustedCertificate(cause) || (cause instanceof ErrorReply &&
    /^(WRONGPASS|NOAUTH|NOPERM)\b|^ERR (DB index is out of range|invalid DB index|value is not an integer)/.test(cause.message))

/** A reply this store cannot read: what the server holds is not what its scripts write. */
export class UnexpectedReply extends Error {}

/** Whether `cause` is an error JavaScript raises for a mistake in code, not for a connection. */
const isMistake = (cause: unknown): boolean =>
  cause instanceof TypeError || cause instanceof RangeError || cause instanceof SyntaxError ||
  cause instanceof ReferenceError

/** Whether the command that failed with `cause` can succeed if tried again. */
export const isRetryable = (cause: unknown): boolean => {
  if (cause instanceof ErrorReply) return passing.has(cause.message.split(" ", 1)[0]!)
  return !(cause instanceof UnexpectedReply) && !isMistake(cause)
}

/**
 * `cause` as the `StoreError` of `operation`. While the client is not
 * connected, its last error (a failed reconnection) is added to the reason:
 * the command's own only says that the client is offline.
 */
export const storeError = (operation: string, connection: Connection, cause: unknown): StoreError => {
  let reason = describe(cause)
  const last = connection.lastError()
  if (!connection.client.isReady && last !== undefined && !reason.includes(last)) reason = `${reason} (last error: ${last})`
  return new StoreError({ operation, reason, retryable: isRetryable(cause), cause })
}

/** A readable reason: Node's connection errors are often AggregateErrors with an empty message. */
export const describe = (cause: unknown): string => {
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

