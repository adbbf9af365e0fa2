/**
 * `node bench/durable/offerPath.ts [--offers N] [--pause MS]`: how long an
 * idle producer takes from `submit` to its first byte on the socket, on a
 * local Redis, against a bare node-redis command (`LPUSH` of the same JSON)
 * from the same process, alternating. Each offer waits `pause` ms after the
 * last one answered, as the pickup measure's producer does, so that each
 * meets a process that has slept. Prints the p50 and p90 of each: until the
 * first socket write, and the whole call; for ours also until the producer
 * calls the store's `offer` (its checks, the id and the payload's encoding
 * done), what is left being the store's boundary, the engine and the
 * client until the bytes go. The writes are marked by wrapping
 * `net.Socket.prototype.write` for the whole process. A tool for looking,
 * not part of the benchmark's results (see the results' notes).
 */
import net from "node:net"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { createClient } from "redis"
import * as RedisStore from "../../src/durable/RedisStore.ts"
import { Durable } from "../../src/index.ts"
import { startRedisServer } from "../../test/support/servers.ts"

const { values } = parseArgs({ options: { offers: { type: "string", default: "400" }, pause: { type: "string", default: "20" } } })
const offers = Number(values.offers)
const pauseMs = Number(values.pause)
const warmups = 20

let firstWrite: number | undefined
let storeCalled: number | undefined
const write = net.Socket.prototype.write
net.Socket.prototype.write = function(this: net.Socket, ...args: Parameters<net.Socket["write"]>) {
  firstWrite ??= performance.now()
  return write.apply(this, args)
} as net.Socket["write"]

const server = await startRedisServer()
const scope = await Effect.runPromise(Scope.make())
const store = await Effect.runPromise(Scope.provide(scope)(RedisStore.make({ url: server.url })))
const marked: typeof store = {
  ...store,
  offer: (...args) => {
    storeCalled ??= performance.now()
    return store.offer(...args)
  }
}
const producer = Durable.producer({ store: marked, queue: "offer-path", schema: Schema.Struct({ n: Schema.Number }) })
const client = createClient({ url: server.url })
await client.connect()

const sides = {
  ours: (n: number) => Effect.runPromise(Effect.asVoid(producer.submit({ n }))),
  "bare node-redis": async (n: number) => {
    await client.sendCommand(["LPUSH", "offer-path-bare", JSON.stringify({ n })])
  }
}
const timings = new Map(
  Object.keys(sides).map((name) => [name, { toStore: [] as Array<number>, toWrite: [] as Array<number>, call: [] as Array<number> }])
)
const pause = () => new Promise((resolve) => setTimeout(resolve, pauseMs))
for (let n = 0; n < warmups + offers; n++) {
  for (const [name, offer] of Object.entries(sides)) {
    await pause()
    firstWrite = undefined
    storeCalled = undefined
    const calledAt = performance.now()
    await offer(n)
    const answeredAt = performance.now()
    if (n < warmups || firstWrite === undefined) continue
    const timing = timings.get(name)!
    if (storeCalled !== undefined) timing.toStore.push(storeCalled - calledAt)
    timing.toWrite.push(firstWrite - calledAt)
    timing.call.push(answeredAt - calledAt)
  }
}

const quantile = (values: ReadonlyArray<number>, q: number) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * values.length) - 1)]!.toFixed(2)
for (const [name, { call, toStore, toWrite }] of timings) {
  const store = toStore.length === 0 ? "" : `until the store's offer is called p50 ${quantile(toStore, 0.5)} ms; `
  process.stdout.write(
    `${name}: ${toWrite.length} offers, pause ${pauseMs} ms; ${store}until the first write p50 ${quantile(toWrite, 0.5)} ms, ` +
      `p90 ${quantile(toWrite, 0.9)}; the whole call p50 ${quantile(call, 0.5)}, p90 ${quantile(call, 0.9)}\n`
  )
}
await client.quit()
await Effect.runPromise(Scope.close(scope, Exit.void))
await server.close()
