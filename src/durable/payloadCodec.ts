/**
 * A durable queue's payloads as the store keeps them: the schema's JSON
 * form, and how to tell, after a synchronous run of it, that the schema
 * could not run synchronously (an effectful transformation suspended).
 * The pool's claim decodes synchronously, and `Periodic` checks a constant
 * payload synchronously at `declare`; both meet such schemas.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Schema from "effect/Schema"

/** The schema's JSON form: what the store keeps. */
export const jsonCodec = <A, I>(schema: Schema.Codec<A, I>) => Schema.toCodecJson(schema) as unknown as Schema.Codec<A, unknown>

/** Whether a synchronous encode or decode failed with `cause` because the schema suspended. */
export const suspended = (cause: Cause.Cause<unknown>): boolean => {
  const defect = Cause.findDefect(cause)
  return defect._tag === "Success" && Cause.isAsyncFiberError(defect.success)
}
