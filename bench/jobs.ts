/**
 * The three jobs of the benchmark, each defined once in every flavour so that
 * all contenders do exactly the same work per item:
 *
 * - `noop`: a synchronous `count++` (workload 1);
 * - `tick`: awaits one already-resolved promise, then counts (workload 2);
 * - `sleep(ms)`: waits on a real timer, then counts (workload 3).
 */
import * as Effect from "effect/Effect"
import { counter } from "./counter.ts"
import type { Job } from "./workload.ts"

const count = (): void => {
  counter.count++
}

export const noop: Job = {
  name: "no-op",
  effect: Effect.sync(count),
  fn: count,
  callback: (done) => {
    count()
    done(null)
  }
}

// The same async function for every contender: one `await` of a resolved promise.
const tickAsync = async (): Promise<void> => {
  await Promise.resolve()
  count()
}

export const tick: Job = {
  name: "await resolved promise",
  effect: Effect.promise(tickAsync),
  fn: tickAsync,
  // The callback API has no promise of its own: bridging costs one `then`.
  callback: (done) => {
    tickAsync().then(() => done(null))
  }
}

export const sleep = (ms: number): Job => {
  const sleepAsync = (): Promise<void> =>
    new Promise((resolve) =>
      setTimeout(() => {
        count()
        resolve()
      }, ms)
    )
  return {
    name: `sleep ${ms} ms`,
    effect: Effect.andThen(Effect.sleep(`${ms} millis`), Effect.sync(count)),
    fn: sleepAsync,
    callback: (done) => {
      setTimeout(() => {
        count()
        done(null)
      }, ms)
    }
  }
}
