/**
 * A handler module that never finishes loading: its top-level `await` never
 * settles, and a timer keeps its thread alive meanwhile (as a module waiting
 * for a connection that never comes would). Loaded by threads, never by the tests.
 */
await new Promise(() => {
  setInterval(() => {}, 1_000)
})

export { handler } from "./threadJobs.ts"
