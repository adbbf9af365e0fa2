/**
 * `Job` as the pools see it: the public module and the pools' own part of
 * it (ids, the check of a job's options) under one name: the pools call
 * `Job.validate` and `Job.unchecked` beside `Job.Job`, and users see only
 * the public part.
 *
 * @internal
 */
// The internal half comes first: the declaration build (`stripInternal`)
// drops the first statement of a module whose doc comment says `@internal`,
// and the public half must stay in the declarations the pools refer to.
export { unchecked, validate } from "../job.ts"
export * from "../../Job.ts"
