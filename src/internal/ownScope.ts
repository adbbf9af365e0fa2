/**
 * A pool's finalizers in a scope of its own: a child of the caller's scope,
 * closed with it, whose finalizers run one after another in reverse order
 * whatever the caller's scope does. A caller's scope may run its
 * finalizers in parallel (`Scope.make("parallel")`), and a pool's must run
 * in order: its shutdown drains the jobs in hand before the step that
 * freezes its metrics' final counts (run beside it, that step counted none
 * of the jobs the drain ended).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

/** `make` in a sequential child scope of the caller's; closed at once if `make` fails. */
export const inOwnScope = <A, E, R>(make: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Scope.Scope> | Scope.Scope> =>
  Effect.flatMap(Effect.scope, (caller) =>
    Effect.flatMap(Scope.fork(caller, "sequential"), (own) =>
      Scope.provide(own)(make).pipe(Effect.onError((cause) => Scope.close(own, Exit.failCause(cause))))))
