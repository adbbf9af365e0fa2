/**
 * Many processes, one queue, no job lost: two worker processes
 * (`support/durableWorker.ts`, `Durable.make` on a real Redis and a real
 * PostgreSQL) work a queue this test fills. One is killed with SIGKILL
 * mid-job, as a crashed machine would be; its jobs come back to the other
 * once their lease runs out, and at the end the store counts every job
 * offered as completed. A job runs twice only if the killed worker had it
 * (running, or finished but not yet acknowledged); in normal operation, once.
 */
import { assert, describe, it } from "@effect/vitest"
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import * as Durable from "../src/Durable.ts"
import type { WorkerEvent } from "./support/durableWorker.ts"
import { type Running, start } from "./support/runMain.ts"
import { type Engine, engineQueue, postgres, redis } from "./support/engineQueue.ts"
import { waitUntil } from "./support/waitUntil.ts"

const JOBS = 60
const WORKER = fileURLToPath(new URL("./support/durableWorker.ts", import.meta.url))

/** A worker process on `queue`: 4 workers, leases of 1 s, jobs of about 300 ms. */
const startWorker = (url: string, queue: string): Running =>
  start(["--store", url, "--queue", queue, "--workers", "4", "--lease-ms", "1000", "--job-ms", "300"], {
    command: [process.execPath, WORKER]
  })

/** The worker's events, from its stdout. */
const eventsIn = (stdout: string): ReadonlyArray<WorkerEvent> =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as WorkerEvent)

/** Job numbers a worker says it started, or whose work it ended. */
const jobsIn = (stdout: string, event: "started" | "ended") =>
  eventsIn(stdout).flatMap((said) => said.event === event ? [said.job] : [])

const crashOne = (engine: Engine) =>
  Effect.scoped(Effect.gen(function*() {
    const { queue, store, url } = yield* engineQueue(engine, "crash")

    const producer = Durable.producer({ store, queue, schema: Schema.Number })
    yield* producer.submitAll(Array.from({ length: JOBS }, (_, i) => i + 1))
    assert.strictEqual((yield* store.counts(queue)).ready, JOBS)

    const doomed = startWorker(url, queue)
    const survivor = startWorker(url, queue)
    // Mid-job: each has ended a job and, with 4 workers busy, is running others.
    const endedOne = /"event":"ended"/
    yield* Effect.promise(() => Promise.all([doomed.waitFor(endedOne), survivor.waitFor(endedOne)]))
    doomed.kill("SIGKILL")
    const killed = yield* Effect.promise(() => doomed.exited)
    assert.strictEqual(killed.signal, "SIGKILL")

    yield* waitUntil("every job is completed", Effect.map(store.counts(queue), (c) => c.completed === JOBS), 30_000, "100 millis")
    survivor.kill("SIGTERM")
    const ended = yield* Effect.promise(() => survivor.exited)
    assert.strictEqual(ended.code, 0, ended.stderr)

    // Counted in the store: every job offered completed, none lost, none dead.
    assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: JOBS, buried: 0 })
    // Counted in the workers' own words: every job's work ended; twice only if in flight at the kill.
    const endedByDoomed = jobsIn(killed.stdout, "ended")
    const startedByDoomed = new Set(jobsIn(killed.stdout, "started"))
    const inFlight = [...startedByDoomed].filter((n) => !endedByDoomed.includes(n))
    assert.isAbove(inFlight.length, 0, "the kill did not land mid-job")
    const endedBySurvivor = jobsIn(ended.stdout, "ended")
    const finished = [...endedByDoomed, ...endedBySurvivor]
    assert.deepStrictEqual([...new Set(finished)].sort((a, b) => a - b), Array.from({ length: JOBS }, (_, i) => i + 1))
    const twice = finished.filter((n, i) => finished.indexOf(n) !== i)
    for (const n of twice) assert.isTrue(startedByDoomed.has(n), `job ${n} ran twice but the killed worker never had it`)
    // The jobs cut off by the kill came back to the survivor.
    for (const n of inFlight) assert.include(endedBySurvivor, n)
  }))

describe("several processes on one durable queue", () => {
  it.live("Redis: a worker killed mid-job loses nothing; its jobs run on the other", () =>
    crashOne(redis), 60_000)

  it.live("PostgreSQL: a worker killed mid-job loses nothing; its jobs run on the other", () =>
    crashOne(postgres), 60_000)
})
