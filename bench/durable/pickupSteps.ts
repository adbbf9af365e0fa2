/**
 * `node bench/durable/pickupSteps.ts [--engine postgres|redis] [--pause MS] [--jobs N]`:
 * where an idle pickup's time goes, ours against the engine's fastest other
 * (graphile-worker on PostgreSQL, BullMQ on Redis). Runs the pickup
 * measure's loop (`pickup.ts`) for each, alternating, on one server, with
 * the process's socket writes and reads marked, and prints the p50 of each
 * step from the offer call: until the offer's bytes are written; until the
 * notification is read (on PostgreSQL a notification message; on Redis the
 * first read on another connection: our subscriber's message, BullMQ's
 * blocking command's reply); until the claim is written (the first write on
 * another connection than the offer's, on Redis than the notification's
 * too); the claim's round trip; its reply until the handler
 * starts. Then the server's own time for each statement or script the
 * round ran once a job or more (PostgreSQL's `log_min_duration_statement`
 * 0, by protocol phase, and each statement's execution by the one executed
 * before it, so that a claim after an offer is told from a claim after an
 * acknowledgement, which finds nothing; Redis's `SLOWLOG` at 0 µs, ours by
 * script name, the others' scripts by SHA-1), its median: how much of the
 * claim's round trip is the server's work. A tool for looking, not part of the benchmark's results:
 * marking each write and read, and logging each statement, costs a little
 * of every step.
 */
import { readFileSync } from "node:fs"
import net from "node:net"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { createClient } from "redis"
import * as Scripts from "../../src/durable/redis/scripts.ts"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import {
  bullmqPickup,
  graphileWorkerPickup,
  type PickupContender,
  poolPostgresPickup,
  poolRedisPickup
} from "./contenders/pickup.ts"
import { quantile } from "./pickup.ts"

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "postgres" },
    pause: { type: "string", default: "20" },
    jobs: { type: "string", default: "200" }
  }
})
const redis = values.engine === "redis"
if (!redis && values.engine !== "postgres") throw new Error(`--engine: postgres or redis, got ${values.engine}`)
const pauseMs = Number(values.pause)
const jobs = Number(values.jobs)
const warmups = 20

/** What the process did on its sockets during one pickup, from the offer call. */
interface Mark {
  readonly at: number
  readonly kind: "write" | "read"
  readonly port: number | undefined
  /** The first byte: the PostgreSQL message's type ("A" is a notification). */
  readonly type: string
}

let marks: Array<Mark> | undefined
const mark = (kind: Mark["kind"], socket: net.Socket, chunk: unknown) => {
  if (marks === undefined) return
  const type = typeof chunk === "string" ? chunk[0] : chunk instanceof Uint8Array ? String.fromCharCode(chunk[0]!) : "?"
  marks.push({ at: performance.now(), kind, port: socket.localPort, type: type ?? "?" })
}
const write = net.Socket.prototype.write
net.Socket.prototype.write = function(this: net.Socket, chunk: unknown, ...rest: Array<unknown>) {
  mark("write", this, chunk)
  return (write as (...args: Array<unknown>) => boolean).call(this, chunk, ...rest)
} as typeof write
const emit = net.Socket.prototype.emit
net.Socket.prototype.emit = function(this: net.Socket, event: string | symbol, ...args: Array<unknown>) {
  if (event === "data") mark("read", this, args[0])
  return (emit as (...args: Array<unknown>) => boolean).call(this, event, ...args)
} as typeof emit

const steps = ["offer written", "notification read", "claim written", "claim answered", "handler started"] as const

/** Each step's duration in one pickup, or undefined if its marks are not all there. */
const stepsOf = (offeredAt: number, startedAt: number, all: ReadonlyArray<Mark>) => {
  const offer = all.find((m) => m.kind === "write")
  const notification = offer && all.find((m) =>
    m.kind === "read" && (redis ? m.port !== offer.port : m.type === "A")
  )
  if (offer === undefined || notification === undefined) return undefined
  const claim = all.find((m) =>
    m.at > notification.at && m.kind === "write" && m.port !== offer.port && !(redis && m.port === notification.port)
  )
  const reply = claim && all.find((m) => m.at > claim.at && m.kind === "read" && m.port === claim.port)
  if (claim === undefined || reply === undefined) return undefined
  const at = [offer.at, notification.at, claim.at, reply.at, startedAt]
  return at.map((t, i) => t - (i === 0 ? offeredAt : at[i - 1]!))
}

const measure = async (contender: PickupContender, url: string, round: number) => {
  let started: ((at: number) => void) | undefined
  const side = await contender.open(url, `steps_${round}`, () => started?.(performance.now()))
  const samples: Array<ReadonlyArray<number>> = []
  try {
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (let n = 0; n < warmups + jobs; n++) {
      const handlerStarted = new Promise<number>((resolve) => started = resolve)
      marks = []
      const offeredAt = performance.now()
      await side.offer(n)
      const startedAt = await handlerStarted
      const taken = marks
      marks = undefined
      const durations = stepsOf(offeredAt, startedAt, taken)
      if (n >= warmups && durations !== undefined) samples.push([...durations, startedAt - offeredAt])
      await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  } finally {
    marks = undefined
    await side.close()
  }
  const p50 = (i: number) => quantile(samples.map((sample) => sample[i]!), 0.5).toFixed(2)
  process.stdout.write(
    `${contender.name}, round ${round + 1}: ${samples.length} pickups, pause ${pauseMs} ms; p50 ms: ` +
      [...steps.map((step, i) => `${step} ${p50(i)}`), `in all ${p50(steps.length)}`].join(", ") + "\n"
  )
}

/** The median of each group of `samples` (by key) with at least `jobs` of them: the statements run once a pickup or more. */
const medians = (samples: ReadonlyArray<readonly [key: string, value: number]>): Array<string> => {
  const groups = new Map<string, Array<number>>()
  for (const [key, value] of samples) {
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [value])
    else group.push(value)
  }
  return [...groups].filter(([, values]) => values.length >= jobs).map(([key, values]) =>
    `  ${key} (×${values.length}): ${quantile(values, 0.5)}`
  )
}

/** Reads the server's own time of each command a round ran: set up before it, read after. */
interface ServerTimes {
  readonly start: () => Promise<void>
  readonly read: () => Promise<Array<string>>
  readonly close: () => Promise<void>
}

/** Our scripts' names by SHA-1. */
const ourScripts = new Map(
  Object.entries(Scripts).flatMap(([name, value]) =>
    typeof value === "object" && value !== null && "sha" in value ? [[String(value.sha), name] as const] : []
  )
)

/**
 * Redis: `SLOWLOG` of the scripts and blocking commands (the commands a
 * script calls are logged too, and left out), in µs; ours named, the others
 * by their SHA-1's start.
 */
const redisTimes = async (url: string): Promise<ServerTimes> => {
  const admin = createClient({ url })
  await admin.connect()
  await admin.sendCommand(["CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "1000000"])
  return {
    start: async () => void await admin.sendCommand(["SLOWLOG", "RESET"]),
    read: async () => {
      const log = await admin.sendCommand(["SLOWLOG", "GET", "-1"]) as Array<[unknown, unknown, number, Array<string>]>
      return medians(log.flatMap(([, , micros, [command, sha]]) =>
        command === "EVALSHA" || command?.startsWith("B")
          ? [[command === "EVALSHA" ? `EVALSHA ${ourScripts.get(sha!) ?? sha?.slice(0, 8)}, µs` : `${command}, µs`, Number(micros)] as const]
          : []
      ))
    },
    close: () => admin.close()
  }
}

/**
 * PostgreSQL: the statements' log (`log_min_duration_statement` 0), each
 * statement by phase and its first words, an execution also by the
 * statement executed before it, in ms.
 */
const postgresTimes = (dir: string): ServerTimes => {
  const file = join(dir, "server.log")
  let from = 0
  return {
    start: async () => {
      from = readFileSync(file, "utf8").length
    },
    read: async () => {
      const entries = readFileSync(file, "utf8").slice(from).split(/\n(?=\S)/)
      let before = "nothing"
      return medians(entries.flatMap((entry) => {
        // Extended protocol: "parse <name>: ...", "bind ...", "execute ..."; simple: "statement: ...".
        const match = /duration: ([\d.]+) ms {2}(\w+)(?: [^:]*)?: ?([\s\S]*)/.exec(entry)
        if (match === null) return []
        const [, ms, phase, text] = match
        const statement = text!.split(/\s+/).join(" ").trim().slice(0, 40)
        if (phase !== "execute" && phase !== "statement") return [[`${phase} ${statement}, ms`, Number(ms)] as const]
        const key = `${phase} ${statement} (after ${before.slice(0, 24)}), ms`
        before = statement
        return [[key, Number(ms)] as const]
      }))
    },
    close: async () => {}
  }
}

const server = redis
  ? await startRedisServer()
  : await startPostgresServer({ settings: { log_min_duration_statement: 0, log_min_messages: "log" } })
const contenders = redis ? [poolRedisPickup, bullmqPickup] : [poolPostgresPickup, graphileWorkerPickup]
const times = redis ? await redisTimes(server.url) : postgresTimes(server.dir)
try {
  for (let round = 0; round < 2; round++) {
    for (const contender of contenders) {
      await times.start()
      await measure(contender, server.url, round)
      process.stdout.write(`${contender.name}, round ${round + 1}, the server's median time:\n${(await times.read()).join("\n")}\n`)
    }
  }
} finally {
  await times.close()
  await server.close()
}
process.exit(0)
