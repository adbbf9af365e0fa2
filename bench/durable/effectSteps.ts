/**
 * `node bench/durable/effectSteps.ts [--engine postgres|redis] [--pickups N]`:
 * how many steps Effect's run loop takes for one idle pickup of ours, counted
 * with `bench/kit/effectSteps.ts`: the same whatever the machine's load, so
 * that two versions of the pickup's path compare where their timings would
 * drown in noise. The pickups are the pickup measure's (`pickup.ts`), with
 * ours polling every hour, so that only notifications wake it and a poll
 * falls on no pickup. Prints, per pickup, the steps, the runs of a fiber and
 * the fibers that ran; and the steps by phase: in the offer call until it
 * first waits (up to the offer's write), from then until the handler starts
 * (the notification, the claim and its delivery, and the offer's answer,
 * which comes meanwhile), and after (the acknowledgement, until the next
 * offer). A run's steps count when the run ends, so the run that starts the
 * handler counts after it. A tool for looking, not part of the benchmark's
 * results.
 */
import { parseArgs } from "node:util"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import { countSteps, type StepCounter } from "../kit/effectSteps.ts"
import { type PickupContender, poolPickupPolling } from "./contenders/pickup.ts"
import { measurePickup } from "./pickup.ts"

const { values } = parseArgs({
  options: { engine: { type: "string", default: "postgres" }, pickups: { type: "string", default: "200" } }
})
const redis = values.engine === "redis"
if (!redis && values.engine !== "postgres") throw new Error(`--engine: postgres or redis, got ${values.engine}`)
const pickups = Number(values.pickups)
if (!Number.isInteger(pickups) || pickups < 1) throw new Error(`--pickups: a whole number from 1, got ${values.pickups}`)
/** Pickups not counted: the first statements, and the code's first runs. */
const warmups = 20

/** The steps of the counted pickups, summed, by phase. */
const sums = { offer: 0, untilStart: 0, after: 0, runs: 0, fibers: 0 }

/**
 * `contender` with each pickup's steps read: at each offer the counter
 * holds the whole previous pickup (added to `sums` if it counts), then
 * starts again.
 */
const counted = (contender: PickupContender, counter: StepCounter): PickupContender => ({
  ...contender,
  open: async (url, queue, started) => {
    let current: { readonly n: number; inOffer: number; atStart: number } | undefined
    const side = await contender.open(url, queue, (n) => {
      if (current?.n === n) current.atStart = counter.read().steps
      started(n)
    })
    return {
      ...side,
      offer: (n) => {
        const all = counter.read()
        if (current !== undefined && current.n >= warmups && current.n < warmups + pickups) {
          sums.offer += current.inOffer
          sums.untilStart += current.atStart - current.inOffer
          sums.after += all.steps - current.atStart
          sums.runs += all.runs
          sums.fibers += all.fibers
        }
        counter.reset()
        const offered = side.offer(n)
        current = { n, inOffer: counter.read().steps, atStart: 0 }
        return offered
      }
    }
  }
})

const counter = countSteps()
const server = redis ? await startRedisServer() : await startPostgresServer()
try {
  const contender = counted(poolPickupPolling(redis ? "redis" : "postgres", "1 hour"), counter)
  // One pickup more than counted: a pickup's steps are complete at the next offer.
  await measurePickup(contender, server.url, `steps_${process.pid}`, pickups + 1, warmups)
  const per = (x: number) => (x / pickups).toFixed(1)
  process.stdout.write(
    `${contender.name}, ${pickups} idle pickups; per pickup: ` +
      `${per(sums.offer + sums.untilStart + sums.after)} steps (in the offer call ${per(sums.offer)}, ` +
      `then until the handler starts ${per(sums.untilStart)}, after ${per(sums.after)}), ` +
      `${per(sums.runs)} runs of a fiber, ${per(sums.fibers)} fibers\n`
  )
} finally {
  counter.stop()
  await server.close()
}
process.exit(0)
