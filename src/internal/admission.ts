/**
 * Admission: which submits get into the backlog, in what order, and which
 * are refused.
 *
 * A submit gets in at once if there is room and nobody waits before it;
 * otherwise it waits in the pool's own list of waiters, admitted in the
 * order they came as workers free room. The pool keeps its own list, rather
 * than suspending offers in an Effect `Queue`, so that a submit still
 * waiting when the shutdown begins is refused, never accepted later (an
 * offer suspended in a `Queue` is still accepted after `Queue.end`, once
 * room frees up).
 *
 * A job with a `delay` is admitted the same way, in the same order, into a
 * place it holds in the backlog until it is due (`delayed.ts`).
 *
 * A waiter is accepted in its own step, the one in which its submit returns:
 * freed room is first held for it (`Backlog.hold`), and it takes the place
 * once it runs again. Accepted before that, a caller interrupted in between
 * (a `submit` under a timeout) would be told nothing was accepted while its
 * job ran. Meanwhile a submit that comes later takes room beyond the held
 * places, if there is any: its job may then reach the backlog a step before
 * the waiter's.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Job from "../Job.ts"
import * as Delayed from "./delayed.ts"
import * as JobOptions from "./job.ts"
import type { PoolClosedError, PoolConfigError, PoolFullError } from "../Pool.ts"
import { isInvalid, unreadable } from "./options.ts"
import * as Ledger from "./ledger.ts"
import { DelayedEntry, type Entry, makeEntry, type PoolState, type Waiter } from "./state.ts"
import * as Tracing from "./tracing.ts"

/**
 * Puts `entry` in the backlog if there is room and nobody waits before it.
 * (Room only frees up when a worker takes a job, and the worker hands it to
 * the waiters at once; the check keeps their order should a fiber slip in
 * between.)
 */
export const offer = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): boolean =>
  state.waiters.size === 0 && Ledger.enqueue(state, entry)

/** `offer`, for a job with a delay: holds its place and schedules it if there is room and nobody waits before it. */
export const offerDelayed = <A, B, E, R>(state: PoolState<A, B, E, R>, delayed: DelayedEntry<A, B, E>): boolean =>
  state.waiters.size === 0 && Delayed.schedule(state, delayed.entry, delayed.delayNanos)

/** Accepts `entry` (with its delay, if any) if there is room, whoever waits: for the waiters' turn. */
const admit = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>, delayNanos: number | undefined) =>
  delayNanos === undefined ? Ledger.enqueue(state, entry) : Delayed.schedule(state, entry, delayNanos)

const refusal = <A, B, E, R>(state: PoolState<A, B, E, R>) => Effect.fail(new state.settings.errors.Closed())

/** Hands freed room to waiting submits, in the order they came: a place held for each. */
export const admitWaiters = <A, B, E, R>(state: PoolState<A, B, E, R>): void => {
  // Once shutdown began, nobody is admitted: the waiters are being refused.
  if (!state.accepting) return
  for (const waiter of state.waiters) {
    if (!state.backlog.hold()) return
    state.waiters.delete(waiter)
    waiter.resume(takePlace(state, waiter))
  }
}

/**
 * What an admitted waiter goes on with. `resume` runs the waiting fiber
 * right here, inside the worker that freed the room. It yields first, so
 * that it goes on once the workers have made room for more than this one
 * job (a producer resumed inline would fill the one free place and wait
 * again, a suspension per job); then, in the step its submit returns in, it
 * takes the place held for it, and its job is accepted. Interrupted before
 * that step (during the yield, or at a yield of the runtime's own), it
 * accepts nothing, and its place goes to the next waiter; a shutdown begun
 * meanwhile refuses it, as it refuses every waiter.
 */
const takePlace = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  waiter: Waiter<A, B, E>
): Effect.Effect<Job.Job<A>, PoolClosedError> => {
  let held = true
  return Effect.onInterrupt(
    Effect.andThen(
      Effect.yieldNow,
      Effect.suspend(() => {
        held = false
        state.backlog.release()
        return state.accepting && admit(state, waiter.entry, waiter.delayNanos)
          ? Effect.succeed(waiter.entry.job)
          : refusal(state)
      })
    ),
    () =>
      Effect.sync(() => {
        if (!held) return
        held = false
        state.backlog.release()
        admitWaiters(state)
      })
  )
}

/**
 * Waits for room, then accepts `entry` (a job with a delay of `delayNanos`,
 * if given); refused if the shutdown begins first.
 */
export const waitForRoom = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  entry: Entry<A, B, E>,
  delayNanos?: number
): Effect.Effect<Job.Job<A>, PoolClosedError> =>
  Effect.callback<Job.Job<A>, PoolClosedError>((resume) => {
    // Checked again: shutdown may have begun, or room freed up, since the caller looked.
    if (!state.accepting) return resume(refusal(state))
    if (state.waiters.size === 0 && admit(state, entry, delayNanos)) return resume(Effect.succeed(entry.job))
    // A waiter without a delay has no `delayNanos` field at all: its shape stays the one it always had.
    const waiter: Waiter<A, B, E> = delayNanos === undefined ? { entry, resume } : { entry, delayNanos, resume }
    state.waiters.add(waiter)
    return Effect.sync(() => {
      state.waiters.delete(waiter)
    })
  })

/**
 * From now on nothing is accepted, and the submits waiting for room are
 * refused. The whole list is detached before anyone is resumed: a refused
 * caller goes on inline, and whatever it does (free room by letting a job
 * end, say) must not find the others still waiting to be admitted.
 */
export const stopAccepting = <A, B, E, R>(state: PoolState<A, B, E, R>): void => {
  state.accepting = false
  const refused = Array.from(state.waiters)
  state.waiters.clear()
  for (const waiter of refused) waiter.resume(refusal(state))
}

/**
 * A job whose caller gave up on it (`entry.cancelled` is set): if it is a
 * delayed job not due yet, it leaves now (`delayed.ts`), and its place goes
 * to the submits waiting for room. Any other is left to whoever holds it.
 */
export const withdraw = <A, B, E, R>(state: PoolState<A, B, E, R>, entry: Entry<A, B, E>): void => {
  if (Delayed.withdraw(state, entry)) admitWaiters(state)
}

/**
 * Makes the entry for a submit (with its delay, for a job that has one), or
 * the error that refuses it.
 */
export const entryFor = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  payload: A,
  options: Job.Options | undefined,
  reply: Entry<A, B, E>["reply"]
): Entry<A, B, E> | DelayedEntry<A, B, E> | PoolClosedError | PoolConfigError => {
  const { errors } = state.settings
  if (!state.accepting) return new errors.Closed()
  // No options: nothing to check, and no delay.
  if (options === undefined) return submitted(state, JobOptions.unchecked(payload), reply)
  const job = JobOptions.validate(payload, options)
  if (isInvalid(job)) return new errors.Config({ option: job.option, reason: job.reason })
  return job instanceof JobOptions.DelayedJob
    ? new DelayedEntry(submitted(state, job.job, reply), job.delayNanos)
    : submitted(state, job, reply)
}

/** The entry of a job submitted now, with the span current in the submitting fiber if the pool traces. */
const submitted = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  job: Job.Job<A>,
  reply: Entry<A, B, E>["reply"]
): Entry<A, B, E> => {
  const entry = makeEntry<A, B, E>(job, reply)
  if (state.settings.tracing) entry.parent = Tracing.currentSpan()
  return entry
}

// `submit` and `trySubmit` are the per-job path: no span, no fiber, no
// allocation beyond the job and its entry when there is room. They answer
// with the job itself when it is accepted at once (a job is never an
// Effect), and `Submission` (`runtime.ts`) hands it to the caller's fiber
// without wrapping it in an `Exit`.

/** `submit`: accepts a job, or the effect that waits while the backlog is full, or refuses it. */
export const submit = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  payload: A,
  options: Job.Options | undefined
): Job.Job<A> | Effect.Effect<Job.Job<A>, PoolClosedError | PoolConfigError> => {
  const entry = entryFor(state, payload, options, undefined)
  if (!("job" in entry)) {
    if (!(entry instanceof DelayedEntry)) return Effect.fail(entry)
    return offerDelayed(state, entry) ? entry.entry.job : waitForRoom(state, entry.entry, entry.delayNanos)
  }
  return offer(state, entry) ? entry.job : waitForRoom(state, entry)
}

/** The id and attempt of a job handed to `deliver`: a claimed job's, as its store gave them. */
export interface Delivery {
  readonly id: string
  readonly attempt: number
}

/**
 * `submit` for a caller that vouches for the job's id and attempt (a durable
 * pool's fetcher, with a job its store gave it): no options to check. Each
 * claimed job goes through here, and the check of `submit`'s options (a
 * record read field by field, its unknown keys looked for) was 6 % of the
 * durable pool's own path (36,014 against 33,874 instructions a job).
 */
export const deliver = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  payload: A,
  delivery: Delivery
): Job.Job<A> | Effect.Effect<Job.Job<A>, PoolClosedError> => {
  if (!state.accepting) return refusal(state)
  const entry = submitted(state, JobOptions.vouched(payload, delivery.id, delivery.attempt), undefined)
  return offer(state, entry) ? entry.job : waitForRoom(state, entry)
}

/** `trySubmit`: accepts a job if there is room now, else the effect that refuses it as full. */
export const trySubmit = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  payload: A,
  options: Job.Options | undefined
): Job.Job<A> | Effect.Effect<Job.Job<A>, PoolClosedError | PoolFullError | PoolConfigError> => {
  const entry = entryFor(state, payload, options, undefined)
  if (!("job" in entry)) {
    if (!(entry instanceof DelayedEntry)) return Effect.fail(entry)
    if (offerDelayed(state, entry)) return entry.entry.job
  } else if (offer(state, entry)) return entry.job
  return Effect.fail(new state.settings.errors.Full({ capacity: state.settings.capacity }))
}

/**
 * `submitAll`: accepts a job for each item in order, in a plain loop while
 * there is room and an effect only to wait for it. `items` may be the
 * caller's array: its length and elements can be getters or a Proxy's traps
 * that throw. The jobs accepted before are told in the error, and run.
 */
export const submitAll = <A, B, E, R>(
  state: PoolState<A, B, E, R>,
  items: ReadonlyArray<A>
): Effect.Effect<Array<Job.Job<A>>, PoolClosedError | PoolConfigError> => {
  const { errors } = state.settings
  const jobs: Array<Job.Job<A>> = []
  const closed = () => Effect.fail(new errors.Closed({ accepted: jobs.length }))
  const rest = (): Effect.Effect<Array<Job.Job<A>>, PoolClosedError | PoolConfigError> => {
    try {
      while (jobs.length < items.length) {
        if (!state.accepting) return closed()
        const entry = submitted<A, B, E, R>(state, JobOptions.unchecked(items[jobs.length]), undefined)
        if (!offer(state, entry)) return Effect.matchEffect(waitForRoom(state, entry), { onFailure: closed, onSuccess })
        jobs.push(entry.job)
      }
    } catch (error) {
      return Effect.fail(new errors.Config({ ...unreadable("payloads", error), accepted: jobs.length }))
    }
    return Effect.succeed(jobs)
  }
  const onSuccess = (job: Job.Job<A>) => {
    jobs.push(job)
    return rest()
  }
  return rest()
}
