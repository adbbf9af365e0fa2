/**
 * A store written outside this package (a `Store` the caller implements,
 * or one of ours with an operation replaced), held to what the engines'
 * boundary (`boundary.ts`) already holds ours to: an operation that throws,
 * that returns something other than an Effect (an `async` function's
 * Promise), whose effect dies, or whose answer is not what it must be (an
 * array, or whether a lease was taken: `answers`), fails with a `StoreError` naming
 * the operation, `retryable` false, as a defect of one of our engines does.
 * The pool then says so where it would otherwise have gone on without a
 * word (a claim that threw stopped the pool claiming, with its jobs left
 * ready for ever): a claim is logged and tried again with the backoff, an
 * ending is logged and its lease runs out, a producer's or an admin's call
 * fails with it.
 *
 * An operation left unanswered past the store's `commandTimeout` (5 seconds
 * unless it says otherwise) fails with a retryable `StoreError`, as one of
 * our engines' does past theirs, and is interrupted in the background,
 * never waited for: a claim that hung would otherwise stop the pool
 * claiming without a word. `listen`'s wait for a notification is not
 * bounded; its set-up is. An operation of one of our stores, kept by a
 * store that took the others over, keeps its engine's own bound only.
 *
 * It takes the store as `config.ts` reads it: a plain object of operations
 * bound to the caller's store (so that a class's methods are among them;
 * ours kept as they are), its `commandTimeout` a checked `Duration`.
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { describe } from "../internal/options.ts"
import { effectOrDie } from "../internal/userEffect.ts"
import { isOwnOperation, unexpected } from "./boundary.ts"
import * as Cursor from "./cursor.ts"
import { type Store, StoreError } from "./Store.ts"

/** A store's bound when it gives none: our engines' own `commandTimeout` default. */
export const defaultCommandTimeout = Duration.seconds(5)

/** What an operation whose answer is read must answer, and how to say so. */
interface Answer {
  readonly holds: (answer: unknown) => boolean
  readonly expected: string
}

const anArray: Answer = { holds: Array.isArray, expected: "an array" }
/** Listed jobs (dead letters, upcoming jobs) whose cursors, if any, are of the one form every store gives and reads back (`cursor.ts`). */
const listing = (what: string): Answer => ({
  holds: (answer) =>
    Array.isArray(answer) &&
    answer.every((job) => {
      const cursor: unknown = job?.cursor
      return cursor === undefined || Cursor.refusal(cursor) === undefined
    }),
  expected: `an array of ${what} whose cursors, if any, are digits with at most one '.', then maybe ':' and base64url`
})
const aBoolean: Answer = { holds: (answer) => typeof answer === "boolean", expected: "true or false" }
const aCount: Answer = { holds: (answer) => Number.isSafeInteger(answer) && (answer as number) >= 0, expected: "an integer >= 0" }
const taken: Answer = {
  holds: (answer) => answer === undefined || typeof answer === "boolean",
  expected: "true, false or nothing"
}

/**
 * The operations whose answer is read: one that answered anything else
 * would be misread, and fail later or count wrong. An array (of jobs with
 * cursors of the form a later call takes back, for `buried` and
 * `upcoming`: one of another form would be refused as the caller's
 * `after`); or whether a lease was taken (`Taken`).
 */
const answers: ReadonlyMap<string, Answer> = new Map([
  ["offer", anArray],
  ["claim", anArray],
  ["extend", anArray],
  ["buried", listing("dead letters")],
  ["upcoming", listing("upcoming jobs")],
  ["retry", taken],
  ["bury", taken],
  ["cancelWaiting", aCount],
  ["pause", aBoolean],
  ["paused", aBoolean]
])

/** What a caller's operation gave back, as an effect: a thrown error, a value that is no Effect, or a wrong answer is a defect. */
const called = (name: string, run: () => unknown): Effect.Effect<unknown, unknown, unknown> => {
  const effect = effectOrDie<unknown, unknown, unknown>(run(), `the store's ${name}`)
  const expected = answers.get(name)
  return expected === undefined ? effect : Effect.map(effect, (answer) => {
    if (!expected.holds(answer)) throw new TypeError(`the store's ${name} answered ${describe(answer)}, not ${expected.expected}`)
    return answer
  })
}

/** A store's operation, as this module sees it: anything in, anything out. */
type Operation = (...args: ReadonlyArray<unknown>) => unknown

/**
 * `effect` in a fiber of its own, its caller failed with a retryable
 * `StoreError` once `timeout` has passed without an answer. The operation
 * is then interrupted in the background, never waited for: letting go may
 * take as long as it likes (a statement cancelled on a server that does not
 * answer), or never come (an operation that cannot be interrupted).
 */
const within = <A>(name: string, effect: Effect.Effect<A, unknown, unknown>, timeout: Duration.Duration) =>
  !Duration.isFinite(timeout) ? effect : Effect.flatMap(
    Effect.forkDetach(effect, { startImmediately: true }),
    (fiber) => {
      const abandon = Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber)))
      return Effect.timeoutOrElse(Effect.flatMap(Fiber.await(fiber), (exit) => answer(name, exit)), {
        duration: timeout,
        orElse: () =>
          Effect.andThen(
            abandon,
            Effect.fail(new StoreError({ operation: name, reason: `no answer within ${Math.ceil(Duration.toMillis(timeout))} ms` }))
          )
      }).pipe(Effect.onInterrupt(() => abandon))
    }
  )

/** An operation's exit, as its caller gets it: interrupted without the caller being so, a defect. */
const answer = <A>(name: string, exit: Exit.Exit<A, unknown>): Effect.Effect<A, unknown> =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
    ? Effect.die(new Error(`the store's ${name} was interrupted`))
    : exit

/**
 * `operation`, with every way it can go wrong outside its error channel
 * turned into a `StoreError`; bounded by `timeout` unless it is a
 * listener's wait.
 */
const guardedOperation = (name: string, operation: Operation, timeout: Duration.Duration) =>
(
  ...args: ReadonlyArray<unknown>
) =>
  Effect.catchDefect(
    within(name, Effect.suspend(() => called(name, () => operation(...args))), timeout),
    (defect) => Effect.fail(unexpected(name, defect))
  )

/** `listen`, guarded twice: setting the listener up (bounded), and each wait it gives back (not). */
const guardedListen = (listen: Operation, timeout: Duration.Duration): Store["listen"] => {
  const setUp = guardedOperation("listen", listen, timeout)
  return (queue) =>
    Effect.map(setUp(queue), (next) => guardedOperation("listen", () => next, Duration.infinity)()) as ReturnType<
      NonNullable<Store["listen"]>
    >
}

/** The bound the guard gives `operation`: none for one of our stores', which its engine bounds already. */
const boundOf = (operation: unknown, timeout: Duration.Duration): Duration.Duration =>
  isOwnOperation(operation) ? Duration.infinity : timeout

/** `store`, each of its operations guarded (see the module's note). */
export const guarded = (store: Store): Store => {
  const timeout = Duration.fromInputUnsafe(store.commandTimeout ?? defaultCommandTimeout)
  const operations: Record<string, unknown> = {}
  for (const [name, operation] of Object.entries(store)) {
    operations[name] = typeof operation !== "function"
      ? operation
      : name === "listen"
      ? guardedListen(operation as Operation, boundOf(operation, timeout))
      : guardedOperation(name, operation as Operation, boundOf(operation, timeout))
  }
  return operations as unknown as Store
}
