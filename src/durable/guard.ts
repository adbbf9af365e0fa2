/**
 * A store written outside this package (a `Store` the caller implements,
 * or one of ours with an operation replaced), held to what the engines'
 * boundary (`boundary.ts`) already holds ours to: an operation that throws,
 * that returns something other than an Effect (an `async` function's
 * Promise), or whose effect dies, fails with a `StoreError` naming the
 * operation, as an outage would. The pool then logs it and retries, where
 * the fiber that met it would otherwise have ended without a word: a claim
 * that threw stopped the pool claiming, with its jobs left ready for ever.
 *
 * Internal: not an entry point of the package.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { effectOrDie } from "../internal/userEffect.ts"
import { unexpected } from "./boundary.ts"
import type { Store, StoreError } from "./Store.ts"

/** What a caller's operation gave back, as an effect: a thrown error or a value that is no Effect is a defect. */
const called = (name: string, run: () => unknown): Effect.Effect<unknown, unknown, unknown> =>
  effectOrDie(run(), `the store's ${name}`)

/** A store's operation, as this module sees it: anything in, anything out. */
type Operation = (...args: ReadonlyArray<unknown>) => unknown

/** `operation`, with every way it can go wrong outside its error channel turned into a `StoreError`. */
const guardedOperation = (name: string, operation: Operation) => (...args: ReadonlyArray<unknown>) =>
  Effect.catchDefect(
    Effect.suspend(() => called(name, () => operation(...args))),
    (defect) => Effect.fail(unexpected(name, defect))
  )

/** `listen`, guarded twice: setting the listener up, and each wait it gives back. */
const guardedListen = (listen: NonNullable<Store["listen"]>): NonNullable<Store["listen"]> => (queue) =>
  Effect.map(
    Effect.catchDefect(
      Effect.suspend(() => called("listen", () => listen(queue))) as Effect.Effect<unknown, StoreError, Scope.Scope>,
      (defect) => Effect.fail(unexpected("listen", defect))
    ),
    (next) => guardedOperation("listen", () => next)() as Effect.Effect<void, StoreError>
  )

/** `store`, each of its operations guarded (see the module's note). */
export const guarded = (store: Store): Store => {
  const operations: Record<string, unknown> = {}
  for (const [name, operation] of Object.entries(store)) {
    operations[name] = typeof operation !== "function"
      ? operation
      : name === "listen"
      ? guardedListen(operation as NonNullable<Store["listen"]>)
      : guardedOperation(name, operation as Operation)
  }
  return operations as unknown as Store
}
