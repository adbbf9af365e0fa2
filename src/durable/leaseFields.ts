/**
 * The check of the leases handed back to a store (`complete`, `release`,
 * `extend`, and the one of `retry` and `bury`) at the store boundary, the
 * same for every engine: objects whose `id` and `token` are strings, the id
 * without the NUL character, as a claim gave them (and `complete`,
 * `release` and `extend` take an array of them). Anything else is refused
 * before the engine, with a `StoreError` that is not retryable (the same
 * call would meet it again): sent, it failed differently on each engine,
 * applied in part on one, and on Redis as a failure worth retrying; an id
 * with NUL failed the whole batch on PostgreSQL, which cannot read it, and
 * was a lease not held on the others. A token is opaque: one no claim gave
 * (NUL, half a surrogate pair, anything) is a lease not held on every
 * engine, and fails nothing.
 *
 * Internal: not an entry point of the package.
 */
import { describe } from "../internal/options.ts"

/** What is wrong with `lease`, or undefined. */
const wrongLease = (lease: unknown): string | undefined => {
  if (typeof lease !== "object" || lease === null) return `is not a lease (an object with an id and a token): ${describe(lease)}`
  const { id, token } = lease as { readonly id: unknown; readonly token: unknown }
  if (typeof id !== "string") return `has an id that is not a string: ${describe(id)}`
  if (typeof token !== "string") return `has a token that is not a string: ${describe(token)}`
  if (id.includes("\u0000")) return `has an id with the NUL character (\\u0000), which no claim gives: ${describe(id)}`
  return undefined
}

/** Why the batch `leases` is refused, naming the first lease that is wrong; undefined if none is. */
export const refusal = (leases: unknown): string | undefined => {
  if (!Array.isArray(leases)) return `the leases must be an array, got ${describe(leases)}`
  for (let i = 0; i < leases.length; i++) {
    const wrong = wrongLease(leases[i])
    if (wrong !== undefined) return `the lease at [${i}] ${wrong}`
  }
  return undefined
}

/** Why the one lease `lease` is refused; undefined if it is a lease. */
export const oneRefusal = (lease: unknown): string | undefined => {
  const wrong = wrongLease(lease)
  return wrong === undefined ? undefined : `the lease ${wrong}`
}
