/**
 * The deadlines of a store's operations in flight, kept by one fiber per
 * store: each operation runs in a fiber of the store's scope, and its caller
 * waits for that fiber's exit or its deadline, whichever comes first; a
 * deadline that comes first fails the caller and interrupts the operation
 * in the background (a statement may take seconds to let go of a server
 * that does not answer).
 *
 * Why not `Effect.timeout` per operation: racing each operation with a sleep
 * forks two fibers more and arms a timer per operation, about a third of a
 * Redis round trip's CPU in the client. Here an operation costs an entry in
 * a heap (`timetable.ts`) and an observer of its fiber; the one fiber wakes
 * when the deadline it sleeps until comes (once per timeout, busy or idle,
 * since each new deadline is later than those before it), or when a
 * deadline earlier than that one comes in. Deadlines are read on the
 * callers' `Clock`, so a `TestClock` moves them as it moves a sleep.
 *
 * Internal: not an entry point of the package.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Timetable from "../internal/timetable.ts"

/** An operation in flight: what to do if its deadline comes first. */
interface Pending {
  readonly expire: () => void
}

/** A store's deadlines: the operations in flight, and whether their fiber runs. */
export interface Deadlines {
  readonly scope: Scope.Scope
  readonly duration: number
  readonly table: Timetable.Timetable<Pending>
  watching: boolean
}

/** The deadlines of a store whose operations last at most `duration`, run in `scope`. */
export const make = (duration: Duration.Duration, scope: Scope.Scope): Deadlines => ({
  scope,
  duration: Duration.toMillis(duration),
  table: Timetable.make(),
  watching: false
})

/** Expires the operations whose deadline has come, then waits for the next one, or for an earlier one, for ever. */
const watch = (deadlines: Deadlines, clock: Clock.Clock): Effect.Effect<never> =>
  Effect.forever(Effect.suspend(() => {
    const now = Timetable.monotonicMillis(clock)
    for (let due = deadlines.table.takeDue(now); due !== undefined; due = deadlines.table.takeDue(now)) due.expire()
    const next = deadlines.table.earliest()
    return next === undefined
      ? deadlines.table.changed
      : Effect.raceFirst(clock.sleep(Duration.millis(next - now)), deadlines.table.changed)
  }))

/**
 * `operation` in a fiber of the store's scope, started in the caller's
 * step (scheduled, the request would wait for a later turn of the event
 * loop): its exit, or `late` once the deadline has come first. Interrupting
 * the caller interrupts the operation in the background.
 */
export const within = <A, E>(
  deadlines: Deadlines,
  operation: Effect.Effect<A, E>,
  late: () => E
): Effect.Effect<Exit.Exit<A, E>, E> =>
  Effect.withFiber((caller) => {
    const clock = caller.getRef(Clock.Clock)
    const run = Effect.flatMap(Effect.forkIn(operation, deadlines.scope, { startImmediately: true }), (fiber) => {
      // An operation that answered in the caller's step (the memory store's) needs no deadline.
      const done = fiber.pollUnsafe()
      return done !== undefined ? Effect.succeed(done) : Effect.callback<Exit.Exit<A, E>, E>((resume) => {
        const pending: Pending = {
          expire: () => {
            stopObserving()
            resume(Effect.andThen(abandon(deadlines, fiber), Effect.fail(late())))
          }
        }
        deadlines.table.add(pending, Timetable.monotonicMillis(clock) + deadlines.duration)
        const stopObserving = fiber.addObserver((exit) => {
          deadlines.table.remove(pending)
          resume(Effect.succeed(exit))
        })
        return Effect.suspend(() => {
          stopObserving()
          deadlines.table.remove(pending)
          return abandon(deadlines, fiber)
        })
      })
    })
    // While the watcher runs, an operation skips `startWatching`; those that read the flag before
    // it was set reach that function's own check, so that one watcher starts.
    return deadlines.watching ? run : Effect.andThen(startWatching(deadlines, clock), run)
  })

/**
 * Starts the watcher, unless one runs: marked and forked in one step that
 * nothing can interrupt (a caller interrupted between the two would leave
 * the store's deadlines marked as watched by no one), and unmarked when it
 * ends (its scope closed), so that a later operation starts another.
 */
const startWatching = (deadlines: Deadlines, clock: Clock.Clock): Effect.Effect<void> =>
  Effect.uninterruptible(Effect.suspend(() => {
    if (deadlines.watching) return Effect.void
    deadlines.watching = true
    const watching = Effect.ensuring(
      watch(deadlines, clock),
      Effect.sync(() => {
        deadlines.watching = false
      })
    )
    return Effect.asVoid(Effect.forkIn(Effect.interruptible(watching), deadlines.scope))
  }))

/** Interrupts `fiber` in the background, in the store's scope. */
const abandon = <A, E>(deadlines: Deadlines, fiber: Fiber.Fiber<A, E>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(Fiber.interrupt(fiber), deadlines.scope))
