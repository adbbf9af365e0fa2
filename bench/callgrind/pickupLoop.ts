/**
 * The loop `pickup.ts` runs under callgrind: `n` idle pickups on PostgreSQL
 * (at `URL`, a server outside valgrind), one at a time, each offered once
 * the previous one started and 2 ms have passed, by ours (the pickup
 * benchmark's contender, with the poll set to an hour, so that only
 * notifications wake it and the count does not follow the run's length) or
 * by graphile-worker (the pickup benchmark's contender, its defaults). What
 * is counted is the whole process: the offer, the wake-up, the claim, the
 * handler's start, the acknowledgement, and the JIT and the collector's
 * share of them.
 *
 *   URL=postgres://... node bench/callgrind/pickupLoop.ts 200 ours|graphile
 */
import { graphileWorkerPickup, poolPickupPolling } from "../durable/contenders/pickup.ts"

const n = Number(process.argv[2])
const contender = process.argv[3] ?? "ours"
const url = process.env["URL"]
if (!Number.isInteger(n) || n < 0 || url === undefined) throw new Error("pickupLoop.ts: URL=... node pickupLoop.ts <pickups> [ours|graphile]")

let started: (() => void) | undefined
const queue = `callgrind_${process.pid}`
const side = await (contender === "ours" ? poolPickupPolling("postgres", "1 hour") : graphileWorkerPickup)
  .open(url, queue, () => started?.())
await new Promise((resolve) => setTimeout(resolve, 300))
for (let k = 0; k < n; k++) {
  const start = new Promise<void>((resolve) => started = resolve)
  await side.offer(k)
  await start
  await new Promise((resolve) => setTimeout(resolve, 2))
}
await side.close()
process.exit(0)
