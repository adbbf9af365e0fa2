/**
 * The admin operations on a queue, for `Durable.admin` (a process with no
 * workers) and for every durable pool: each argument checked with the
 * vocabulary of `../internal/options.ts` (a bad one is a `PoolConfigError`
 * naming it), then the store asked. `redrive()` and `remove()` without ids
 * take every dead letter there is when they begin, a batch per round trip.
 *
 * Internal: not an entry point of the package.
 */
import * as Effect from "effect/Effect"
import type { Admin, AdminError } from "../Durable.ts"
import * as Checks from "../internal/options.ts"
import { isInvalid } from "../internal/options.ts"
import { configError } from "../internal/poolOptions.ts"
import * as Cursor from "./cursor.ts"
import { type JobInfo, type JobState, type Store, StoreError } from "./Store.ts"

/** The pool's `deadLetters`: checks `limit` and the options, then asks the store. */
const deadLetters = (store: Store, queue: string): Admin["deadLetters"] => (limit = 100, options) => {
  const checked = Checks.checked("options", () => {
    Checks.positiveInteger("limit", limit)
    if (options === undefined) return {}
    const given = Checks.record("options", options)
    Checks.refuseUnknown(given, deadLetterOptions, "deadLetters", {})
    const most = Checks.field(given, "maxPayloadBytes", "maxPayloadBytes")
    return {
      maxPayloadBytes: most === undefined ? undefined : Checks.positiveInteger("maxPayloadBytes", most),
      after: afterOf(given)
    }
  })
  if (Checks.isInvalid(checked)) return Effect.fail(configError(checked))
  const { after, maxPayloadBytes } = checked
  const listed = store.buried(queue, limit, maxPayloadBytes, after)
  return after === undefined ? listed : Effect.flatMap(listed, (page) => paged(page, after, "buried", "dead letters"))
}

const deadLetterOptions: ReadonlySet<string> = new Set(["maxPayloadBytes", "after"])

/** The option `after` of `given`, checked: a cursor, or undefined. */
const afterOf = (given: object): string | undefined => {
  const after = Checks.field(given, "after", "after")
  const refused = after === undefined ? undefined : Cursor.refusal(after)
  if (refused !== undefined) Checks.refuse("after", `${refused}, got ${Checks.describe(after)}`)
  return after as string | undefined
}

/**
 * A page asked for `after` a cursor, refused if the store did not page it:
 * a store of the caller's that gives no cursors, or that listed the job
 * `after` names itself (it ignored `after`, and would give the first page
 * for ever to a caller paging to the end).
 */
const paged = <A extends { readonly cursor?: string | undefined }>(
  page: ReadonlyArray<A>,
  after: string,
  operation: "buried" | "upcoming",
  what: string
): Effect.Effect<ReadonlyArray<A>, StoreError> =>
  page.every((job) => typeof job.cursor === "string" && job.cursor !== after)
    ? Effect.succeed(page)
    : Effect.fail(
      new StoreError({
        operation,
        reason: `the store cannot list ${what} after a cursor: it gave one without a cursor, or ignored \`after\``,
        retryable: false
      })
    )

/** The pool's `upcoming`: checks `limit` and the options, then asks the store, if it can list them. */
const upcoming = (store: Store, queue: string): Admin["upcoming"] => (limit = 100, options) => {
  const checked = Checks.checked("options", () => {
    Checks.positiveInteger("limit", limit)
    if (options === undefined) return undefined
    const given = Checks.record("options", options)
    Checks.refuseUnknown(given, upcomingOptions, "upcoming", {})
    return afterOf(given)
  })
  if (Checks.isInvalid(checked)) return Effect.fail(configError(checked))
  if (store.upcoming === undefined) return Effect.succeed(undefined)
  const listed = store.upcoming(queue, limit, checked)
  return checked === undefined ? listed : Effect.flatMap(listed, (page) => paged(page, checked, "upcoming", "upcoming jobs"))
}

const upcomingOptions: ReadonlySet<string> = new Set(["after"])

/** An id argument, checked: a string every store can keep, as `submit` takes. */
const idOf = (id: unknown) => Checks.checked("id", () => Checks.keepableJobId(id))

/**
 * An `ids` argument, checked: an iterable of ids as `idOf` takes, read
 * once. Not a string (nor a `String` object): itself an iterable of
 * strings, its characters, so `remove("inv-1")` would remove the dead
 * letters "i", "n" and "v".
 */
const idsOf = (ids: Iterable<string>) =>
  Checks.checked("ids", () => {
    if (typeof ids === "string" || ids instanceof String) {
      return Checks.refuse("ids", `must be an iterable of ids, got the string ${Checks.describe(ids)}: pass [id] for one`)
    }
    const list = Checks.payloadList(ids, "ids")
    for (const id of list) {
      if (typeof id !== "string") Checks.refuse("ids", `must hold strings, got ${Checks.describe(id)}`)
      Checks.keepableJobId(id, "ids")
    }
    return list
  })

/** How many dead letters `redrive()` and `remove()` without ids take per round trip. */
const everyBatch = 500

/**
 * The admin operations on `queue`. `cancelled` is told of each job the
 * store cancelled while leased: a pool stops its own delivery at once,
 * rather than at its next heartbeat.
 */
export const make = (store: Store, queue: string, cancelled: (id: string) => void): Admin => {
  /** `operate` on each dead letter there is when it begins, a batch per round trip. */
  const everyDeadLetter = (operate: (ids: ReadonlyArray<string>) => Effect.Effect<number, StoreError>) =>
    Effect.gen(function*() {
      // At most as many as were counted now, oldest first: one redriven, failing and
      // buried again meanwhile comes after them, and is not taken twice. A batch that
      // another caller took first (none of it done here) is passed over, not an end.
      const { buried } = yield* store.counts(queue)
      let listed = 0
      let done = 0
      while (listed < buried) {
        const batch = yield* store.buried(queue, Math.min(everyBatch, buried - listed), 0)
        if (batch.length === 0) break
        listed += batch.length
        done += yield* operate(batch.map((job) => job.id))
      }
      return done
    })
  const byIds = (operate: (ids: ReadonlyArray<string>) => Effect.Effect<number, StoreError>) =>
  (ids?: Iterable<string>): Effect.Effect<number, AdminError> =>
    Effect.suspend((): Effect.Effect<number, AdminError> => {
      if (ids === undefined) return everyDeadLetter(operate)
      const checked = idsOf(ids)
      return isInvalid(checked) ? Effect.fail(configError(checked)) : operate(checked)
    })
  return {
    counts: store.counts(queue),
    deadLetters: deadLetters(store, queue),
    upcoming: upcoming(store, queue),
    lookup: (id) =>
      Effect.suspend((): Effect.Effect<JobInfo | undefined, AdminError> => {
        const checked = idOf(id)
        return isInvalid(checked) ? Effect.fail(configError(checked)) : store.lookup(queue, checked)
      }),
    redrive: byIds((ids) => store.redrive(queue, ids)),
    remove: byIds((ids) => store.remove(queue, ids)),
    cancel: (id) =>
      Effect.suspend((): Effect.Effect<JobState | undefined, AdminError> => {
        const checked = idOf(id)
        if (isInvalid(checked)) return Effect.fail(configError(checked))
        return Effect.map(store.cancel(queue, checked), (found) => {
          if (found === "leased") cancelled(checked)
          return found
        })
      }),
    cancelWaiting: cancelWaiting(store, queue),
    pause: pausing(store, queue, true),
    resume: pausing(store, queue, false),
    isPaused: canPause(store) ? store.paused(queue) : Effect.succeed(false)
  }
}

/** How many waiting jobs `cancelWaiting` cancels per round trip. */
const waitingBatch = 1_000

/**
 * `cancelWaiting`: as many as were counted waiting when it begins, a batch
 * per round trip (so that it ends, whatever is offered meanwhile), or a
 * refusal from a store that cannot.
 */
const cancelWaiting = (store: Store, queue: string): Effect.Effect<number, StoreError> => {
  const cancelBatch = store.cancelWaiting
  if (cancelBatch === undefined) return cannot("cancelWaiting", "cancel a queue's waiting jobs at once (it has no `cancelWaiting`)")
  return Effect.gen(function*() {
    const { ready } = yield* store.counts(queue)
    // A store of the caller's that counts no whole number would have the loop run for ever, or ask for a fraction.
    if (!Number.isSafeInteger(ready) || ready < 0) {
      return yield* Effect.fail(
        new StoreError({ operation: "counts", reason: `the store counted ${Checks.describe(ready)} jobs waiting, not an integer >= 0`, retryable: false })
      )
    }
    let done = 0
    while (done < ready) {
      const asked = Math.min(waitingBatch, ready - done)
      const cancelled = Math.min(asked, yield* cancelBatch(queue, asked))
      done += cancelled
      if (cancelled < asked) break
    }
    return done
  })
}

/**
 * Whether `store` can pause a queue: it has `pause` and `paused` both. One
 * that could pause but not say so (or the other way) would show a paused
 * queue running.
 */
const canPause = (
  store: Store
): store is Store & { readonly pause: NonNullable<Store["pause"]>; readonly paused: NonNullable<Store["paused"]> } =>
  store.pause !== undefined && store.paused !== undefined

/** `pause` or `resume`: the store's, or a refusal from a store that cannot pause. */
const pausing = (store: Store, queue: string, paused: boolean): Effect.Effect<boolean, StoreError> =>
  canPause(store) ? store.pause(queue, paused) : cannot("pause", "pause a queue (it needs `pause` and `paused`)")

/** A store without an optional operation: a refusal the same call would meet again. */
const cannot = (operation: string, what: string): Effect.Effect<never, StoreError> =>
  Effect.fail(new StoreError({ operation, reason: `the store cannot ${what}`, retryable: false }))

