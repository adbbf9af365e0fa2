/**
 * Which failures are worth another attempt. By default every one is (a
 * durable job is retried until its `maxAttempts`); a handler says "retrying
 * cannot help" by failing with `PermanentError`, and a pool can say it of
 * its own errors with its `retryable` option. Such a failure goes straight
 * to the dead letters, whatever attempts are left.
 *
 * Internal: not an entry point of the package (`Durable` exports
 * `PermanentError`).
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * A failure that retrying cannot help (a payload the handler rejects, an
 * address that does not exist): the job is dead-lettered at once, with this
 * error as its reason, instead of retried. `cause` keeps the error it
 * stands for, if any.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Durable } from "effect-worker-pool"
 *
 * const send = (to: string) =>
 *   to.includes("@") ? Effect.log(`sending to ${to}`) : Effect.fail(new Durable.PermanentError({ reason: `no address: ${to}` }))
 * ```
 */
export class PermanentError extends Schema.TaggedError<PermanentError>()("PermanentError", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `a permanent failure, not retried: ${this.reason}`
  }
}

/**
 * Whether `error` is a `PermanentError`, by its tag: a handler on a thread
 * fails with a copy of the class's instance, which keeps its fields only.
 */
const isPermanent = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "PermanentError"

/**
 * Whether a delivery that failed with `cause` may be retried: not if it
 * failed with a `PermanentError`, nor with an error `predicate` (the pool's
 * `retryable` option) answers false of. A defect, a timeout or an
 * interruption is retried (unless the predicate says no to the timeout).
 * A predicate that throws is taken as a yes: a bug there costs attempts,
 * never a job.
 */
export const retryableOf = (predicate: ((error: never) => boolean) | undefined) => (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.findErrorOption(cause)
  if (Option.isNone(error)) return true
  if (isPermanent(error.value)) return false
  if (predicate === undefined) return true
  try {
    return (predicate as (error: unknown) => boolean)(error.value) !== false
  } catch {
    return true
  }
}
