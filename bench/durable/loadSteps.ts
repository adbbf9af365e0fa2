/**
 * `node bench/durable/loadSteps.ts [--engine postgres|redis] [--rate N] [--seconds S] [--rounds R]`:
 * where a job's time goes under a steady load, ours only. The driver is the
 * load measure's (`load.ts`: the jobs due offered as one batch every 5 ms,
 * the store's count of completed jobs polled back to back), in this
 * process; the consumer is the benchmark's (the same store and settings),
 * forked, its store marked at each claim and acknowledgement: when it was
 * called and when it answered, and which jobs it carried. Every mark is
 * read on the wall clock (`performance.timeOrigin + performance.now()`),
 * which the two processes share. Prints, for the jobs after the first
 * tenth, the p50 / p90 / p99 of each step: the offer call; from its answer
 * until the claim that took the job was called; the claim's call; from
 * its answer until the acknowledgement was called (the handler ran
 * between); the acknowledgement's call; from its answer until the count
 * read it. Then how busy the machine was, and on PostgreSQL each
 * statement's calls and mean time on the server (`pg_stat_statements`).
 * A tool for looking, not part of the benchmark's results: the marks cost
 * the consumer a little of every claim and acknowledgement.
 */
import { fork } from "node:child_process"
import { randomUUID } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import type { Store } from "../../src/durable/Store.ts"
import { pgRows } from "../../test/support/admin.ts"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import type { DurableContender } from "./contenders/index.ts"
import { durablePool, type Setup } from "./contenders/pool.ts"
import { poolPostgres, postgresSetup } from "./contenders/poolPostgres.ts"
import { poolRedis, redisSetup } from "./contenders/poolRedis.ts"
import { offerSteadily, WARMUP_FRACTION } from "./load.ts"
import { quantile } from "./pickup.ts"

/** The wall clock, in ms: comparable between processes. */
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One store call of the consumer: when it was called, when it answered, and its jobs' numbers. */
type Call = readonly [calledAt: number, answeredAt: number, jobs: ReadonlyArray<number>]

/** What the consumer marked: its claims and its acknowledgements. */
interface Marks {
  readonly claims: ReadonlyArray<Call>
  readonly completes: ReadonlyArray<Call>
}

const setups: Record<"postgres" | "redis", { readonly setup: Setup; readonly contender: DurableContender }> = {
  postgres: { setup: postgresSetup, contender: poolPostgres },
  redis: { setup: redisSetup, contender: poolRedis }
}

/** `store` with its claims and acknowledgements marked into `marks`. */
const marked = (store: Store, marks: { claims: Array<Call>; completes: Array<Call> }): Store => {
  const numberOf = new Map<string, number>()
  return {
    ...store,
    claim: (queue, max, lease, options) =>
      Effect.suspend(() => {
        const calledAt = now()
        return Effect.map(store.claim(queue, max, lease, options), (jobs) => {
          const ns = jobs.map((job) => (job.payload as { readonly n: number }).n)
          jobs.forEach((job, i) => numberOf.set(job.id, ns[i]!))
          marks.claims.push([calledAt, now(), ns])
          return jobs
        })
      }),
    complete: (queue, leases, completion) =>
      Effect.suspend(() => {
        const calledAt = now()
        return Effect.map(store.complete(queue, leases, completion), () => {
          const ns = leases.map((lease) => numberOf.get(lease.id) ?? -1)
          for (const lease of leases) numberOf.delete(lease.id)
          marks.completes.push([calledAt, now(), ns])
        })
      })
  }
}

/** The forked consumer: `--consumer <engine> <url> <queue> <file>`; writes its marks to `file` on `stop`. */
const consume = async (engine: "postgres" | "redis", url: string, queue: string, file: string) => {
  const { setup } = setups[engine]
  const marks = { claims: new Array<Call>(), completes: new Array<Call>() }
  const contender = durablePool("marked", engine, {
    connect: (url) => Effect.map(setup.connect(url), (store) => marked(store, marks)),
    settings: setup.settings
  })
  const consumer = await contender.consumer(url, queue)
  await consumer.start()
  process.send!("started")
  process.on("message", async () => {
    await consumer.close()
    writeFileSync(file, JSON.stringify(marks))
    process.exit(0)
  })
}

/** Each job's marks, by its number, from the calls that carried it. */
const byJob = (calls: ReadonlyArray<Call>, total: number) => {
  const calledAt = new Float64Array(total).fill(NaN)
  const answeredAt = new Float64Array(total).fill(NaN)
  for (const [called, answered, ns] of calls) {
    for (const n of ns) {
      if (n < 0 || n >= total) continue
      calledAt[n] = called
      answeredAt[n] = answered
    }
  }
  return { calledAt, answeredAt }
}

/** The machine's idle and total time so far, in ticks (`/proc/stat`). */
const cpuTicks = (): readonly [idle: number, all: number] => {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  return [fields[3]! + fields[4]!, fields.reduce((a, b) => a + b, 0)]
}

/** One round: a load of `rate` jobs/s for `seconds` on a fresh queue; prints its steps. */
const round = async (engine: "postgres" | "redis", url: string, rate: number, seconds: number, label: string) => {
  const queue = `steps-${randomUUID()}`
  const file = join(tmpdir(), `${queue}.json`)
  const driver = await setups[engine].contender.driver(url, queue)
  const child = fork(fileURLToPath(import.meta.url), ["--consumer", engine, url, queue, file], {
    execArgv: [],
    stdio: ["ignore", "ignore", "inherit", "ipc"]
  })
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve())
      child.once("exit", (code) => reject(new Error(`consumer exited (code ${code})`)))
    })
    const total = Math.max(1, Math.round(rate * seconds))
    const offerCalled = new Float64Array(total)
    const offerAnswered = new Float64Array(total)
    const counted = new Float64Array(total)
    let offered = 0
    let offering = true
    const before = cpuTicks()
    const producer = offerSteadily(total, rate, async (from, to) => {
      offerCalled.fill(now(), from, to)
      offered = to
      await driver.offer(Array.from({ length: to - from }, (_, i) => ({ n: from + i })))
      offerAnswered.fill(now(), from, to)
    }).then(() => {
      offering = false
    })
    producer.catch(() => {})
    let acknowledged = 0
    while (offering || acknowledged < total) {
      const polledAt = now()
      const count = Math.min(await driver.completed(), offered)
      counted.fill((polledAt + now()) / 2, acknowledged, Math.max(acknowledged, count))
      acknowledged = Math.max(acknowledged, count)
      await sleep(1)
    }
    await producer
    const after = cpuTicks()
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.send("stop")
    await exited
    const marks = JSON.parse(readFileSync(file, "utf8")) as Marks
    const claim = byJob(marks.claims, total)
    const complete = byJob(marks.completes, total)
    const steps: ReadonlyArray<readonly [string, (n: number) => number]> = [
      ["offer call", (n) => offerAnswered[n]! - offerCalled[n]!],
      ["offer answered → claim called", (n) => claim.calledAt[n]! - offerAnswered[n]!],
      ["claim call", (n) => claim.answeredAt[n]! - claim.calledAt[n]!],
      ["claim answered → ack called", (n) => complete.calledAt[n]! - claim.answeredAt[n]!],
      ["ack call", (n) => complete.answeredAt[n]! - complete.calledAt[n]!],
      ["ack answered → counted", (n) => counted[n]! - complete.answeredAt[n]!],
      ["in all", (n) => counted[n]! - offerCalled[n]!]
    ]
    const jobs = Array.from({ length: total - Math.floor(total * WARMUP_FRACTION) }, (_, i) => i + Math.floor(total * WARMUP_FRACTION))
    const busy = 1 - (after[0] - before[0]) / (after[1] - before[1])
    process.stdout.write(
      `${label}: ${rate} jobs/s for ${seconds} s, ${marks.claims.length} claims (${(total / marks.claims.length).toFixed(0)} jobs each), ` +
        `${marks.completes.length} acknowledgements; the machine ${(busy * 100).toFixed(0)} % busy; ms, p50 / p90 / p99:\n`
    )
    for (const [name, of] of steps) {
      const values = jobs.map(of).filter((value) => !Number.isNaN(value))
      const at = (q: number) => quantile(values, q).toFixed(2)
      process.stdout.write(`  ${name.padEnd(32)} ${at(0.5)} / ${at(0.9)} / ${at(0.99)}\n`)
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL")
    await driver.close()
  }
}

/** The statements the round ran at least `calls` times: calls, mean and total ms on the server. */
const statementTimes = async (url: string, calls: number) => {
  const rows = await Effect.runPromise(pgRows(
    url,
    "SELECT calls, round(mean_exec_time::numeric, 3), round(total_exec_time::numeric), " +
      "left(regexp_replace(query, '\\s+', ' ', 'g'), 48) FROM pg_stat_statements " +
      `WHERE calls >= ${calls} ORDER BY total_exec_time DESC LIMIT 6`
  ))
  for (const [count, mean, total, text] of rows) {
    process.stdout.write(`  server: ${String(count).padStart(6)} calls, mean ${mean} ms, total ${total} ms: ${text}\n`)
  }
}

const main = async () => {
  const { values } = parseArgs({
    options: {
      engine: { type: "string", default: "postgres" },
      rate: { type: "string", default: "10000" },
      seconds: { type: "string", default: "4" },
      rounds: { type: "string", default: "2" }
    }
  })
  const engine = values.engine
  if (engine !== "postgres" && engine !== "redis") throw new Error(`--engine: postgres or redis, got ${engine}`)
  const rate = Number(values.rate)
  const seconds = Number(values.seconds)
  const postgres = engine === "postgres"
  const server = postgres
    ? await startPostgresServer({
      settings: { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all" }
    })
    : await startRedisServer()
  try {
    if (postgres) await Effect.runPromise(pgRows(server.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    for (let i = 0; i < Number(values.rounds); i++) {
      if (postgres) await Effect.runPromise(pgRows(server.url, "SELECT pg_stat_statements_reset()"))
      await round(engine, server.url, rate, seconds, `round ${i + 1}`)
      if (postgres) await statementTimes(server.url, 20)
    }
  } finally {
    await server.close()
  }
}

if (process.argv[2] === "--consumer") {
  const [engine, url, queue, file] = process.argv.slice(3)
  await consume(engine as "postgres" | "redis", url!, queue!, file!)
} else {
  await main()
  process.exit(0)
}
