/**
 * `Shutdown` as the pools see it: the public module and the pools' own part
 * of it (a policy resolved over the pool's own) under one name: the pools
 * call `Shutdown.resolve` beside `Shutdown.drain`, and users see only the
 * public part.
 *
 * @internal
 */
// The internal half comes first, for the reason `Job.ts` beside this file gives.
export { defaultResolved, resolve, type Resolved } from "../policy.ts"
export * from "../../Shutdown.ts"
