/**
 * Hostile values for the tests of what users hand the library: a function
 * that throws, a Proxy whose every trap throws, a revoked Proxy.
 */

/** Throws; as a getter or a Proxy's trap, it makes reading throw. */
export const boom = (): never => {
  throw new Error("hostile")
}

/** A Proxy whose every trap throws. */
export const throwingProxy = (): object =>
  new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom })

/** A Proxy revoked already: even `Array.isArray` throws on it. */
export const revokedProxy = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}
