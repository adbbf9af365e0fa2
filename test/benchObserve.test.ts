/**
 * `npm run bench:observe` at tiny sizes: every variant runs, every run's
 * job count is checked (bench/throughput.ts throws on a wrong one), and the
 * report has a row per variant. Its numbers mean nothing at this size.
 */
import { describe, expect, it } from "vitest"
import { runObserve, variants } from "../bench/observe.ts"
import { tiny } from "../bench/sizes.ts"

describe("bench:observe", () => {
  it("runs every variant on W1 and reports each", async () => {
    const result = await runObserve(tiny)
    expect(result.rows.map((row) => row.contender)).toEqual(variants.map((variant) => variant.name))
    for (const row of result.rows) expect(row.cpuMs).toHaveLength(tiny.reps)
    for (const variant of variants) expect(result.markdown).toContain(`| ${variant.name} |`)
  })
})
