/**
 * Completing without keeping the jobs (`{ keep: false }`: a `DELETE`) on
 * PostgreSQL, against a real server, racing what can meet it on the same
 * row: one side runs inside a transaction of the application's client and
 * holds it open; the other side is sent by another store meanwhile; the
 * transaction commits once the other side waits for it (a backend waiting
 * on a lock, in `pg_stat_activity`). Each race must end as one of the two
 * orders would have.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Duration, Effect, Exit, Fiber, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Boundary from "../src/durable/boundary.ts"
import { limitsOf } from "../src/durable/postgres/limits.ts"
import * as Runner from "../src/durable/postgres/runner.ts"
import { makeEngine } from "../src/durable/postgres/store.ts"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import type { Store } from "../src/durable/Store.ts"
import { pgRows } from "./support/admin.ts"
import { queueNames, sharedPostgres } from "./support/sharedServer.ts"
import { waitUntil } from "./support/waitUntil.ts"

const shared = sharedPostgres()
const queueName = queueNames("races")
const minute = Duration.minutes(1)
const drop = { keep: false }

/**
 * The PostgreSQL engine on the application's client with every statement in
 * the client's transaction, when one is open (the store's own puts only
 * offers there): a statement run in a transaction held open keeps its row
 * locks until the commit. And another store, on a pool of its own.
 */
const stores = Effect.gen(function*() {
  const sql = yield* PgClient.make({ url: Redacted.make(shared().url) }).pipe(Effect.provide(Reactivity.layer), Effect.orDie)
  const other = yield* PostgresStore.make({ url: shared().url })
  const joining = Runner.onClient(sql)
  const limits = limitsOf(joining.maxMessageSize)
  const inTransaction = Boundary.makeStore(makeEngine({ ...joining, runOwn: joining.run }, limits), {
    engine: "postgres",
    maxPayloadBytes: limits.payload
  })
  return { sql, inTransaction, other }
})

/** Whether a statement on the jobs table waits for a lock. */
const someoneWaits = () =>
  Effect.map(
    pgRows(
      shared().url,
      "SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%effect_worker_pool_jobs%'"
    ),
    (rows) => (rows[0]![0] as number) > 0
  )

/**
 * Runs `first` in a transaction of `sql`, then `second` while it is open;
 * commits once `second` waits for it. Returns both results.
 */
const whileOpen = <A, B, E1, E2>(
  sql: PgClient.PgClient,
  first: Effect.Effect<A, E1>,
  second: Effect.Effect<B, E2>
) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<A, E1>()
    const commit = yield* Deferred.make<void>()
    const transaction = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function*() {
      // Its failure too: the test then fails with it instead of waiting for ever.
      const outcome = yield* Effect.exit(first)
      yield* Deferred.done(done, outcome)
      if (Exit.isSuccess(outcome)) yield* Deferred.await(commit)
    })))
    const a = yield* Deferred.await(done)
    const other = yield* Effect.forkChild(second)
    yield* waitUntil("the other side waits for the open transaction", someoneWaits(), 10_000)
    yield* Deferred.succeed(commit, undefined)
    yield* Fiber.join(transaction)
    return [a, yield* Fiber.join(other)] as const
  })

/** A queue holding job "a", leased from `store`: the queue and the lease. */
const leased = (store: Store, lease = minute) =>
  Effect.gen(function*() {
    const queue = queueName()
    yield* store.offer(queue, [{ id: "a", payload: "first" }])
    const claimed = yield* store.claim(queue, 1, lease)
    return { queue, claimed }
  })

describe("PostgreSQL: a completion that deletes, racing", () => {
  it.live("an offer of the same id waits for the delete, then stores a new job", () =>
    Effect.scoped(Effect.gen(function*() {
      const { inTransaction, other, sql } = yield* stores
      const { claimed, queue } = yield* leased(other)
      const [, refused] = yield* whileOpen(
        sql,
        inTransaction.complete(queue, claimed, drop),
        other.offer(queue, [{ id: "a", payload: "second" }])
      )
      assert.deepStrictEqual(refused, [])
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 1, leased: 0, completed: 1, buried: 0 })
      const [again] = yield* other.claim(queue, 1, minute)
      assert.deepStrictEqual([again?.id, again?.payload, again?.attempt], ["a", "second", 1])
    })))

  it.live("a cancel waits for the delete, then finds no job", () =>
    Effect.scoped(Effect.gen(function*() {
      const { inTransaction, other, sql } = yield* stores
      const { claimed, queue } = yield* leased(other)
      const [, found] = yield* whileOpen(sql, inTransaction.complete(queue, claimed, drop), other.cancel(queue, "a"))
      assert.strictEqual(found, undefined)
      assert.strictEqual(yield* other.lookup(queue, "a"), undefined)
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    })))

  it.live("a delete waits for a cancel, then deletes nothing: the job stays cancelled, not counted completed", () =>
    Effect.scoped(Effect.gen(function*() {
      const { inTransaction, other, sql } = yield* stores
      const { claimed, queue } = yield* leased(other)
      const [found] = yield* whileOpen(sql, inTransaction.cancel(queue, "a"), other.complete(queue, claimed, drop))
      assert.strictEqual(found, "leased")
      assert.strictEqual((yield* other.lookup(queue, "a"))?.state, "cancelled")
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 0, leased: 0, completed: 0, buried: 0 })
    })))

  it.live("a stale holder's delete waits for the claim that took its lease over, then leaves the new holder's job", () =>
    Effect.scoped(Effect.gen(function*() {
      const { inTransaction, other, sql } = yield* stores
      const { claimed: stale, queue } = yield* leased(other, Duration.millis(100))
      yield* waitUntil("the lease runs out", Effect.map(other.lookup(queue, "a"), (job) => job!.runAt!.getTime() < Date.now() - 50), 5_000)
      const [taken] = yield* whileOpen(sql, inTransaction.claim(queue, 1, minute), other.complete(queue, stale, drop))
      assert.deepStrictEqual(taken.map((job) => [job.id, job.attempt]), [["a", 2]])
      assert.strictEqual((yield* other.lookup(queue, "a"))?.state, "leased", "a stale lease deleted the job")
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
      yield* other.complete(queue, taken, drop)
      assert.strictEqual(yield* other.lookup(queue, "a"), undefined)
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    })))
  it.live("an extend held open: the delete waits, follows the moved row by id, deletes it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { inTransaction, other, sql } = yield* stores
      const { claimed, queue } = yield* leased(other)
      const [lost] = yield* whileOpen(sql, inTransaction.extend(queue, claimed, minute), other.complete(queue, claimed, drop))
      assert.deepStrictEqual(lost, [], "the lease was held when the extend ran")
      assert.strictEqual(yield* other.lookup(queue, "a"), undefined, "the delete lost the row the extend moved")
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    })))
  it.live("a delete held open: an extend waits, then renews nothing and answers the lease as no longer held", () =>
    Effect.scoped(Effect.gen(function*() {
      const { inTransaction, other, sql } = yield* stores
      const { claimed, queue } = yield* leased(other)
      const [, lost] = yield* whileOpen(sql, inTransaction.complete(queue, claimed, drop), other.extend(queue, claimed, minute))
      assert.deepStrictEqual(lost, ["a"])
      assert.strictEqual(yield* other.lookup(queue, "a"), undefined)
      assert.deepStrictEqual(yield* other.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
    })))
})
