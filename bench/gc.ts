/**
 * A full garbage collection when Node was started with `--expose-gc` (as
 * `npm run bench` does), and nothing otherwise (under vitest, say). Collecting
 * before each timed run keeps one contender's garbage off the next one's clock.
 */
export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
}
