/**
 * The steps between a notification and its claim: a store's listener that
 * hears one from its connection (a socket's callback, outside any fiber)
 * resumes the wakeup there, and the fetcher, idle on an empty queue, sends
 * its claim in that same step: no scheduler turn (a turn of the event loop
 * each) between an offer and its pickup; and it sleeps by what its short
 * claim read of `due`, without a round trip of its own. PostgreSQL's listener hears what
 * its connection read in a microtask, not a scheduler turn later. The memory store's notifications
 * come a scheduler step after the offer that sent them, as a remote store's
 * would: a caller that offers a job and cancels it at once finds it ready.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as PgConnection from "@effect/sql-pg/PgConnection"
import { Clock, Duration, Effect, Exit, Queue, Schema, Scope } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { TestClock } from "effect/testing"
import * as Leases from "../src/durable/leases.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import * as PgListener from "../src/durable/postgres/listener.ts"
import type { Runner } from "../src/durable/postgres/runner.ts"
import { wakeupChannel } from "../src/durable/postgres/statements.ts"
import type { Store } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"
import { answeredByHand, startFetcher } from "./support/fetcher.ts"
import { settle } from "./support/workload.ts"

/** Runs `f` in a callback of the event loop, as a socket's data would come: outside any fiber. */
const fromTheEventLoop = <A>(f: () => A | PromiseLike<A>) =>
  Effect.promise(() => new Promise<A>((resolve) => setImmediate(() => resolve(f()))))

describe("Wakeup steps", () => {
  it.effect("a notification heard in a callback sends the idle fetcher's claim before that callback returns", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      let claims = 0
      // The listener's waiter, as a Redis subscriber's callback or a socket's handler would resume it.
      let waiter: ((effect: Effect.Effect<void>) => void) | undefined
      const store: Store = {
        ...memory,
        claim: (queue, max, lease) =>
          Effect.suspend(() => {
            claims++
            return memory.claim(queue, max, lease)
          }),
        listen: () =>
          Effect.succeed(Effect.callback<void>((resume) => {
            waiter = resume
          }))
      }
      const scope = yield* Scope.make()
      yield* startFetcher(store, scope, { pollInterval: Duration.hours(1) })
      yield* TestClock.adjust(0)
      yield* settle
      // Idle: its claims came back short, and it waits for a notification (the poll is an hour away).
      const before = claims
      assert.isAbove(before, 0)
      assert.isDefined(waiter)
      // Stored without a notification the fetcher hears (the memory store's own goes to no one here).
      yield* memory.offer("q", [{ id: "a", payload: "x" }])
      yield* settle
      assert.strictEqual(claims, before)
      const inTheCallback = yield* fromTheEventLoop(() => {
        waiter!(Effect.void)
        return claims
      })
      assert.strictEqual(inTheCallback, before + 1, "the claim waited for a later step")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("woken by a notification, the idle fetcher sends its claim before its sleep is cut", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const order: Array<string> = []
      let waiter: ((effect: Effect.Effect<void>) => void) | undefined
      const store: Store = {
        ...memory,
        claim: (queue, max, lease) =>
          Effect.suspend(() => {
            order.push("claim")
            return memory.claim(queue, max, lease)
          }),
        listen: () =>
          Effect.succeed(Effect.callback<void>((resume) => {
            waiter = resume
          }))
      }
      // The idle wait's sleep, telling when it is cut.
      const clock = yield* Clock.Clock
      const sleepsSaid: Clock.Clock = {
        ...clock,
        sleep: (duration) => Effect.onInterrupt(clock.sleep(duration), () => Effect.sync(() => order.push("sleep cut")))
      }
      const scope = yield* Scope.make()
      yield* Effect.provideService(startFetcher(store, scope, { pollInterval: Duration.hours(1) }), Clock.Clock, sleepsSaid)
      yield* TestClock.adjust(0)
      yield* settle
      order.length = 0
      yield* fromTheEventLoop(() => waiter!(Effect.void))
      assert.deepStrictEqual(order, ["claim", "sleep cut"], "the sleep was cut before the claim was sent")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("notifications heard while a claim is in flight are kept: one more claim at once after it comes back short, not two", () =>
    Effect.gen(function*() {
      const hand = answeredByHand(yield* MemoryStore.make)
      // The listener's waiter, resumed by hand as a subscriber's callback would.
      let waiter: ((effect: Effect.Effect<void>) => void) | undefined
      const store: Store = {
        ...hand.store,
        listen: () =>
          Effect.succeed(Effect.callback<void>((resume) => {
            waiter = resume
          }))
      }
      const notify = () => {
        const resume = waiter
        waiter = undefined
        resume!(Effect.void)
      }
      const scope = yield* Scope.make()
      yield* startFetcher(store, scope, { pollInterval: Duration.hours(1) })
      yield* settle
      // Short answers until it is idle (the listener's start is a notification too).
      for (let answered = 0; answered < hand.claims.length; answered++) {
        hand.answer(answered, 0)
        yield* settle
      }
      const idle = hand.claims.length
      assert.isDefined(waiter)
      notify()
      yield* settle
      assert.strictEqual(hand.claims.length, idle + 1, "woken: one claim")
      // Two notifications while that claim is in flight: about jobs it may not see.
      notify()
      yield* settle
      notify()
      yield* settle
      assert.strictEqual(hand.claims.length, idle + 1)
      hand.answer(idle, 0)
      yield* settle
      assert.strictEqual(hand.claims.length, idle + 2, "the notifications heard during the claim were lost")
      hand.answer(idle + 1, 0)
      yield* settle
      assert.strictEqual(hand.claims.length, idle + 2, "they collapse into one claim")
      yield* hand.close(scope)
    }))

  it.effect("a short claim's jobs start in the pool before the fetcher goes idle: its workers wake in a scheduler task, and the fetcher's idle wait comes after", () =>
    Effect.gen(function*() {
      const { answer, close, store } = answeredByHand(yield* MemoryStore.make)
      const order: Array<string> = []
      // The fetcher's idle wait is a sleep on its clock: going idle is its first sleep.
      const clock = yield* Clock.Clock
      const sleepsSaid: Clock.Clock = {
        ...clock,
        sleep: (duration) =>
          Effect.suspend(() => {
            order.push("idle")
            return clock.sleep(duration)
          })
      }
      const scope = yield* Scope.make()
      yield* Effect.provideService(
        startFetcher(store, scope, {
          pollInterval: Duration.hours(1),
          // As the pool's deliver: the job is queued, and a worker starts it in a later task of the scheduler.
          deliver: (payload) => Effect.forkDetach(Effect.sync(() => order.push(`started ${payload}`)))
        }),
        Clock.Clock,
        sleepsSaid
      )
      yield* settle
      // One job where two would fit: short, and the next job due in a minute.
      answer(0, 1, 60_000)
      yield* settle
      assert.deepStrictEqual(order, ["started 1", "idle"], "the fetcher went idle before the pool started the job")
      yield* close(scope)
    }))

  it.effect("an idle fetcher sleeps by its short claim's reading of due, without asking the store's due", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      let asked = 0
      const store: Store = {
        ...memory,
        due: (queue) =>
          Effect.suspend(() => {
            asked++
            return memory.due!(queue)
          })
      }
      // Waits 300 ms for its time: the first claim, short, says so.
      yield* memory.offer("q", [{ id: "later", payload: "x", delay: 300 }])
      const delivered: Array<readonly [unknown, number]> = []
      const scope = yield* Scope.make()
      yield* startFetcher(store, scope, {
        deliver: (payload) => Effect.map(Clock.currentTimeMillis, (now) => delivered.push([payload, now]))
      })
      yield* TestClock.adjust(299)
      assert.deepStrictEqual(delivered, [])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(delivered, [["x", 300]], "claimed when its time came, not at the poll")
      assert.strictEqual(asked, 0, "the store's due was asked: a round trip the claim had answered")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a short claim's reading counts down from when it came: an older claim answering later does not lengthen the sleep", () =>
    Effect.gen(function*() {
      // Claims answered by hand, in any order; each answer says how many jobs, and what it read of due.
      const { answer, claims, store } = answeredByHand(yield* MemoryStore.make)
      const scope = yield* Scope.make()
      const { book } = yield* startFetcher(store, scope, { capacity: 4, pipelineAt: 1, pollInterval: Duration.hours(1) })
      yield* settle
      answer(0, 4)
      yield* settle
      // Two claims in flight, each for the lease just freed.
      Leases.end(book, "job-1", Leases.complete)
      yield* settle
      Leases.end(book, "job-2", Leases.complete)
      yield* settle
      assert.strictEqual(claims.length, 3)
      // The later one comes back short at 0: a job waits, due in 500 ms.
      answer(2, 0, 500)
      yield* settle
      // The older one answers 300 ms later (short, but older: its answer says less of the queue).
      yield* TestClock.adjust(300)
      answer(1, 0)
      yield* settle
      yield* TestClock.adjust(199)
      assert.strictEqual(claims.length, 3)
      yield* TestClock.adjust(1)
      assert.strictEqual(claims.length, 4, "claimed when the job's time came, 500 ms after the reading, not 500 ms after going idle")
      answer(3, 0)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("PostgreSQL: a notification its connection read reaches the listener's waiter in a microtask", () =>
    Effect.scoped(Effect.gen(function*() {
      // The connection's side, as `PgConnection` does it: a queue made by the listen call, offered to as messages are read.
      let notifications: Queue.Queue<PgConnection.Notification, SqlError> | undefined
      const runner = {
        listen: () =>
          Effect.map(Queue.unbounded<PgConnection.Notification, SqlError>(), (queue) => {
            notifications = queue
            return queue
          })
      } as unknown as Runner
      const next = yield* PgListener.listen(runner, "q")
      let heard = 0
      yield* Effect.forkScoped(Effect.forever(Effect.andThen(next, Effect.sync(() => heard++))))
      yield* settle
      const read = (payload: string) =>
        fromTheEventLoop(() =>
          new Promise<number>((resolve) => {
            Queue.offerUnsafe(notifications!, { processId: 1, channel: wakeupChannel, payload })
            // Queued after the offer: runs after any microtask the offer queued, before any later turn of the loop.
            queueMicrotask(() => resolve(heard))
          })
        )
      assert.strictEqual(yield* read("q"), 1, "the notification waited for a turn of the event loop")
      // Another queue's notification is skipped; the next of ours is heard the same way.
      assert.strictEqual(yield* read("other"), 1)
      assert.strictEqual(yield* read("q"), 2)
    })))

  it.effect("on the memory store, a job offered to an idle pool and cancelled at once is cancelled while ready", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* Durable.make({
        store,
        queue: "q",
        schema: Schema.String,
        workers: 1,
        pollInterval: "1 hour",
        handler: () => Effect.void
      })
      yield* TestClock.adjust(0)
      yield* settle
      yield* store.offer("q", [{ id: "a", payload: "x" }])
      assert.strictEqual(yield* store.cancel("q", "a"), "ready")
    })))
})
