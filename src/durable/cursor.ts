/**
 * A place in a listing that pages (`buried`'s dead letters, `upcoming`'s
 * jobs), as the listing gives it (`cursor`) and takes it back (`after`):
 * digits with at most one `.`, then, optionally, `:` and base64url text.
 * One form for every store and both listings, so that each engine reads any
 * cursor without failing, and the form is checked in one place. What a
 * cursor means is the engine's own, read only by the engine that wrote it:
 *
 * | engine | dead letters | upcoming jobs |
 * | --- | --- | --- |
 * | memory | the burial's number | `<run-at ms, whole>.<the offer's number>` |
 * | Redis | the burial's score (never given twice in a queue) | `<score>:<the id's UTF-8, base64url>` |
 * | PostgreSQL | `<ended_at µs>.<seq>` | `<visible_at µs>.<seq>` |
 *
 * Redis needs the id: its sorted sets order a tie of scores by the members'
 * bytes, and only the id says where in such a tie a page ended.
 *
 * A cursor holds the place, not the job: the next page begins after it even
 * once that job has left the listing. The bounds keep each engine's numbers
 * in range: 19 digits before the `.` (PostgreSQL's microseconds of the
 * latest run-at, the year 275760; the engine reads a larger number as a
 * place after every job, `atMost`), 18 after (a sequence number, which a
 * `bigint` holds at that length), and the base64url of an id of
 * `maxJobIdBytes`.
 *
 * Internal: not an entry point of the package.
 */

const form = /^[0-9]{1,19}(?:\.[0-9]{1,18})?(?::[A-Za-z0-9_-]{0,1366})?$/

/** Why `after` is not a cursor, or undefined if it is one. */
export const refusal = (after: unknown): string | undefined =>
  typeof after === "string" && form.test(after)
    ? undefined
    : "must be a `cursor` a listing gave (digits, at most one '.', then optionally ':' and base64url)"

/** A cursor's number: its text before `:` (all of it without one). */
export const number = (cursor: string): string => {
  const colon = cursor.indexOf(":")
  return colon === -1 ? cursor : cursor.slice(0, colon)
}

/** A cursor's text after `:` (`""` without one). */
export const tail = (cursor: string): string => {
  const colon = cursor.indexOf(":")
  return colon === -1 ? "" : cursor.slice(colon + 1)
}

/** A cursor's number's digits before and after its `.` (`"0"` for none after). */
export const parts = (cursor: string): readonly [string, string] => {
  const digits = number(cursor)
  const dot = digits.indexOf(".")
  return dot === -1 ? [digits, "0"] : [digits.slice(0, dot), digits.slice(dot + 1)]
}

/** `digits` (a whole number), or `most` (another, without leading zeros) if it is larger. */
export const atMost = (digits: string, most: string): string => {
  const trimmed = digits.replace(/^0+(?=.)/, "")
  return trimmed.length < most.length || (trimmed.length === most.length && trimmed <= most) ? trimmed : most
}

/** A Redis upcoming job's cursor: its score, and its id as base64url. */
export const withId = (score: string, id: string): string => `${score}:${Buffer.from(id, "utf8").toString("base64url")}`

/** The id a cursor's text after `:` names (text that is no UTF-8 read with U+FFFD, a place all the same). */
export const idOf = (tail: string): string => Buffer.from(tail, "base64url").toString("utf8")
