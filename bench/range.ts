/**
 * A lazy range 0..n-1. The memory runs use it instead of an array, so that
 * peak RSS measures the contender, not a million-element input array. (A
 * contender that copies its input, like `Effect.forEach` with concurrency,
 * pays for that copy itself.)
 */
export const range = (n: number): Iterable<number> => ({
  [Symbol.iterator]: () => {
    let i = 0
    return {
      next: (): IteratorResult<number> => i < n ? { done: false, value: i++ } : { done: true, value: undefined }
    }
  }
})

/** The same items, as an array: the cheapest to iterate, shared by every contender. */
export const array = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)
