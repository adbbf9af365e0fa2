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
 * starts. A tool for looking, not part of the benchmark's results: marking
 * each write and read costs a little of every step.
 */
import net from "node:net"
import { parseArgs } from "node:util"
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

const server = redis ? await startRedisServer() : await startPostgresServer()
const contenders = redis ? [poolRedisPickup, bullmqPickup] : [poolPostgresPickup, graphileWorkerPickup]
try {
  for (let round = 0; round < 2; round++) {
    for (const contender of contenders) await measure(contender, server.url, round)
  }
} finally {
  await server.close()
}
process.exit(0)
