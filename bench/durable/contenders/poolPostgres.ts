/**
 * This library's durable pool on PostgreSQL (`PostgresStore`). Prefetch
 * 1,024: with warmed-up consumers, 256, 512 and 1,024 alternating on one
 * server (3 rounds each), medians 19,967 / 22,523 / 24,590 jobs/s with one
 * consumer and 17,834 / 20,414 / 21,345 with two: each claim and each
 * acknowledgement is a round trip, so larger batches pay fewer. It leases
 * up to 1,056 jobs per process, about what pg-boss holds in hand with its
 * batches (up to 1,000) and twice graphile-worker's local queue (500).
 * (With fresh processes, of 32 to 512 tried, 256 and 512 had been best.)
 *
 * `completedRetention: 0`: a completed job is deleted as it completes, as
 * graphile-worker always does (its only mode), rather than rewritten, kept
 * a day and then purged. Alternating against the default on one shared
 * server (14 rounds each, medians): 28,128 against 25,838 jobs/s with one
 * consumer, 28,461 against 22,266 with two; server CPU 28.5 against 38.0
 * and 31.3 against 44.8 µs a job. The Redis contender keeps the default,
 * as BullMQ keeps completed jobs by default.
 *
 * A second claim in flight started only once half the leases were free on
 * PostgreSQL (`Store.overlappingClaimsCostly`), where it had started once the
 * workers' 32 were: that second claim's `SKIP LOCKED` scan read past the
 * first claim's rows. Per run (pg_stat_statements, 25,000 jobs claimed
 * with one consumer, 30,000 with two): with 32, 112-148 claims of about 200
 * jobs, claim 20-52 µs and 15-19 buffers a job; from 128 up, 25 (31 with
 * two consumers) claims of about 1,000, never a second in flight, claim
 * 12-45 µs and 11.5-13 buffers a job, as one claim at a time. Alternating
 * on a loaded machine, medians of 4-5 rounds: with two consumers 30.9k /
 * 36.3k / 37.9k jobs/s with 32 against 39.2k / 44.5k / 48.6k one at a time
 * (half the prefetch, the same claims: 29.8k / 42.0k); with one, 31.1k /
 * 44.6k / 32.9k against 33.3k / 38.1k / 42.1k (half: 35.9k / 49.3k).
 *
 * Now, with 768 leases and more, one claim at a time, each for at most half
 * the leases (528 here), the next sent as soon as one answers: with the
 * half-book second claim, claims of about 1,034 jobs went one after another,
 * the pool idle while the server claimed and the server idle while the pool
 * ran them (a timeline of one consumer: a claim in flight 82 % of the time).
 * `claimPolicy` in `src/durable/fetcher.ts` gives the measurements.
 */
import * as PostgresStore from "../../../src/durable/PostgresStore.ts"
import { durablePool, type Setup } from "./pool.ts"

/** The prefetch: 1,024, or `BENCH_PREFETCH` (for `../versus.ts` only), a whole number from 1. */
const prefetchOf = (setting: string | undefined): number => {
  if (setting === undefined) return 1024
  const prefetch = Number(setting)
  if (!Number.isInteger(prefetch) || prefetch < 1 || setting.trim() === "") {
    throw new Error(`BENCH_PREFETCH: a whole number from 1, got ${JSON.stringify(setting)}`)
  }
  return prefetch
}

/** The store and the settings (`../loadSteps.ts` makes its consumer from them too). */
export const postgresSetup: Setup = {
  connect: (url) => PostgresStore.make({ url }),
  settings: { workers: 32, prefetch: prefetchOf(process.env["BENCH_PREFETCH"]), completedRetention: 0 }
}

export const poolPostgres = durablePool("effect-worker-pool (PostgreSQL)", "postgres", postgresSetup)
