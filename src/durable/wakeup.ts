/**
 * The fetcher's wakeup: what ends its wait on an empty queue before the
 * next poll. A fiber keeps a listener on the queue (`Store.listen`) and
 * opens a latch on each notification; the fetcher closes the latch before
 * each claim and, when the claim comes back short, waits for the first of
 * the latch or its sleep (until the next waiting job is due, or `pollInterval`). A job offered after the claim read the queue
 * opens the latch, so it is never missed; one offered before is in the
 * claim's answer.
 *
 * The listener is kept through outages with the backoff of `outage.ts` (a
 * fresh one each outage), a warning for each failure (a store's `listen`
 * that throws or dies counts as one; so does a listener lost soon after
 * its set-up before it heard anything, which waits the backoff before the
 * next), and never fails the pool: while it is down, the fetcher polls.
 * Once it listens again, the latch is opened: jobs offered while nobody
 * listened are claimed at once. A store without `listen` is only polled.
 *
 * Internal: not an entry point of the package.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { quietly } from "../internal/quietly.ts"
import * as Outage from "./outage.ts"
import type { Store, StoreError } from "./Store.ts"

/** A queue's wakeups, as the fetcher uses them. */
export interface Wakeup {
  /** Forgets the notifications so far: the claim about to run sees every job they announced. */
  readonly reset: () => void
  /**
   * Waits for a notification since the last `reset`, or for `sleep` to end,
   * whichever comes first; true if a notification ended it.
   */
  readonly wait: (sleep: Effect.Effect<void>) => Effect.Effect<boolean>
}

/**
 * Whether a notification came since the last `reset`, and the idle wait it
 * ends, if one runs: the fetcher's latch. A notification resumes the wait
 * straight from the listener's step (`open`); only the sleep has a fiber.
 * Awaited through `Effect.raceFirst`, the latch would be a fiber forked per
 * idle wait too, and the notification would reach the fetcher through that
 * fiber's exit and the race's resumption, every step of it cold after an
 * idle while, between an offer and its claim.
 */
interface Signal {
  open: boolean
  waiter: (() => void) | undefined
}

/** A notification: kept for the next wait, or ending the one that runs. */
const open = (signal: Signal): void => {
  signal.open = true
  const waiter = signal.waiter
  signal.waiter = undefined
  waiter?.()
}

const notified = Effect.succeed(true)
const slept = Effect.succeed(false)

/**
 * Waits for `signal` to open, or for `sleep` to end. The sleep runs in a
 * fiber of its own, started in this step (a `TestClock` moves it as any
 * sleep); the first to come resumes the wait and ends the other. True if
 * the signal did.
 */
const waitFor = (signal: Signal, sleep: Effect.Effect<void>): Effect.Effect<boolean> =>
  Effect.suspend(() =>
    signal.open ? notified : Effect.flatMap(Effect.forkDetach(sleep, { startImmediately: true }), (sleeper) =>
      Effect.callback<boolean>((resume) => {
        if (signal.open || sleeper.pollUnsafe() !== undefined) {
          sleeper.interruptUnsafe()
          return resume(signal.open ? notified : slept)
        }
        const woken = () => {
          stopObserving()
          // The fetcher first: resumed, it sends its claim before this returns; cutting the sleep (its timer, its fiber's end) can wait until then.
          resume(notified)
          sleeper.interruptUnsafe()
        }
        const stopObserving = sleeper.addObserver(() => {
          if (signal.waiter === woken) signal.waiter = undefined
          resume(slept)
        })
        signal.waiter = woken
        // Interrupted (the fetcher stops): the sleep ends with it, and a later notification is kept.
        return Effect.sync(() => {
          if (signal.waiter === woken) signal.waiter = undefined
          stopObserving()
          sleeper.interruptUnsafe()
        })
      }))
  )

/** Starts listening to `queue` in `scope` (closing it stops the listener), if the store can. */
export const start = (store: Store, queue: string, scope: Scope.Scope): Effect.Effect<Wakeup> =>
  Effect.gen(function*() {
    const listen = store.listen
    if (listen === undefined) return { reset: () => {}, wait: (sleep) => Effect.as(sleep, false) }
    const signal: Signal = { open: false, waiter: undefined }
    yield* Effect.forkIn(keep(listen, queue, signal), scope)
    return {
      reset: () => {
        signal.open = false
      },
      wait: (sleep) => waitFor(signal, sleep)
    }
  })

/**
 * Listens for ever: each notification opens `signal`; a lost listener is
 * listened again, after a warning. One lost soon after its set-up (within
 * the backoff's longest delay) before it heard anything waits the backoff
 * first, doubling with each such loss in a row: a wait that fails at once,
 * set up again at once, would spin. Any other loss (a listener that heard
 * something, or that lived longer: a quiet queue's connection dropped by an
 * idle timeout) is listened again at once.
 */
const keep = (listen: NonNullable<Store["listen"]>, queue: string, signal: Signal): Effect.Effect<never> => {
  let lostAtOnce = 0
  return Effect.forever(Effect.gen(function*() {
    if (lostAtOnce > 0) yield* Effect.sleep(Outage.delayAfter(lostAtOnce))
    const listener = { since: 0, heard: false }
    const lost = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
      const next = yield* listening(listen, queue)
      listener.since = yield* Clock.currentTimeMillis
      // Listening (again): what was offered while nobody listened is claimed now.
      open(signal)
      return yield* Effect.forever(Effect.andThen(
        next,
        Effect.sync(() => {
          listener.heard = true
          open(signal)
        })
      ))
    })))
    const lived = (yield* Clock.currentTimeMillis) - listener.since
    lostAtOnce = listener.heard || lived >= Outage.longestDelayMillis ? 0 : lostAtOnce + 1
    yield* quietly(Effect.logWarning("listening for new jobs failed; polling until it is back", lost.message))
  }))
}

/**
 * Sets up a listener, tried again through an outage with the backoff (and a
 * warning each time). Each attempt has a scope of its own, closed at once
 * when it fails or is interrupted, so a long outage holds nothing; the one
 * that succeeds stays open until the caller's scope closes.
 */
const listening = (
  listen: NonNullable<Store["listen"]>,
  queue: string
): Effect.Effect<Effect.Effect<void, StoreError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const attempt = yield* Scope.make()
    // A store's bug (a throw, a defect) reaches here as a `StoreError` (ours through their
    // boundary, any other through `guard.ts`): a failed listener, tried again while the pool polls.
    return yield* Scope.provide(attempt)(listen(queue)).pipe(
      // Also when the pool stops during the set-up: what it opened so far is closed.
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) ? Effect.addFinalizer(() => Scope.close(attempt, Exit.void)) : Scope.close(attempt, Exit.void)
      )
    )
  }).pipe(
    Effect.tapError((error) => quietly(Effect.logWarning("listening for new jobs failed; retrying", error.message))),
    // Worth trying again whatever the failure: the listener is given up only when the pool stops.
    Effect.retry(Outage.backoff),
    Effect.orDie
  )
