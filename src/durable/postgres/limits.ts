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
 *   exponent is written out in full (`1e308` as 309 digits): a payload of
 *   many such numbers can come back over `deliverable`, below. `jsonb`
 *   itself holds up to 256 MB: never more than that.
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
