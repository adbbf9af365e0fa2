/**
 * `Shutdown` as the pools see it: the public module and the pools' own part
 * of it (a policy resolved over the pool's own) under one name, so that the
 * pools call `Shutdown.resolve` as before it left the public module.
 *
 * @internal
 */
// The internal half comes first: the declaration build (`stripInternal`)
// drops the first statement of a module whose doc comment says `@internal`,
// and the public half must stay in the declarations the pools refer to.
export { defaultResolved, resolve, type Resolved } from "../policy.ts"
export * from "../../Shutdown.ts"
