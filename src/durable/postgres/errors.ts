/**
 * What a failure of PostgreSQL means for the caller: a `StoreError` that
 * carries the driver's `SqlError` as its cause, and whose `retryable` says
 * whether the same statement can succeed later.
 *
 * The driver already sorts its errors (`SqlError.isRetryable`): a lost or
 * refused connection, a deadlock, a serialization failure, a lock or
 * statement timeout may pass; a syntax error, a missing right, a constraint,
 * a wrong password will not. It leaves as unknown (not retryable) some
 * errors of a server that cannot serve now but will, which are retryable
 * here: its resources exhausted (class 53: no connection to spare, out of
 * memory or disk) and the server shutting down, crashing or starting (57P01,
 * 57P02, 57P03). Data the server refuses (class 22) stays permanent.
 *
 * Internal: not an entry point of the package.
 */
import type { SqlError } from "effect/sql/SqlError"
import { StoreError } from "../Store.ts"
import { isUntrustedCertificate } from "../untrustedCertificate.ts"

/** The SQLSTATE the server sent, if it sent one. */
const sqlState = (error: SqlError): string | undefined => {
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/** Whether `error` is the server refusing a row whose key another row has (the driver's reading of SQLSTATE 23505). */
export const isUniqueViolation = (error: SqlError): boolean => error.reason._tag === "UniqueViolation"

/** What went wrong, as the server (or the driver) said it. */
const detailOf = (error: SqlError): string => {
  const cause = error.reason.cause
  return cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)
}

/**
 * A pooler that does not know a startup parameter the store sends (PgBouncer:
 * a protocol violation, 08P01, "unsupported startup parameter: ...") refuses
 * it at every try, until its configuration changes. The driver counts it as
 * a lost connection; other 08P01s of a pooler (no client slot left) can pass.
 */
const refusedStartupParameter = (error: SqlError): boolean =>
  sqlState(error) === "08P01" && detailOf(error).includes("unsupported startup parameter")

/**
 * TLS that cannot be had with these settings: a server that answers it does
 * not speak TLS (to `sslmode=require` or `verify-full`), or a certificate
 * this process does not trust (`untrustedCertificate.ts`). The driver counts
 * both as a lost connection.
 */
const refusedTls = (error: SqlError): boolean =>
  error.reason.message.includes("refused TLS") || isUntrustedCertificate(error.reason.cause)

/** Whether the statement that failed with `error` can succeed if tried again. */
export const isRetryable = (error: SqlError): boolean => {
  if (refusedStartupParameter(error)) return false
  if (error.isRetryable) return true
  const code = sqlState(error)
  return code !== undefined && (code.startsWith("53") || code === "57P01" || code === "57P02" || code === "57P03")
}

/**
 * Whether a store's start (`connect`) that failed with `error` can succeed
 * if tried again: as a statement, unless TLS is refused, which the same
 * settings meet at every try. Once the store has started, the same refusal
 * (a certificate that expired, a server restarted without TLS) is a passing
 * outage: the pool waits it out, its acknowledgements kept, until someone
 * mends the server.
 */
export const isRetryableAtStart = (error: SqlError): boolean => !refusedTls(error) && isRetryable(error)

/**
 * The driver's message says what it was doing ("PgConnection: Query failed");
 * its cause says what went wrong (the server's message, `ECONNREFUSED`...).
 * A `StoreError` carries both.
 */
export const storeError = (operation: string) => (error: SqlError): StoreError => {
  const detail = detailOf(error)
  return new StoreError({
    operation,
    reason: detail === "" || error.message.includes(detail) ? error.message : `${error.message}: ${detail}`,
    retryable: operation === "connect" ? isRetryableAtStart(error) : isRetryable(error),
    cause: error
  })
}
