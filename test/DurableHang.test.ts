/**
 * A durable pool's shutdown against a store that hangs: the server stopped
 * with SIGSTOP (its connections stay open and the kernel takes the bytes,
 * but nothing answers). The shutdown must return its report within what the
 * README tells deployers to allow, the drain deadline and then 5 seconds,
 * and so must the release of the whole scope (the store's connections
 * included); the jobs it held are reported, and none is lost: once the
 * server runs again, every job is back in the store. Real servers, real time.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Exit, Redacted, Schema, Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../src/durable/Store.ts"
import { Durable, type Pool } from "../src/index.ts"
import { type ManagedServer, type ServerError, startPostgres, startRedis } from "./support/servers.ts"
import { waitUntil } from "./support/waitUntil.ts"

/** The pool's drain deadline here, and the bound the README gives: it, then up to 5 seconds. */
const drainDeadline = Duration.millis(300)
const bound = Duration.sum(drainDeadline, Duration.seconds(5))
/** What the test allows before it fails: the bound, and a margin for a busy machine. */
const allowed = Duration.sum(bound, Duration.seconds(2))

/** Fails the test (a defect) if `effect` takes longer than `allowed`. */
const withinBound = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: allowed,
    orElse: () => Effect.die(new Error(`${what} took longer than ${Duration.format(allowed)}`))
  })

/**
 * With five jobs the pool is full (two running, two waiting, one left in the
 * store) and its fetcher waits for room; with three it has room, so claims
 * keep going to the store and one is likely in flight when it stops.
 */
const hangingStore = (
  start: Effect.Effect<ManagedServer, ServerError, Scope.Scope>,
  connectTo: (
    server: ManagedServer
  ) => Effect.Effect<(url: string) => Effect.Effect<Store, StoreError | Pool.PoolConfigError, Scope.Scope>, never, Scope.Scope>,
  jobs: 3 | 5
) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* start
    const connect = yield* connectTo(server)
    const queue = `hang-${Date.now()}`
    const ids = ["a", "b", "c", "d", "e"].slice(0, jobs)
    const waiting = Math.min(jobs - 2, 2)
    // The pool and its store live in a scope of their own, released while the server hangs.
    const scope = yield* Scope.make()
    const store = yield* Scope.provide(scope)(connect(server.url))
    const pool = yield* Scope.provide(scope)(Durable.make({
      store,
      queue,
      schema: Schema.String,
      workers: 2,
      prefetch: 2,
      lease: "2 seconds",
      pollInterval: "50 millis",
      shutdown: { timeout: drainDeadline },
      handler: () => Effect.never
    }))
    for (const id of ids) yield* pool.submit(id, { id })
    yield* waitUntil("the pool holds its jobs", Effect.map(pool.stats, (s) => s.active === 2 && s.queued === waiting), 10_000)

    // Now, once the store's connections are open: PostgreSQL's backends for them are frozen too.
    server.pause()
    const { counts, report } = yield* Effect.gen(function*() {
      const report = yield* withinBound("shutdown against a hung store", pool.shutdown())
      // A final read the program may want: bounded by the caller, it returns at once.
      const counts = yield* withinBound("a bounded counts", Effect.timeoutOption(pool.counts, "200 millis"))
      // The store's connections too: releasing the scope (the pool is shut
      // down already) must not wait for the server.
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutOrElse({
        duration: "2 seconds",
        orElse: () => Effect.die(new Error("releasing the store's scope waited for the hung server"))
      }))
      return { counts, report }
    }).pipe(Effect.ensuring(Effect.sync(server.resume)))

    assert.isTrue(report.timedOut)
    const held = [...report.interrupted, ...report.abandoned].map((job) => job.id).sort()
    assert.strictEqual(report.interrupted.length, 2)
    assert.strictEqual(report.abandoned.length, waiting)
    assert.deepStrictEqual(held.filter((id) => ids.includes(id)), held, "a job was reported that the pool never held")
    assert.strictEqual(counts._tag, "None", "the store answered while stopped")

    // Nothing lost: once the server runs again, and their leases run out if
    // the releases never arrived, all five jobs are there to be claimed.
    const after = yield* connect(server.url)
    const claimed: Array<string> = []
    yield* waitUntil(
      "every job can be claimed again",
      Effect.map(after.claim(queue, 10, Duration.minutes(1)), (jobs) => {
        claimed.push(...jobs.map((job) => job.id))
        return claimed.length >= ids.length
      }),
      15_000
    )
    assert.deepStrictEqual(claimed.sort(), ids)
  }))

/**
 * A store on the application's `PgClient`: the client is the application's,
 * made in the test's scope and closed after the server runs again; what is
 * released while it hangs is the store and its pool.
 */
const onClient = (server: ManagedServer) =>
  Effect.map(
    PgClient.make({ url: Redacted.make(server.url) }).pipe(Effect.provide(Reactivity.layer), Effect.orDie),
    (sql) => () => PostgresStore.fromClient().pipe(Effect.provideService(PgClient.PgClient, sql))
  )

describe("durable shutdown against a store that hangs (SIGSTOP)", () => {
  for (const jobs of [5, 3] as const) {
    const when = jobs === 5 ? "the pool full" : "a claim in flight"
    it.live(`Redis, ${when}: the report within the deadline and 5 seconds, every job back afterwards`, () =>
      hangingStore(startRedis(), () => Effect.succeed((url) => RedisStore.make({ url })), jobs), 60_000)

    it.live(`PostgreSQL, ${when}: the report within the deadline and 5 seconds, every job back afterwards`, () =>
      hangingStore(startPostgres(), () => Effect.succeed((url) => PostgresStore.make({ url })), jobs), 60_000)

    it.live(`PostgreSQL on the application's PgClient, ${when}: the report within the deadline and 5 seconds, every job back afterwards`, () =>
      hangingStore(startPostgres(), onClient, jobs), 60_000)
  }
})
