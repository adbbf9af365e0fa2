/**
 * What a failed delivery leaves behind, where a person can read it: its
 * failure as text (the dead letter's `error`, the log lines' `error`), an
 * info line for each failed attempt that will be retried, and a warning for
 * a job dead-lettered.
 *
 * The text is the handler's own failure, not a rendering of the whole
 * `Cause`: Effect's `Cause.pretty` turns a failure that is not an `Error`
 * (a string, say) into an `Error` of its own, whose stack is the library's
 * frames. Here:
 *
 * - a tagged error (an object with a string `_tag`): its tag and fields, as JSON;
 * - an `Error`: its stack, which starts with its name and message (or the
 *   two alone, when it has no stack);
 * - a string, as it is; anything else, as `Formatter.format` renders it;
 * - a timeout (`JobTimeoutError`): its tag and message ("job x timed out
 *   after 5 seconds"); a payload that did not decode (`SchemaError`): its
 *   message, which says what did not decode;
 * - a defect: `died: ` and the defect, rendered as above; a handler that
 *   interrupted itself: `interrupted`.
 *
 * The settler logs as it tells the store (`settler.ts`).
 *
 * Internal: not an entry point of the package.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Formatter from "effect/Formatter"
import * as Schema from "effect/Schema"
import { keptText } from "../internal/options.ts"
import { prefix } from "../internal/prefix.ts"
import { quietly } from "../internal/quietly.ts"
import { JobTimeoutError } from "../Job.ts"
import { PermanentError } from "./retryable.ts"

/** The longest failure text kept: a dead letter is a record, not a log file. */
export const maxLength = 10_000

/**
 * A delivery's failure as text: readable, without the NUL character (which
 * PostgreSQL cannot store), half a UTF-16 surrogate pair as U+FFFD (as
 * Redis and PostgreSQL would store it: the same text on every store), at
 * most `maxLength` characters, never cut between the two halves of a pair.
 */
export const describe = (cause: Cause.Cause<unknown>): string => prefix(keptText(renderSafely(cause)), maxLength)

/**
 * `render`, for any value at all: a handler may fail with a Proxy whose
 * traps throw, or an object whose getter does. The text is read inside the
 * pool's ending hook, where a throw would take the worker with it.
 */
const renderSafely = (cause: Cause.Cause<unknown>): string => {
  try {
    return render(cause)
  } catch (error) {
    return `a failure that could not be read (${readError(error)})`
  }
}

/** What reading a failure threw, said without reading anything that may throw again. */
const readError = (error: unknown): string => {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : typeof error
  } catch {
    return "unreadable"
  }
}

const render = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.findError(cause)
  if (failure._tag === "Success") return errorText(failure.success)
  const defect = Cause.findDefect(cause)
  if (defect._tag === "Success") return `died: ${valueText(defect.success)}`
  return Cause.hasInterrupts(cause) ? "interrupted" : "failed without an error"
}

/** A failure the handler (or the pool, for a timeout or a decode) failed with. */
const errorText = (error: unknown): string => {
  if (error instanceof JobTimeoutError) return `${error._tag}: ${error.message}`
  if (Schema.isSchemaError(error)) return `${error._tag}: ${error.message}`
  if (error instanceof PermanentError) return `${error._tag}: ${error.reason}`
  return valueText(error)
}

/** Any value a handler failed or died with. */
const valueText = (value: unknown): string => {
  if (typeof value === "string") return value
  // Its tag first, then its fields (an own `_tag` keeps its place; one on the prototype is copied).
  if (isTagged(value)) return Formatter.formatJson(Object.assign({ _tag: value._tag }, value))
  if (value instanceof Error) {
    const header = `${value.name}: ${value.message}`
    return typeof value.stack === "string" && value.stack.startsWith(header) ? value.stack : header
  }
  return Formatter.format(value)
}

const isTagged = (value: unknown): value is { readonly _tag: string } =>
  typeof value === "object" && value !== null && "_tag" in value && typeof value._tag === "string"

/** What is logged of a failed attempt: the job, its queue, which attempt, and why. */
export interface Attempt {
  readonly id: string
  readonly queue: string
  readonly attempt: number
  /** As `describe` renders it. */
  readonly error: string
}

/** An attempt failed and the job will run again after `delay`: an info line. */
export const attemptFailed = (attempt: Attempt, delay: Duration.Duration): Effect.Effect<void> =>
  quietly(Effect.logInfo("job attempt failed; retrying").pipe(Effect.annotateLogs({
    jobId: attempt.id,
    queue: attempt.queue,
    attempt: attempt.attempt,
    retryIn: Duration.format(delay),
    error: attempt.error
  })))

/** The handler snoozed its job: it runs again after `delay`, as the same attempt. A debug line: nothing failed. */
export const snoozed = (attempt: Attempt, delay: Duration.Duration): Effect.Effect<void> =>
  quietly(Effect.logDebug("job snoozed").pipe(Effect.annotateLogs({
    jobId: attempt.id,
    queue: attempt.queue,
    attempt: attempt.attempt,
    snoozedFor: Duration.format(delay)
  })))

/** The last attempt failed (or the payload did not decode): the job is dead-lettered. A warning. */
export const deadLettered = (last: Attempt): Effect.Effect<void> =>
  quietly(Effect.logWarning("job dead-lettered").pipe(Effect.annotateLogs({
    jobId: last.id,
    queue: last.queue,
    attempts: last.attempt,
    error: last.error
  })))

/**
 * The store did not take a retry or a burial: the lease was no longer held
 * (the job was cancelled, or its lease ran out and it was claimed again, so
 * that it may run twice). An info line: the job is where the store has it.
 */
export const notTaken = (attempt: Attempt): Effect.Effect<void> =>
  attemptLine(attempt, "job attempt failed; its lease was no longer held, so the store left the job as it was")

/**
 * A retry or a burial tried again after a failure that may have hidden its
 * taking (a timeout), and refused as no longer held: either that earlier
 * try took it, or the lease had gone. An info line.
 */
export const unknownEnding = (attempt: Attempt): Effect.Effect<void> =>
  attemptLine(
    attempt,
    "job attempt failed; the store's answer to telling it was lost, and a second try found its lease no longer held: the first try may have taken it"
  )

/**
 * The pool stopped before the store answered a retry or a burial: the job
 * runs again once its lease runs out, unless a try already sent reaches
 * the store.
 */
export const untold = (attempt: Attempt): Effect.Effect<void> =>
  attemptLine(attempt, "job attempt failed; the pool stopped before the store answered its ending")

/** An info line about `attempt`, with its id, queue, number and failure. */
const attemptLine = (attempt: Attempt, message: string): Effect.Effect<void> =>
  quietly(Effect.logInfo(message).pipe(
    Effect.annotateLogs({
      jobId: attempt.id,
      queue: attempt.queue,
      attempt: attempt.attempt,
      error: attempt.error
    })
  ))
