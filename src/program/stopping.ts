/**
 * How a run stops on a signal: the first signal while the pool runs ends the
 * run's work (submitting, or taking jobs from the store) and the run drains.
 * The main fiber is never interrupted by a signal, so the drain, the report
 * and the exit code the run returns are never cut off.
 */
import { Deferred, Effect, Exit } from "effect"
import type { Signal, Signals } from "./signals.ts"

/**
 * Hands the signals to the run now that its pool runs. Returns an effect that
 * waits for the first signal; `notice` says, at that moment, what the signal
 * does.
 */
export const stopOnSignal = (signals: Signals, say: (line: string) => void, notice: () => string) =>
  Effect.sync(() => {
    const first = Deferred.makeUnsafe<Signal>()
    signals.running({
      say,
      stop: (signal) => {
        say(`${signal} received: ${notice()} Signal again to stop at once.`)
        Deferred.doneUnsafe(first, Exit.succeed(signal))
      }
    })
    return Deferred.await(first)
  })

/** `work` until it ends (its exit) or a signal comes first (`"stopped"`, and the work is interrupted). */
export const untilStopped = <A, E, R>(
  work: Effect.Effect<A, E, R>,
  stopped: Effect.Effect<Signal>
): Effect.Effect<Exit.Exit<A, E> | "stopped", never, R> =>
  Effect.raceFirst(Effect.exit(work), Effect.as(stopped, "stopped" as const))
