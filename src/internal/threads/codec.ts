/**
 * How values cross to and from a thread when the pool is given a `Schema`
 * for them: encoded on the sending side, decoded on the receiving one, both
 * sides using the same schemas (the pool's `schema` option on the caller's
 * side, the handler module's `schema` export in the thread). Encoding runs
 * with Effect's `Transferable` collector, so a schema built with
 * `Transferable.schema` (`Transferable.Uint8Array`...) moves its buffers
 * instead of copying them. Without a schema, a value crosses as it is.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Transferable from "effect/workers/Transferable"
import { PermanentError } from "../../durable/retryable.ts"
import { Snooze } from "../../durable/snooze.ts"

/** The schemas of what crosses: each optional. */
export interface Schemas {
  readonly payload?: Schema.Top | undefined
  readonly success?: Schema.Top | undefined
  readonly failure?: Schema.Top | undefined
}

/**
 * A handler's failure schema, widened by the errors a durable handler ends
 * its delivery with whatever its own error type (`PermanentError`,
 * `Snooze`): with the module's schema alone, they would not encode, and
 * the delivery would die instead. Both sides widen it alike.
 */
export const failureSchema = (failure: Schema.Top | undefined): Schema.Top | undefined =>
  failure === undefined ? undefined : Schema.Union([failure, PermanentError, Snooze])

/** A value as it crosses, with what it moves rather than copies. */
export interface Encoded {
  readonly value: unknown
  readonly transfers: ReadonlyArray<unknown>
}

const nothing: ReadonlyArray<unknown> = []

/** `value` encoded by `schema` (as it is without one), with the transferables its encoding named. */
export const encode = (schema: Schema.Top | undefined, value: unknown): Effect.Effect<Encoded, Schema.SchemaError> => {
  if (schema === undefined) return Effect.succeed({ value, transfers: nothing })
  const collector = Transferable.makeCollectorUnsafe()
  return Schema.encodeUnknownEffect(schema as Schema.Codec<unknown, unknown>)(value).pipe(
    Effect.provideService(Transferable.Collector, collector),
    Effect.map((encoded) => ({ value: encoded, transfers: collector.readUnsafe() }))
  )
}

/**
 * `value` encoded by `schema` now, for the check at `submit`: its encoded
 * form and what its encoding moves (checked with the `transfer` option's:
 * the two go to `postMessage` as one list), or why it does not encode.
 */
export const encodeNow = (schema: Schema.Top, value: unknown): Encoded | string => {
  const exit = Effect.runSyncExit(encode(schema, value))
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.findError(exit.cause)
  return `does not encode with the payload schema: ${error._tag === "Success" ? error.success.message : Cause.pretty(exit.cause)}`
}

/** `value` decoded by `schema` (as it is without one). */
export const decode = (schema: Schema.Top | undefined, value: unknown): Effect.Effect<unknown, Schema.SchemaError> =>
  schema === undefined ? Effect.succeed(value) : Schema.decodeUnknownEffect(schema as Schema.Codec<unknown, unknown>)(value)

/**
 * The module's `schema` export: `undefined`, or a record whose `payload`,
 * `success` and `failure` are schemas when present. Anything else throws,
 * so that the pool's `make` fails rather than the two sides disagreeing.
 */
export const schemasOf = (exported: unknown): Schemas => {
  if (exported === undefined) return {}
  const wrong = () => new TypeError("the handler module's schema export must be { payload?, success?, failure? }, each a Schema")
  if (typeof exported !== "object" || exported === null) throw wrong()
  const { failure, payload, success } = exported as Record<string, unknown>
  const schema = (u: unknown): Schema.Top | undefined => {
    if (u === undefined || Schema.isSchema(u)) return u
    throw wrong()
  }
  return { payload: schema(payload), success: schema(success), failure: failureSchema(schema(failure)) }
}
