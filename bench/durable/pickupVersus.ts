/**
 * `node bench/durable/pickupVersus.ts --other <checkout> [--engine postgres|redis] [--rounds 6] [--jobs 200]`:
 * our idle pickup latency from this checkout against the same contender
 * from another checkout of this repository (a `git worktree` at another
 * commit, its `node_modules` linked), and the engine's fastest other
 * (graphile-worker, BullMQ), on one server, in one process, round after
 * round with the order reversed each round: the pickup measure's own loop
 * (`measurePickup`), each round on a fresh queue after 20 untimed jobs.
 * Prints each one's p50 by round and the p50 / p99 of all its pickups. For
 * A/B of a change on the pickup's path, where two full runs of
 * `bench:durable` differ by more than the change. Printed only.
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import { startPostgresServer, startRedisServer } from "../../test/support/servers.ts"
import { orderOfRound } from "../kit/alternation.ts"
import type { PickupContender } from "./contenders/pickup.ts"
import { bullmqPickup, graphileWorkerPickup, poolPostgresPickup, poolRedisPickup } from "./contenders/pickup.ts"
import { measurePickup, quantile } from "./pickup.ts"

const { values } = parseArgs({
  options: {
    other: { type: "string" },
    engine: { type: "string", default: "postgres" },
    rounds: { type: "string", default: "6" },
    jobs: { type: "string", default: "200" }
  }
})
if (values.other === undefined) throw new Error("--other: the other checkout's directory")
const redis = values.engine === "redis"
if (!redis && values.engine !== "postgres") throw new Error(`--engine: postgres or redis, got ${values.engine}`)
const other: typeof import("./contenders/pickup.ts") = await import(
  pathToFileURL(resolve(values.other, "bench/durable/contenders/pickup.ts")).href
)

const sides: ReadonlyArray<readonly [label: string, contender: PickupContender]> = [
  ["this checkout", redis ? poolRedisPickup : poolPostgresPickup],
  ["the other", redis ? other.poolRedisPickup : other.poolPostgresPickup],
  [redis ? "BullMQ" : "graphile-worker", redis ? bullmqPickup : graphileWorkerPickup]
]
const server = redis ? await startRedisServer() : await startPostgresServer()
const latencies = new Map(sides.map(([label]) => [label, [] as Array<number>]))
const byRound = new Map(sides.map(([label]) => [label, [] as Array<string>]))
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [label, contender] of orderOfRound(round, sides)) {
      const run = await measurePickup(contender, server.url, `versus_${round}_${byRound.get(label)!.length}_${label.length}`, Number(values.jobs), 20)
      latencies.get(label)!.push(...run.latencies)
      byRound.get(label)!.push(run.p50.toFixed(2))
    }
  }
} finally {
  await server.close()
}
for (const [label] of sides) {
  const all = latencies.get(label)!
  process.stdout.write(
    `${label}: p50 ${quantile(all, 0.5).toFixed(2)} ms, p99 ${quantile(all, 0.99).toFixed(2)} ms; p50 by round ${byRound.get(label)!.join(", ")}\n`
  )
}
process.exit(0)
