/**
 * The jobs a pool's workers are running now, as a snapshot: read from each
 * worker place's hand (`places.ts` keeps one per worker), so it costs the
 * per-job path nothing and is bounded by the number of workers.
 *
 * A job whose handler returned an effect that had already ended never sits
 * in a hand: it was never running long enough to be seen.
 *
 * Internal: not an entry point of the package.
 */
import type { RunningJob } from "../Pool.ts"
import type { PoolState } from "./state.ts"

/** The jobs running now, by worker. */
export const snapshot = <A, B, E, R>(state: PoolState<A, B, E, R>): Array<RunningJob> => {
  const running: Array<RunningJob> = []
  for (let i = 0; i < state.hands.length; i++) {
    const entry = state.hands[i]?.item
    if (entry === undefined) continue
    running.push({ id: entry.job.id, worker: i + 1, attempt: entry.job.attempt, startedAt: entry.startedAt })
  }
  return running
}
