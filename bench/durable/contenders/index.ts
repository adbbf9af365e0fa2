/** The durable benchmark's contenders, each engine's in the order they alternate: ours first. */
import { bullmq } from "./bullmq.ts"
import type { DurableContender } from "./contender.ts"
import { effectMqPostgres, effectMqRedis } from "./effectMq.ts"
import { graphileWorker, graphileWorkerBatched } from "./graphileWorker.ts"
import { pgBoss } from "./pgBoss.ts"
import { poolPostgres } from "./poolPostgres.ts"
import { poolRedis } from "./poolRedis.ts"

export { type DriverSide, type DurableContender, type Engine, selected } from "./contender.ts"

export const durableContenders: ReadonlyArray<DurableContender> = [
  poolRedis,
  effectMqRedis,
  bullmq,
  poolPostgres,
  graphileWorkerBatched,
  graphileWorker,
  effectMqPostgres,
  pgBoss
]

export const byName = (name: string): DurableContender => {
  const found = durableContenders.find((contender) => contender.name === name)
  if (found === undefined) throw new Error(`unknown durable contender ${JSON.stringify(name)}`)
  return found
}
