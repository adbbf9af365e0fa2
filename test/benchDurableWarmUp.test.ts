/**
 * The durable benchmark's consumer warm-up (`bench/durable/consumer.ts`):
 * bounded as a timed run is, so that a consumer whose warm-up never ends
 * fails the run, saying so, instead of holding up the driver's wait for its
 * `ready` for ever. On a real local Redis (ours, its Redis contender), in a
 * forked consumer process.
 */
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { byName } from "../bench/durable/contenders/index.ts"
import { poolRedis } from "../bench/durable/contenders/poolRedis.ts"
import { spawnConsumer, stopAll } from "../bench/durable/measure.ts"
import { type PlainServer, startRedisServer } from "./support/servers.ts"

describe("durable bench consumer warm-up", () => {
  let server: PlainServer | undefined

  beforeAll(async () => {
    server = await startRedisServer()
  }, 60_000)

  afterAll(async () => {
    await server?.close()
  })

  it("a warm-up whose jobs complete ends in time: the consumer says ready, and the store counts them completed", async () => {
    const contender = byName(poolRedis.name)
    const queue = `warm-${randomUUID()}`
    const driver = await contender.driver(server!.url, queue)
    const child = spawnConsumer(contender, server!.url, `bench-${randomUUID()}`, { queue, jobs: 5, timeoutMs: 30_000 })
    try {
      await driver.produce(5)
      await child.next("ready")
      expect(await driver.completed()).toBe(5)
    } finally {
      await stopAll([child], 1_000)
      await driver.close()
    }
  }, 60_000)

  it("a warm-up that never ends (its queue holds fewer jobs than it waits for) fails the consumer, naming the warm-up", async () => {
    const contender = byName(poolRedis.name)
    // Nothing is offered on the warm-up queue: its one job never completes.
    const child = spawnConsumer(contender, server!.url, `bench-${randomUUID()}`, {
      queue: `warm-${randomUUID()}`,
      jobs: 1,
      timeoutMs: 500
    })
    try {
      await expect(child.next("ready")).rejects.toThrow(/warm-up of 1 jobs not done in 500 ms/)
    } finally {
      await stopAll([child], 1_000)
    }
  }, 60_000)
})
