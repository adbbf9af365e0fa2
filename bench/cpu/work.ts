/**
 * The CPU-bound job of the CPU benchmark, as a module every thread pool
 * loads: `handler` for this pool's threads, the default export for piscina
 * and tinypool. A job hashes a 1 KiB buffer `payload` times with SHA-256;
 * `calibrate` picks the count that takes about the wanted time here.
 * `payload` 0 is the trivial job: it does nothing, so that what is measured
 * is each pool's own cost per job.
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import type { Job } from "../../src/index.ts"

const block = Buffer.alloc(1024, 7)

/** Hashes `rounds` times; returns the last digest's first byte, so that nothing is optimized away. */
export const work = (rounds: number): number => {
  let last = 0
  for (let i = 0; i < rounds; i++) last = createHash("sha256").update(block).digest()[0]!
  return last
}

/** How many rounds of `work` take about `ms` milliseconds on this thread. */
export const calibrate = (ms: number): number => {
  work(2_000) // warm up
  const probe = 20_000
  const startedAt = performance.now()
  work(probe)
  const perRound = (performance.now() - startedAt) / probe
  return Math.max(1, Math.round(ms / perRound))
}

/** This pool's handler. */
export const handler = (job: Job.Job<number>) => Effect.sync(() => work(job.payload))

/** piscina's and tinypool's handler. */
export default (rounds: number): number => work(rounds)
