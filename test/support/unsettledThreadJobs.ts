/**
 * A handler module whose top-level `await` never settles, with nothing else
 * to keep its thread alive: Node ends the thread at once, with exit code 13.
 * Loaded by threads, never by the tests.
 */
await new Promise(() => {})

export { handler } from "./threadJobs.ts"
