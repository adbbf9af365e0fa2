/**
 * `threadJobs.ts`, loading slowly: a thread takes at least a second to be
 * ready, longer than the deadlines of the tests that use it, so that the
 * time a replacement thread takes to start is seen to be no job's.
 */
await new Promise((resolve) => setTimeout(resolve, 1_000))

export { handler } from "./threadJobs.ts"
