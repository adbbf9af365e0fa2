/**
 * The start of a text, for a bounded record of it (a dead letter's error,
 * the dashboard's snapshot): at most `max` UTF-16 code units, never ending
 * with the first half of a surrogate pair, which alone is no character.
 *
 * @internal
 */
export const prefix = (text: string, max: number): string => {
  if (text.length <= max) return text
  const last = text.charCodeAt(max - 1)
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}
