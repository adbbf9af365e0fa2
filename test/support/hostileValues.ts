/**
 * Values that break code which trusts its input: a Proxy whose every trap
 * throws, and a revoked Proxy, which throws on any use. The options tests of
 * the in-memory pool and of the durable pool try both wherever a value is read.
 */

/** Throws: a trap, a getter or a conversion that explodes. */
export const boom = (): never => {
  throw new Error("hostile")
}

/** A Proxy whose every trap throws. */
export const throwingProxy = (): object =>
  new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom })

/** A Proxy that was revoked: any operation on it throws a TypeError. */
export const revokedProxy = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}
