/**
 * Text of an exact length in bytes of UTF-8, for the limits on ids and
 * queue names (`maxJobIdBytes`, `maxQueueBytes`): random characters of one
 * to four bytes each (ASCII, Greek and Cyrillic, CJK, emoji), from a seeded
 * generator so that a failure can be replayed. Random, so that PostgreSQL
 * cannot compress it in its index: a long id of one repeated letter fits
 * where random text of the same length does not.
 */

/** Ranges of code points by their length in UTF-8: 1, 2, 3 and 4 bytes. */
const ranges: ReadonlyArray<readonly [number, number]> = [
  [0x21, 0x7e],
  [0x391, 0x4ff],
  [0x4e00, 0x9fff],
  [0x1f300, 0x1faff]
]

/** mulberry32: a small seeded generator of numbers in [0, 1). */
const generator = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `prefix`, then random characters of every width, to exactly `bytes` bytes of UTF-8. */
export const textOfBytes = (bytes: number, prefix = "", seed = bytes): string => {
  const random = generator(seed)
  let text = prefix
  let left = bytes - Buffer.byteLength(prefix, "utf8")
  while (left > 0) {
    const width = Math.min(left, 1 + Math.floor(random() * 4))
    const [from, to] = ranges[width - 1]!
    text += String.fromCodePoint(from + Math.floor(random() * (to - from + 1)))
    left -= width
  }
  if (Buffer.byteLength(text, "utf8") !== bytes) throw new Error(`textOfBytes: ${bytes} bytes asked, made another length`)
  return text
}
