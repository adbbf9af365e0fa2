/**
 * The jobs a pool's workers are running now, as a snapshot: read from each
 * worker place's hand (`places.ts` keeps one per worker), so it costs the
 * per-job path nothing and is bounded by the number of workers.
 *
 * A job whose handler returned an effect that had already ended never sits
 * in a hand: it was never running long enough to be seen.
 *
 * @internal
 */
import type { PoolState } from "./state.ts"

/** A job a worker is running now. */
export interface RunningJob {
  readonly id: string
  /** The 1-based id of the worker running it (`Pool.WorkerId`). */
  readonly worker: number
  /** Its delivery, from 1 (always 1 in memory). */
  readonly attempt: number
  /**
   * When it started, in milliseconds by the pool's `Clock`: known when
   * someone subscribed to the pool's outcomes at that moment (the dashboard
   * does), since the clock is read only then; otherwise `undefined`.
   */
  readonly startedAt: number | undefined
}

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
