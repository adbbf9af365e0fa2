/**
 * The dashboard's checks on a request that changes a queue (redrive,
 * remove, cancel), all pure functions of the request's headers:
 *
 * - the token, given when the dashboard starts, must come in the
 *   `x-dashboard-token` header (never a cookie: a browser sends cookies on
 *   cross-site requests by itself, and a header it does not), compared in
 *   constant time (both sides hashed first, so that not even its length
 *   leaks through timing);
 * - a cross-site request is refused: a `Sec-Fetch-Site` other than
 *   `same-origin` (or `none`, typed by the user), or an `Origin` other than
 *   the page's own (`Host`), whichever the browser sends;
 * - the body must be JSON (`content-type: application/json`), which a form
 *   posted from another site cannot be without a preflight.
 *
 * Read-only views need none of this: the dashboard listens on loopback
 * unless told otherwise.
 *
 * Internal: not an entry point of the package.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

/** The header the token comes in. */
export const tokenHeader = "x-dashboard-token"

/** The largest body an action accepts, in bytes: an action names a few ids. */
export const maxBodyBytes = 64 * 1024

/** A token for a dashboard started without one: 32 random bytes, URL-safe. */
export const generateToken = (): string => randomBytes(32).toString("base64url")

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** Whether `given` is `expected`, in a time that does not depend on where they differ, or on their lengths. */
export const tokenMatches = (expected: string, given: string | undefined): boolean =>
  given !== undefined && timingSafeEqual(digest(expected), digest(given))

/** The host names of loopback: what the program allows when it binds there. */
export const loopbackHosts: ReadonlyArray<string> = ["127.0.0.1", "localhost", "::1"]

/** The host name of a `Host` header, without its port (and an IPv6 literal without its brackets), lower-case. */
export const hostName = (host: string): string => {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host)
  return (bracketed ? bracketed[1]! : host.replace(/:\d*$/, "")).toLowerCase()
}

/**
 * Whether a request with this `Host` may be answered: any, when `allowed` is
 * undefined; else only one of `allowed`'s names. A page on another site that
 * points its own name at 127.0.0.1 (DNS rebinding) arrives with its own name
 * as the `Host`, and is refused.
 */
export const hostAllowed = (allowed: ReadonlyArray<string> | undefined, host: string | undefined): boolean =>
  allowed === undefined || (host !== undefined && allowed.some((name) => name.toLowerCase() === hostName(host)))

/** Why a request that changes a queue is refused: its status and message; `undefined` when it may go on. */
export interface Refusal {
  readonly status: 403 | 415
  readonly error: string
}

/** The headers the checks read (lower-case names, as Node gives them). */
export type Headers = Readonly<Record<string, string | undefined>>

/**
 * Whether the request comes from the dashboard's own page: `Sec-Fetch-Site`
 * and `Origin`, when present, must say so. A client that sends neither (a
 * script, `curl`) is not a browser on another site, and still needs the token.
 */
export const crossSite = (headers: Headers): string | undefined => {
  const site = headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return `cross-site request refused (Sec-Fetch-Site: ${site})`
  }
  const origin = headers["origin"]
  if (origin === undefined) return undefined
  const host = headers["host"]
  let originHost: string
  try {
    originHost = new URL(origin).host
  } catch {
    return "cross-site request refused (an Origin that is not a URL)"
  }
  return host !== undefined && originHost === host ? undefined : `cross-site request refused (Origin ${origin})`
}

/**
 * The checks of an action, in order: cross-site first (whatever the token),
 * then the token (`undefined`: actions are off, since none was given), then
 * the body's type.
 */
export const checkAction = (token: string | undefined, headers: Headers): Refusal | undefined => {
  const foreign = crossSite(headers)
  if (foreign !== undefined) return { status: 403, error: foreign }
  if (token === undefined) {
    return { status: 403, error: "actions are turned off: the dashboard was started without a token" }
  }
  if (!tokenMatches(token, headers[tokenHeader])) {
    return { status: 403, error: `missing or wrong token (send it in the ${tokenHeader} header)` }
  }
  const type = headers["content-type"]
  // The media type itself, before any parameter ("; charset=utf-8"): `\b` would take "application/json-evil".
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
    return { status: 415, error: "the body must be JSON (content-type: application/json)" }
  }
  return undefined
}
