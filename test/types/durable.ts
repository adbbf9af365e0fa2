/**
 * Type-level tests of `Durable.layer`, checked by `tsc --noEmit -p .`: the
 * handler must fit the service it provides. Its payload is the service's
 * `A`; what it succeeds and fails with must be assignable to the service's
 * `B` and `E`; the schema must decode to `A`. Each `@ts-expect-error` fails
 * the type-check if the line below it compiles.
 */
import { Context, Effect, type Layer, Schema } from "effect"
import type { Store } from "../../src/durable/Store.ts"
import { Durable, type Pool } from "../../src/index.ts"

class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { to: Schema.String }) {}
class Unrelated extends Schema.TaggedError<Unrelated>()("Unrelated", {}) {}

class Emails extends Context.Service<Emails, Durable.DurablePool<string, number, Rejected>>()("types/Emails") {}

declare const store: Store

const base = { queue: "emails", schema: Schema.String, workers: 1 } as const

// What fits: its payload is a string, it succeeds with a number and fails with Rejected.
export const fits: Layer.Layer<Emails, Pool.PoolConfigError> = Durable.layer(Emails, {
  ...base,
  store,
  handler: (job) => job.payload.length > 3 ? Effect.succeed(job.payload.length) : Effect.fail(new Rejected({ to: job.payload }))
})

// Failing with less than the service allows, or never, fits too.
export const neverFails = Durable.layer(Emails, { ...base, store, handler: (job) => Effect.succeed(job.payload.length) })

// Without a store, the layer needs the Store service.
export const needsStore: Layer.Layer<Emails, Pool.PoolConfigError, Store> = Durable.layer(Emails, {
  ...base,
  handler: (job) => Effect.succeed(job.payload.length)
})

// @ts-expect-error: with no store given, the Store service is required, so this type is wrong.
export const forgetsStore: Layer.Layer<Emails, Pool.PoolConfigError, never> = Durable.layer(Emails, {
  ...base,
  handler: (job) => Effect.succeed(job.payload.length)
})

export const failsWithAnotherError = Durable.layer(Emails, {
  ...base,
  store,
  // @ts-expect-error: Unrelated is not an error the service's callers are told about.
  handler: () => Effect.fail(new Unrelated())
})

export const failsWithMore = Durable.layer(Emails, {
  ...base,
  store,
  // @ts-expect-error: Rejected | Unrelated is wider than the service's Rejected.
  handler: (job) => job.payload === "" ? Effect.fail(new Unrelated()) : Effect.fail(new Rejected({ to: job.payload }))
})

export const returnsAnotherResult = Durable.layer(Emails, {
  ...base,
  store,
  // @ts-expect-error: the service's result is a number, not a string.
  handler: (job) => Effect.succeed(job.payload)
})

export const takesAnotherPayload = Durable.layer(Emails, {
  ...base,
  store,
  // @ts-expect-error: the service's payload is a string, so a handler of numbers does not fit.
  handler: (job: { readonly payload: number }) => Effect.succeed(job.payload)
})

export const decodesAnotherPayload = Durable.layer(Emails, {
  ...base,
  store,
  // @ts-expect-error: the schema decodes numbers; the service's payload is a string.
  schema: Schema.Number,
  handler: () => Effect.succeed(1)
})

// The handler's own requirements become the layer's.
class Mailer extends Context.Service<Mailer, { readonly send: (to: string) => Effect.Effect<number> }>()("types/Mailer") {}

export const needsMailer: Layer.Layer<Emails, Pool.PoolConfigError, Mailer> = Durable.layer(Emails, {
  ...base,
  store,
  handler: (job) => Effect.flatMap(Mailer, (mailer) => mailer.send(job.payload))
})

// So do the requirements of onShutdown.
class Audit extends Context.Service<Audit, { readonly record: (n: number) => Effect.Effect<void> }>()("types/Audit") {}

export const needsAudit: Layer.Layer<Emails, Pool.PoolConfigError, Audit> = Durable.layer(Emails, {
  ...base,
  store,
  handler: (job) => Effect.succeed(job.payload.length),
  onShutdown: (report) => Effect.flatMap(Audit, (audit) => audit.record(report.succeeded))
})

// @ts-expect-error: onShutdown needs Audit, so the layer cannot require nothing.
export const forgetsAudit: Layer.Layer<Emails, Pool.PoolConfigError, never> = Durable.layer(Emails, {
  ...base,
  store,
  handler: (job) => Effect.succeed(job.payload.length),
  onShutdown: (report) => Effect.flatMap(Audit, (audit) => audit.record(report.succeeded))
})

// shutdown: with no policy it cannot fail; with one it can fail with PoolConfigError only.
declare const pool: Durable.DurablePool<string, number, Rejected>
export const plain: Effect.Effect<unknown, never> = pool.shutdown()
export const withPolicy: Effect.Effect<unknown, Pool.PoolConfigError> = pool.shutdown({ timeout: "1 second" })
// @ts-expect-error: a policy can fail, so this error channel is too narrow.
export const withPolicyNever: Effect.Effect<unknown, never> = pool.shutdown({ timeout: "1 second" })

// A producer takes where, which queue and how payloads are encoded; whether it
// still accepts jobs is the durable pool's own business, not an option.
export const producer = Durable.producer({ store, queue: "emails", schema: Schema.String })
export const producerWithAccepting = Durable.producer({
  store,
  queue: "emails",
  schema: Schema.String,
  // @ts-expect-error: accepting is not an option of a producer.
  accepting: () => false
})
