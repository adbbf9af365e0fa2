/**
 * `node bench/durable/effectSteps.ts [--engine postgres|redis] [--pickups N]`:
 * how many steps Effect's run loop takes for one idle pickup of ours (the
 * pickup measure's contender, one worker, each job offered 5 ms after the
 * previous one started), counted with `bench/kit/effectSteps.ts`: the same
 * whatever the machine's load, so that two versions of the pickup's path
 * compare where their timings would drown in noise. Prints, per pickup, the
 * steps, the runs of a fiber and the fibers that ran; and the steps by
 * phase: in the offer call until it first waits (up to the offer's write),
 * from then until the handler starts (the notification, the claim and its
 * delivery, and the offer's answer, which comes meanwhile), and after (the
 * acknowledgement). A run's steps count when the run ends, so the run that
 * starts the handler counts after it. A tool for looking, not part of the
 * benchmark's results.
 */
import { parseArgs } from "node:util"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import { countSteps } from "../kit/effectSteps.ts"
import { poolPostgresPickup, poolRedisPickup } from "./contenders/pickup.ts"

const { values } = parseArgs({
  options: { engine: { type: "string", default: "postgres" }, pickups: { type: "string", default: "200" } }
})
const redis = values.engine === "redis"
if (!redis && values.engine !== "postgres") throw new Error(`--engine: postgres or redis, got ${values.engine}`)
const pickups = Number(values.pickups)
if (!Number.isInteger(pickups) || pickups < 1) throw new Error(`--pickups: a whole number from 1, got ${values.pickups}`)
/** Pickups not counted: the first statements, and the code's first runs. */
const warmups = 20

const counter = countSteps()
const server = redis ? await startRedisServer() : await startPostgresServer()
try {
  let started: (() => void) | undefined
  let atStart = 0
  const side = await (redis ? poolRedisPickup : poolPostgresPickup).open(server.url, `steps_${process.pid}`, () => {
    atStart = counter.read().steps
    started?.()
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const sums = { offer: 0, untilStart: 0, after: 0, runs: 0, fibers: 0 }
  for (let n = 0; n < warmups + pickups; n++) {
    const start = new Promise<void>((resolve) => (started = resolve))
    counter.reset()
    const offered = side.offer(n)
    const inOffer = counter.read().steps
    await offered
    await start
    await new Promise((resolve) => setTimeout(resolve, 5))
    const all = counter.read()
    if (n < warmups) continue
    sums.offer += inOffer
    sums.untilStart += atStart - inOffer
    sums.after += all.steps - atStart
    sums.runs += all.runs
    sums.fibers += all.fibers
  }
  const per = (x: number) => (x / pickups).toFixed(1)
  process.stdout.write(
    `effect-worker-pool (${redis ? "Redis" : "PostgreSQL"}), ${pickups} idle pickups; per pickup: ` +
      `${per(sums.offer + sums.untilStart + sums.after)} steps (in the offer call ${per(sums.offer)}, ` +
      `then until the handler starts ${per(sums.untilStart)}, after ${per(sums.after)}), ` +
      `${per(sums.runs)} runs of a fiber, ${per(sums.fibers)} fibers\n`
  )
  await side.close()
} finally {
  counter.stop()
  await server.close()
}
process.exit(0)
