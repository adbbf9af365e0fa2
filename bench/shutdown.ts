/**
 * Workload 5, this pool only: how long closing an idle pool takes, and how far
 * past its deadline a drain returns when a job hangs. Both on the real clock,
 * timed with `performance.now()` inside the Effect (so neither module loading
 * nor `runPromise` is counted).
 */
import * as Effect from "effect/Effect"
import * as References from "effect/References"
import { Pool } from "../src/index.ts"
import { type Summary, summarize } from "./kit/numbers.ts"

export interface ShutdownResult {
  /** Milliseconds `shutdown()` took on an idle pool of `workers` workers. */
  readonly idleCloseMs: Summary
  readonly idleCloses: number
  readonly workers: number
  /** Milliseconds past `drainTimeoutMs` at which a drain with one hanging job returned. */
  readonly overshootMs: Summary
  readonly drains: number
  readonly drainTimeoutMs: number
}

/** Makes an idle pool, then times its `shutdown()`. */
const idleClose = (workers: number) =>
  Effect.scoped(Effect.gen(function*() {
    const pool = yield* Pool.make({ workers, handler: () => Effect.void })
    const startedAt = performance.now()
    yield* pool.shutdown()
    return performance.now() - startedAt
  }))

/** Starts a job that never ends, then times a drain with a deadline of `timeoutMs`. */
const hangingDrain = (timeoutMs: number) =>
  Effect.scoped(Effect.gen(function*() {
    const pool = yield* Pool.make({ workers: 1, handler: () => Effect.never })
    yield* pool.submit(0)
    // Wait until the job runs, so the drain really waits on it.
    for (let i = 0; (yield* pool.stats).active === 0; i++) {
      if (i > 10_000) return yield* Effect.die(new Error("the hanging job never started"))
      yield* Effect.yieldNow
    }
    const startedAt = performance.now()
    const report = yield* pool.shutdown({ timeout: `${timeoutMs} millis` })
    const elapsed = performance.now() - startedAt
    if (!report.timedOut || report.interrupted.length !== 1) {
      return yield* Effect.die(new Error("the drain did not time out on the hanging job"))
    }
    return elapsed - timeoutMs
  })).pipe(
    // The deadline logs a warning by design; it is not news here.
    Effect.provideService(References.MinimumLogLevel, "Error")
  )

const repeat = async (times: number, once: () => Promise<number>): Promise<Array<number>> => {
  const samples: Array<number> = []
  for (let i = 0; i < times; i++) samples.push(await once())
  return samples
}

export const measureShutdown = async (sizes: {
  readonly workers: number
  readonly idleCloses: number
  readonly drains: number
  readonly drainTimeoutMs: number
}): Promise<ShutdownResult> => {
  // Warm-up: the first close also pays for compiling the shutdown path.
  await repeat(Math.max(1, Math.floor(sizes.idleCloses / 10)), () => Effect.runPromise(idleClose(sizes.workers)))
  const idle = await repeat(sizes.idleCloses, () => Effect.runPromise(idleClose(sizes.workers)))
  const overshoot = await repeat(sizes.drains, () => Effect.runPromise(hangingDrain(sizes.drainTimeoutMs)))
  return {
    idleCloseMs: summarize(idle),
    idleCloses: sizes.idleCloses,
    workers: sizes.workers,
    overshootMs: summarize(overshoot),
    drains: sizes.drains,
    drainTimeoutMs: sizes.drainTimeoutMs
  }
}
