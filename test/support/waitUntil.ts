/**
 * Waiting on real time for something other processes or servers bring
 * about: polls instead of a fixed sleep, so that a loaded machine only makes
 * a test slower, and a deadline, so that what never happens fails the test
 * with what it waited for instead of hanging it.
 */
import { Duration, Effect } from "effect"

/** Polls `check` every `every` until it holds; dies naming `what` once `ms` have passed. */
export const waitUntil = <E>(
  what: string,
  check: Effect.Effect<boolean, E>,
  ms: number,
  every: Duration.Input = "50 millis"
) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting until ${what}`))
      yield* Effect.sleep(every)
    }
  })
