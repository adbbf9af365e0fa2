/**
 * How large a payload the PostgreSQL store takes, and delivers.
 *
 * A claim returns each job as one row, and one row is one message of the
 * protocol: the driver refuses a message over its `maxMessageSize` (16 MiB
 * unless the pool or client is configured otherwise), and refusing it fails
 * the whole claim, the same claim again and again, so that no job of the
 * queue would be delivered again. So:
 *
 * - `offer` takes a payload whose JSON text is at most half of that. The
 *   server writes `jsonb` back with a space after each `,` and `:`, which
 *   makes the text at most 1.5 times as long (`[0,0]` is `[0, 0]`); the
 *   rest of the row (the id, which the primary key holds to under 3 KB,
 *   the token, the attempt) fits in what is left. A number with an
 *   exponent is written out in full (`1e308` as 309 digits): a payload
 *   that would come back over `deliverable` that way is refused too
 *   (`writtenBackBound`). `jsonb` itself holds up to 256 MB: never more
 *   than that.
 * - `claim` sends a payload only up to `deliverable` bytes (the message
 *   less room for the rest of the row). A larger one, which only a hand
 *   edit or a smaller `maxMessageSize` than when it was offered can make,
 *   is dead-lettered by the engine, with the reason.
 *
 * A claim of `max` jobs is `max` such messages: the limit does not shrink
 * with `max`, though the claim holds them all in memory at once.
 *
 * Internal: not an entry point of the package.
 */

/** The engine's limits, in bytes of JSON text. */
export interface Limits {
  /** The largest payload `offer` takes. */
  readonly payload: number
  /** The largest payload `claim` and `buried` send, as the server writes it. */
  readonly deliverable: number
}

/** What a row needs besides its payload: the id, the token, the attempt, the message's framing. */
const rowRoom = 64 * 1024

/** The largest `jsonb` value: 2^28 - 1 bytes. */
const jsonbMax = 268_435_455

/** The limits under a driver that reads messages of up to `maxMessageSize` bytes. */
export const limitsOf = (maxMessageSize: number): Limits => ({
  payload: Math.min(Math.floor(maxMessageSize / 2), jsonbMax),
  // A statement parameter (an `integer`); PostgreSQL's own field limit (1 GB) is far below.
  deliverable: Math.min(Math.max(0, maxMessageSize - rowRoom), 2_147_483_647)
})

/** Why a claimed job was dead-lettered without running: its payload is too large to deliver. */
export const oversizedReason = (id: string, size: number, deliverable: number): string =>
  `the payload of ${id} is ${size} bytes of JSON, over the ${deliverable} bytes this store can deliver ` +
  "(the driver's maxMessageSize): dead-lettered without running"

/** A number with an exponent, and the exponent's digits (a JSON text writes a number's exponent so, and only so). */
const exponent = /\d[eE][+-]?(\d+)/g

/**
 * At most how many bytes `jsonb` writes `json` back as, if the text holds a
 * number with an exponent, which `jsonb` writes out in full (`1e308` as 309
 * digits, `1e-7` as `0.0000001`): its bytes 1.5 times (the spaces), and
 * for each such number its exponent and two characters more. Undefined
 * when it holds none: then the payload limit is the bound. A string that
 * reads like such a number counts too: this bounds, it does not count.
 */
export const writtenBackBound = (json: string): number | undefined => {
  // `exec` on the one expression: `matchAll` would copy it for each payload of every offer.
  let extra = 0
  exponent.lastIndex = 0
  for (let found = exponent.exec(json); found !== null; found = exponent.exec(json)) extra += Number(found[1]) + 2
  return extra === 0 ? undefined : Buffer.byteLength(json) * 1.5 + extra
}

/** Why an offered job is refused: as PostgreSQL would write its payload back, a claim could not deliver it. */
export const undeliverableReason = (id: string, bound: number, deliverable: number): string =>
  `the payload of ${id} would come back as up to ${Math.ceil(bound)} bytes of JSON (PostgreSQL writes each number ` +
  `with an exponent out in full), over the ${deliverable} bytes this store can deliver`
