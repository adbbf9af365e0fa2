/**
 * Delayed jobs: a job submitted with a `delay` is accepted at once into a
 * place it holds in the backlog (so it counts against `capacity`, and memory
 * stays bounded), waits in the pool's timetable (`PoolState.delayed`), and
 * joins the back of the backlog when it is due, to run like any other job.
 *
 * One fiber per pool waits for the earliest due time on the pool's `Clock`
 * (so the `TestClock` drives it), and is woken when a job due earlier comes
 * in: 100,000 delayed jobs cost a timetable node each, not a fiber or a
 * timer each. Due times are on the clock's monotonic time, in nanoseconds,
 * so that a correction of the wall clock neither runs a job early nor holds
 * it back.
 *
 * A delayed job leaves the timetable in one of three ways: it is due (moved
 * into the backlog); it is cancelled (by its `run` caller, or `cancel.ts`),
 * ended at once as `cancelled` (`withdraw`); or the shutdown begins first, and
 * it is handed back as abandoned (`takeNotDue`), whatever the backlog policy:
 * a drain does not wait for jobs that are not due, so that it stays bounded.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ledger from "./ledger.ts"
import type { Entry, PoolState } from "./state.ts"

/** Now, in nanoseconds of the pool's clock's monotonic time. */
const now = <A, B, E, R>(state: PoolState<A, B, E, R>): number => Number(state.clock.monotonicTimeNanosUnsafe())

/**
 * How early, in nanoseconds, a job still counts as due: a guard against
 * rounding, not a rule. Due times are whole nanoseconds, but the timer sleeps
 * for a number of milliseconds (a float), and the `TestClock` advances its
 * monotonic time by its milliseconds rounded to nanoseconds; a sleep meant to
 * reach a due time could end a nanosecond short of it, and the job would
 * wait for another sleep (under the `TestClock`, for the next adjustment).
 */
const slack = 1_000

/**
 * Accepts `entry`, to start once `delayNanos` have passed, if there is room
 * for it (a place held in the backlog): says whether it did.
 */
export const schedule = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>,
  delayNanos: number
): boolean => {
  if (!Ledger.hold(state, entry)) return false
  state.delayed.add(entry, now(state) + delayNanos)
  return true
}

/**
 * Moves the jobs that are due into the back of the backlog, earliest first,
 * each into the place it held: the room in the backlog does not change.
 */
export const moveDue = <A, B, E, R>(state: PoolState<A, B, E, R>): void => {
  const { backlog, delayed } = state
  if (delayed.size() === 0) return
  const at = now(state) + slack
  for (let entry = delayed.takeDue(at); entry !== undefined; entry = delayed.takeDue(at)) {
    backlog.release()
    // Cannot fail: the place was held, and the backlog ends only after the
    // shutdown has taken every delayed job (`takeNotDue`).
    backlog.offer(entry)
    if (state.metrics !== undefined) Ledger.ready(state, entry)
  }
}

/**
 * A delayed job whose caller gave up on it (`entry.cancelled` is set) leaves
 * now: ended as `cancelled`, its place given back. Says whether `entry` was
 * a delayed job not due yet; the caller then hands the room to the waiters.
 */
export const withdraw = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): boolean => {
  if (!state.delayed.remove(entry)) return false
  state.backlog.release()
  Ledger.cancelled(state, entry)
  return true
}

/**
 * The shutdown began: the jobs that are due go to the backlog, and those
 * that are not are taken out, their places given back. Returns the latter,
 * earliest first, for the ledger to abandon. Nothing is scheduled after
 * this: the pool accepts nothing more.
 */
export const takeNotDue = <A, B, E, R>(state: PoolState<A, B, E, R>): Array<Entry<A, B, E>> => {
  moveDue(state)
  const notDue = state.delayed.takeAll()
  for (let i = 0; i < notDue.length; i++) state.backlog.release()
  return notDue
}

/**
 * The pool's one timer: moves what is due, then sleeps until the earliest
 * due time, or until a job due earlier comes in, for as long as the pool
 * runs. It is interrupted with the workers' scope.
 */
export const timer = <A, B, E, R>(state: PoolState<A, B, E, R>): Effect.Effect<never> => {
  const { clock, delayed } = state
  const step = Effect.suspend(() => {
    moveDue(state)
    const earliest = delayed.earliest()
    if (earliest === undefined) return delayed.changed
    // The sleep is the clock's, so that the TestClock decides when it ends.
    const wait = Duration.millis(Math.max(0, earliest - now(state)) / 1_000_000)
    return Effect.raceFirst(clock.sleep(wait), delayed.changed)
  })
  return Effect.forever(step)
}
