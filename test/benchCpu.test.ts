/**
 * The CPU benchmark (`npm run bench -- --cpu`, bench/cpu/) run once at tiny
 * sizes, so that it keeps working as the pool changes. Structure only: a
 * row for every pool at every thread count, and the report's tables and
 * ratios. No timing assertions: tiny numbers mean nothing.
 */
import { describe, expect, it } from "vitest"
import { renderCpuReport, runCpuBench, tinyCpu } from "../bench/cpu/run.ts"

describe("CPU bench (tiny sizes)", () => {
  it("measures every pool at every thread count, and the trivial jobs at the most threads", async () => {
    const results = await runCpuBench(tinyCpu, () => {})
    const rows = results.cpu.map((row) => `${row.name}/${row.threads}`).sort()
    expect(rows).toEqual([
      "effect-worker-pool, no threads/1",
      "effect-worker-pool, threads/1",
      "effect-worker-pool, threads/2",
      "piscina/1",
      "piscina/2",
      "tinypool/1",
      "tinypool/2"
    ])
    expect(results.trivial.map((row) => row.name).sort()).toEqual(["effect-worker-pool, threads", "piscina", "tinypool"])
    for (const row of [...results.cpu, ...results.trivial]) expect(row.runsMs).toHaveLength(tinyCpu.reps)
    const report = renderCpuReport(results, "notes")
    expect(report).toMatch(/^- 2 threads: \d+\.\d\d× piscina, \d+\.\d\d× tinypool, \d+\.\d\d× this pool without threads$/m)
    expect(report).toMatch(/^- trivial jobs, 2 threads: this pool \d+\.\d µs per job/m)
  }, 60_000)
})
