/**
 * The unhandled rejections Node reports while an effect runs: a Promise
 * nobody handles that rejects ends a Node process by default, so a pool
 * must never leave one behind. Node reports a rejection once the microtask
 * queue has drained, so the recording waits for the next turn of the event
 * loop (a real one, whatever clock the test runs with) before it stops.
 */
import { Effect } from "effect"

export const unhandledRejections = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly result: A; readonly rejections: ReadonlyArray<unknown> }, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const seen: Array<unknown> = []
      const listener = (reason: unknown) => seen.push(reason)
      process.on("unhandledRejection", listener)
      return { seen, listener }
    }),
    ({ seen }) =>
      Effect.flatMap(
        effect,
        (result) =>
          Effect.as(Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10))), { result, rejections: seen })
      ),
    ({ listener }) => Effect.sync(() => process.off("unhandledRejection", listener))
  )
