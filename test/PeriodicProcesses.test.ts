/**
 * One periodic schedule declared by three OS processes on a real store
 * (`support/periodicDeclarer.ts`, on Redis and on PostgreSQL): every process
 * offers every tick, and the queue holds exactly one job per tick, with the
 * tick's id, none twice, each waiting for its tick's time.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Duration, Effect } from "effect"
import * as Periodic from "../src/Periodic.ts"
import type { DeclarerEvent } from "./support/periodicDeclarer.ts"
import { start } from "./support/runMain.ts"
import { type Engine, engineQueue, postgres, redis } from "./support/engineQueue.ts"

/** Ticks in the window: one a second. */
const TICKS = 5
const PROCESSES = 3
const DECLARER = fileURLToPath(new URL("./support/periodicDeclarer.ts", import.meta.url))

const eventsIn = (stdout: string): ReadonlyArray<DeclarerEvent> =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as DeclarerEvent)

/**
 * The window of ticks: whole seconds from 2 s after `now`, inside one
 * minute (a cron's seconds field cannot run over into the next minute), and
 * a six-field cron in UTC that matches them and nothing else this year.
 */
const windowAfter = (now: number) => {
  let first = Math.ceil(now / 1000) * 1000 + 2000
  if (new Date(first).getUTCSeconds() + TICKS > 60) first = Math.ceil(first / 60_000) * 60_000
  const at = new Date(first)
  const s = at.getUTCSeconds()
  const cron = `${s}-${s + TICKS - 1} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`
  return { cron, ticks: Array.from({ length: TICKS }, (_, i) => first + i * 1000) }
}

const threeDeclare = (engine: Engine) =>
  Effect.scoped(Effect.gen(function*() {
    const { queue, store, url } = yield* engineQueue(engine, "periodic")
    const dir = mkdtempSync(join(tmpdir(), "ewp-periodic-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    const goFile = join(dir, "go.json")

    const declarers = Array.from(
      { length: PROCESSES },
      () => start(["--store", url, "--queue", queue, "--name", "every-second", "--go", goFile], { command: [process.execPath, DECLARER] })
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => declarers.forEach((declarer) => declarer.kill("SIGKILL"))))
    // Every process is connected before the schedule is given: each of them offers every tick.
    yield* Effect.promise(() => Promise.all(declarers.map((declarer) => declarer.waitFor(/"event":"ready"/, 30_000))))
    const { cron, ticks } = windowAfter(Date.now())
    const until = ticks.at(-1)! + 1_500
    // Written whole, then renamed into place: a process never reads half of it.
    writeFileSync(`${goFile}.tmp`, JSON.stringify({ cron, until }))
    renameSync(`${goFile}.tmp`, goFile)
    const ended = yield* Effect.promise(() => Promise.all(declarers.map((declarer) => declarer.exited)))

    const ids = ticks.map((tick) => Periodic.tickId("every-second", new Date(tick)))
    for (const process of ended) {
      assert.strictEqual(process.code, 0, process.stderr)
      const offered = eventsIn(process.stdout).flatMap((said) => said.event === "offered" ? [said.tick] : [])
      assert.deepStrictEqual(offered, ticks.map((tick) => new Date(tick).toISOString()), "each process offered every tick")
    }
    // One job per tick: the counts, and each tick's id.
    assert.deepStrictEqual(yield* store.counts(queue), { ready: TICKS, leased: 0, completed: 0, buried: 0 })
    const found = yield* Effect.forEach(ids, (id) => store.lookup(queue, id))
    assert.deepStrictEqual(found.map((job) => [job?.id, job?.state, job?.attempts]), ids.map((id) => [id, "ready", 0]))
    assert.deepStrictEqual(found.map((job) => job?.runAt?.getTime()), ticks, "each tick's job runs at its tick")
    // Each job's payload is its own tick's, whichever process's offer was kept.
    const claimed = yield* store.claim(queue, TICKS + 1, Duration.minutes(1))
    assert.deepStrictEqual(
      claimed.map((job) => [job.id, job.payload]).sort(),
      ticks.map((tick, i) => [ids[i], { tick: new Date(tick).toISOString() }]).sort()
    )
  }))

describe("a periodic schedule declared by several processes on one queue", () => {
  it.live("Redis: every process offers every tick; the queue holds one job per tick", () =>
    threeDeclare(redis), 90_000)

  it.live("PostgreSQL: every process offers every tick; the queue holds one job per tick", () =>
    threeDeclare(postgres), 90_000)
})
