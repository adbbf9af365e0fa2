/**
 * The PostgreSQL store's listener: a connection of its own (`Runner.listen`)
 * that `LISTEN`s on the channel the statements that make
 * jobs ready notify (`statements.ts`), and keeps the notifications of its
 * queue. Once its connection is lost, the wait for the next notification
 * fails, and the pool's wakeup listens again with its own backoff
 * (`wakeup.ts`).
 *
 * A notification reaches its waiter in a microtask after the connection
 * read it, not a scheduler turn later: the connection hands it to a
 * `Queue`, which resumes a waiting taker through the scheduler of the fiber
 * that made it, and a default scheduler's task waits for a turn of the event
 * loop (one more between an offer and its claim). The queue is made under a
 * scheduler of microtasks (`Scheduler.MixedScheduler("sync")`) instead; it
 * is the queue's only use of it, and that connection runs nothing else.
 *
 * A listener may connect elsewhere than the statements (`listenUrl`, past a
 * pooler in transaction mode): `hears` checks at the store's start that it
 * hears what the statements notify.
 *
 * Internal: not an entry point of the package.
 */
import { randomBytes } from "node:crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Scheduler from "effect/Scheduler"
import * as Scope from "effect/Scope"
import type { SqlError } from "effect/sql/SqlError"
import { StoreError } from "../Store.ts"
import { closeGrace, closeWithin, reach } from "./connection.ts"
import { storeError } from "./errors.ts"
import type { Runner } from "./runner.ts"
import { wakeupChannel, wakeupPayloadLength } from "./statements.ts"

/** What a notification for `queue` carries: its first characters, as `left()` counts them (code points). */
const payloadOf = (queue: string): string => Array.from(queue).slice(0, wakeupPayloadLength).join("")

/** The scheduler the notifications' queue resumes its taker with: in a microtask. */
const atOnce = new Scheduler.MixedScheduler("sync")

/** Listens for `queue` until the scope closes; gives the wait for its next notification. */
export const listen = (
  runner: Runner,
  queue: string
): Effect.Effect<Effect.Effect<void, StoreError>, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const notifications = yield* Effect.provideService(runner.listen(wakeupChannel), Scheduler.Scheduler, atOnce)
    const mine = payloadOf(queue)
    // Every queue of the database notifies one channel: skip the others'.
    const next: Effect.Effect<void, SqlError> = Effect.suspend(() =>
      Effect.flatMap(Queue.take(notifications), (notification) => notification.payload === mine ? Effect.void : next)
    )
    return Effect.mapError(next, storeError("listen"))
  }).pipe(Effect.mapError(storeError("listen")))

/** `error`, said to be about the listener at `listenUrl`. */
const atListenUrl = (error: StoreError): StoreError =>
  new StoreError({
    operation: error.operation,
    reason: `listening at listenUrl: ${error.reason}`,
    retryable: error.retryable,
    cause: error.cause
  })

/**
 * Fails unless a listener of `runner` hears a notification that one of its
 * statements sends: reached within `deadline` (tried again as `make`
 * reaches its server), then the notification sent and heard within
 * `deadline`. A listener on another database, or past a pooler in
 * transaction mode, would hear nothing, and every idle pool would wait for
 * its poll: that failure is not retryable (the settings are wrong). The
 * listener's connection is closed as the store's own are, within
 * `closeGrace`: its `UNLISTEN` waits for a server that may hang.
 */
export const hears = (runner: Runner, deadline: Duration.Duration): Effect.Effect<void, StoreError> =>
  Effect.acquireUseRelease(
    Scope.make(),
    (scope) => Scope.provide(probe(runner, deadline), scope),
    (scope) => closeWithin(scope, closeGrace)
  )

/** `hears`, its listener in the scope given. */
const probe = (runner: Runner, deadline: Duration.Duration): Effect.Effect<void, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const channel = `effect_worker_pool_probe_${randomBytes(8).toString("hex")}`
    const notifications = yield* Effect.mapError(reach(deadline, runner.listen(channel)), atListenUrl)
    const heard = Effect.andThen(
      Effect.mapError(runner.run("SELECT pg_notify($1, '')", [channel], false), storeError("connect")),
      Effect.mapError(Queue.take(notifications), (error) => atListenUrl(storeError("connect")(error)))
    )
    yield* Effect.timeoutOrElse(heard, {
      duration: deadline,
      orElse: () =>
        Effect.fail(
          new StoreError({
            operation: "connect",
            reason: `a listener at listenUrl heard nothing the store's statements notified within ${
              Duration.format(deadline)
            }: listenUrl must reach the same database, directly or through a pooler in session mode`,
            retryable: false
          })
        )
    })
  })
