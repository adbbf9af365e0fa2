/**
 * The pickup measure (`bench/durable/pickup.ts`) offers each job to an idle
 * consumer: one that has ended its last job, as a consumer that
 * acknowledges a job a few milliseconds after its start (a round trip or
 * two) has, by the next offer. A contender made up here, no server; real
 * timers, so it is not in the unit list.
 */
import { describe, expect, it } from "vitest"
import type { PickupContender } from "../bench/durable/contenders/pickup.ts"
import { measurePickup } from "../bench/durable/pickup.ts"

/**
 * How long the made-up consumer takes to acknowledge a job after its start:
 * a few round trips, well under the measure's pause. In real time (the
 * measure's own timers), so an integration test.
 */
const acknowledgeMs = 5

describe("durable bench pickup", () => {
  it("offers each job once the consumer has acknowledged the previous one: it meets an idle consumer", async () => {
    const busyAtOffer: Array<number> = []
    let acknowledging: number | undefined
    const contender: PickupContender = {
      name: "made up",
      engine: "redis",
      ours: false,
      settings: "",
      open: async (_url, _queue, started) => ({
        offer: async (n) => {
          if (acknowledging !== undefined) busyAtOffer.push(n)
          setImmediate(() => {
            acknowledging = n
            started(n)
            setTimeout(() => {
              acknowledging = undefined
            }, acknowledgeMs)
          })
        },
        close: async () => {}
      })
    }
    const run = await measurePickup(contender, "", "q", 6, 2)
    expect(run.latencies).toHaveLength(6)
    expect(busyAtOffer, "jobs offered while the consumer still acknowledged the previous one").toEqual([])
  })
})
