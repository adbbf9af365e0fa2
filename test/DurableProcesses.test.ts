/**
 * Many processes, one queue, no job lost: the program (`src/main.ts`) run as
 * a producer and two workers against a real Redis and a real PostgreSQL.
 * One worker is killed with SIGKILL mid-job, as a crashed machine would be;
 * its jobs come back to the other once their lease runs out, and at the end
 * the store counts every job offered as completed. A job runs twice only if
 * the killed worker had it (running, or finished but not yet acknowledged);
 * in normal operation, once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import * as PostgresStore from "../src/durable/PostgresStore.ts"
import * as RedisStore from "../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../src/durable/Store.ts"
import type { PoolConfigError } from "../src/Pool.ts"
import { type Running, start } from "./support/runMain.ts"
import { type ManagedServer, type ServerError, startPostgres, startRedis } from "./support/servers.ts"

const JOBS = 60

/** Job numbers a worker's output says it started or finished. */
const jobsIn = (stdout: string, verb: "started" | "finished") =>
  [...stdout.matchAll(new RegExp(`Worker \\d+ ${verb} job (\\d+)`, "g"))].map((match) => Number(match[1]))

const waitUntil = (what: string, check: Effect.Effect<boolean, StoreError>, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting until ${what}`))
      yield* Effect.sleep("100 millis")
    }
  })

const crashOne = (
  server: Effect.Effect<ManagedServer, ServerError, Scope.Scope>,
  connect: (url: string) => Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>
) =>
  Effect.scoped(Effect.gen(function*() {
    const { url } = yield* server
    const store = yield* connect(url)
    const queue = `crash-${Date.now()}`
    const common = ["--store", url, "--queue", queue]

    const producer = start([...common, "--role", "producer", "--jobs", String(JOBS)])
    const offered = yield* Effect.promise(() => producer.exited)
    assert.strictEqual(offered.code, 0, offered.stderr)
    assert.strictEqual((yield* store.counts(queue)).ready, JOBS)

    const worker = () =>
      start([...common, "--role", "worker", "--workers", "4", "--duration", "300", "--lease", "1000", "--output", "lines"])
    const doomed: Running = worker()
    const survivor: Running = worker()
    // Mid-job: each has finished a job and, with 4 workers busy, is running others.
    yield* Effect.promise(() => Promise.all([doomed.waitFor(/finished job/), survivor.waitFor(/finished job/)]))
    doomed.kill("SIGKILL")
    const killed = yield* Effect.promise(() => doomed.exited)
    assert.strictEqual(killed.signal, "SIGKILL")

    yield* waitUntil("every job is completed", Effect.map(store.counts(queue), (c) => c.completed === JOBS), 30_000)
    survivor.kill("SIGTERM")
    const ended = yield* Effect.promise(() => survivor.exited)
    assert.strictEqual(ended.code, 0, ended.stderr)

    // Counted in the store: every job offered completed, none lost, none dead.
    assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: JOBS, buried: 0 })
    // Counted in the workers' own words: every job finished; twice only if in flight at the kill.
    const finishedByDoomed = jobsIn(killed.stdout, "finished")
    const startedByDoomed = new Set(jobsIn(killed.stdout, "started"))
    const inFlight = [...startedByDoomed].filter((n) => !finishedByDoomed.includes(n))
    assert.isAbove(inFlight.length, 0, "the kill did not land mid-job")
    const finished = [...finishedByDoomed, ...jobsIn(ended.stdout, "finished")]
    assert.deepStrictEqual([...new Set(finished)].sort((a, b) => a - b), Array.from({ length: JOBS }, (_, i) => i + 1))
    const twice = finished.filter((n, i) => finished.indexOf(n) !== i)
    for (const n of twice) assert.isTrue(startedByDoomed.has(n), `job ${n} ran twice but the killed worker never had it`)
    // The jobs cut off by the kill came back to the survivor.
    for (const n of inFlight) assert.include(jobsIn(ended.stdout, "finished"), n)
  }))

describe("several processes on one durable queue", () => {
  it.live("Redis: a worker killed mid-job loses nothing; its jobs run on the other", () =>
    crashOne(startRedis(), (url) => RedisStore.make({ url })), 60_000)

  it.live("PostgreSQL: a worker killed mid-job loses nothing; its jobs run on the other", () =>
    crashOne(startPostgres(), (url) => PostgresStore.make({ url })), 60_000)
})
