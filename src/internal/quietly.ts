/**
 * Logging that cannot fail. The pool logs from its workers and from the
 * drain; a logger that throws must not take down either, or jobs would be
 * lost and shutdowns never report.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** Runs `log`, ignoring any failure or defect of the logger. */
export const quietly = <A, E, R>(log: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  Effect.ignoreCause(log)
