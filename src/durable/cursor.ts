/**
 * A dead letter's place in its queue's list, as `buried` gives it
 * (`Buried.cursor`) and takes it back (`after`): text of digits with at
 * most one `.`, one form for every store, so that each reads any cursor
 * without failing and the form is checked in one place. What the digits
 * mean is the engine's own, read only by the engine that wrote them:
 *
 * - memory: the burial's number in the store;
 * - Redis: the burial's score (milliseconds, never given twice in a queue);
 * - PostgreSQL: `<ended_at in µs since 1970>.<seq>`, the order's two keys.
 *
 * A cursor holds the place, not the job: the next page begins after it
 * even once that job was redriven or removed. The bounds keep every
 * engine's numbers in range: 16 digits before the `.` (PostgreSQL's
 * microseconds until the year 2286), 18 after (a `bigint` sequence).
 *
 * Internal: not an entry point of the package.
 */

const form = /^[0-9]{1,16}(?:\.[0-9]{1,18})?$/

/** Why `after` is not a cursor, or undefined if it is one. */
export const refusal = (after: unknown): string | undefined =>
  typeof after === "string" && form.test(after)
    ? undefined
    : "must be the `cursor` of a dead letter a listing gave (digits, at most one '.')"

/** A cursor's digits before and after its `.` (`"0"` for none after). */
export const parts = (cursor: string): readonly [string, string] => {
  const dot = cursor.indexOf(".")
  return dot === -1 ? [cursor, "0"] : [cursor.slice(0, dot), cursor.slice(dot + 1)]
}
