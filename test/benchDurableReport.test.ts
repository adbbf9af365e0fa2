/**
 * The durable benchmark's rules, on made-up numbers (no server, no process):
 * which contender each throughput goal compares with and by what factor,
 * the latency targets against the best other contender, what a missed goal
 * says, how the chart scales its bars, `--only`, and the CPU arithmetic.
 * The benchmark itself runs end to end in benchDurable.test.ts.
 */
import { describe, expect, it } from "vitest"
import { renderDurableChart } from "../bench/durable/chart.ts"
import { selected } from "../bench/durable/contenders/contender.ts"
import type { Engine } from "../bench/durable/contenders/contender.ts"
import { cpuSeconds, cpuWindow } from "../bench/durable/cpu.ts"
import type { LoadRun } from "../bench/durable/load.ts"
import { largest, type PickupRun } from "../bench/durable/pickup.ts"
import { durableTargets, latencyTargets, renderDurableReport } from "../bench/durable/report.ts"
import { type DurableResults, type DurableRow, type LoadRow, type PickupRow, quickestOther } from "../bench/durable/run.ts"
import { tiny } from "../bench/durable/sizes.ts"

const throughput = (contender: string, engine: Engine, consumers: number, jobsPerSecond: number): DurableRow => ({
  contender,
  engine,
  ours: contender.startsWith("ours"),
  settings: "",
  consumers,
  queues: 1,
  runs: [],
  jobsPerSecond: { median: jobsPerSecond, min: jobsPerSecond, max: jobsPerSecond },
  offerPerSecond: { median: 1, min: 1, max: 1 },
  verifiedRuns: 1,
  serverCores: 0.5,
  consumerCores: 0.5
})

const latency = (p50: number, p99: number): PickupRun & LoadRun => ({
  jobs: 10,
  latencies: [],
  p50,
  p99,
  max: p99,
  rate: 100,
  offered: 10,
  achievedRate: 100
})

const pickup = (contender: string, engine: Engine, p50: number, p99: number): PickupRow => ({
  contender,
  engine,
  ours: contender.startsWith("ours"),
  settings: "",
  run: latency(p50, p99),
  roundP50s: [p50]
})

const load = (contender: string, engine: Engine, p50: number, p99: number): LoadRow => ({
  contender,
  engine,
  ours: contender.startsWith("ours"),
  settings: "",
  run: latency(p50, p99)
})

const results = (overrides: Partial<DurableResults> = {}): DurableResults => ({
  date: "2026-12-03T00:00:00.000Z",
  node: "v24",
  revision: "abc1234",
  machine: { cores: 2, model: "test", memoryGiB: 1, platform: "linux", arch: "x64" },
  sizes: { ...tiny, label: "full", consumers: [1] },
  rows: [
    throughput("ours (Redis)", "redis", 1, 30_000),
    throughput("BullMQ", "redis", 1, 10_000),
    throughput("effect-mq (Redis)", "redis", 1, 5_000),
    throughput("ours (PostgreSQL)", "postgres", 1, 20_000),
    // The faster settings second: the goal must look past the first row.
    throughput("graphile-worker", "postgres", 1, 8_000),
    throughput("graphile-worker (batched)", "postgres", 1, 25_000),
    throughput("effect-mq (PostgreSQL)", "postgres", 1, 700),
    throughput("pg-boss", "postgres", 1, 40_000)
  ],
  scaling: [],
  load: [
    load("ours (Redis)", "redis", 2, 10),
    load("BullMQ", "redis", 3, 8),
    load("effect-mq (Redis)", "redis", 20, 7)
  ],
  pickup: [
    pickup("ours (PostgreSQL)", "postgres", 1.5, 4),
    pickup("graphile-worker", "postgres", 1.5, 6),
    pickup("pg-boss", "postgres", 2000, 2010)
  ],
  ...overrides
})

describe("durable bench targets", () => {
  it("compares with each goal's contender by its factor, graphile-worker by its faster settings, pg-boss by none", () => {
    const targets = durableTargets(results())
    expect(targets.map((target) => [target.contender, target.row, target.factor, target.ratio, target.met])).toEqual([
      ["BullMQ", "BullMQ", 3, 3, true],
      ["effect-mq (Redis)", "effect-mq (Redis)", 1, 6, true],
      ["graphile-worker", "graphile-worker (batched)", 1, 0.8, false],
      ["effect-mq (PostgreSQL)", "effect-mq (PostgreSQL)", 1, 20_000 / 700, true]
    ])
  })

  it("gives each contender's CPU a job, the server's and the consumers' together", () => {
    const markdown = renderDurableReport(results(), "")
    // 0.5 + 0.5 cores at 20,000 jobs/s: 50 µs a job; at 8,000, 125.
    expect(markdown).toMatch(/\| \*\*ours \(PostgreSQL\)\*\* \| 1 \| 20,000 \|[^\n]*\| 0\.50 \| 0\.50 \| 50 \|/)
    expect(markdown).toMatch(/\| graphile-worker \| 1 \| 8,000 \|[^\n]*\| 0\.50 \| 0\.50 \| 125 \|/)
  })

  it("misses the BullMQ goal below 3×, and says by how much a goal is missed", () => {
    const slower = results({
      rows: results().rows.map((row) => row.contender === "BullMQ" ? throughput("BullMQ", "redis", 1, 10_001) : row)
    })
    expect(durableTargets(slower)[0]).toMatchObject({ contender: "BullMQ", met: false })
    const markdown = renderDurableReport(results(), "")
    expect(markdown).toContain("| PostgreSQL | ≥ 1.00× graphile-worker (best: graphile-worker (batched)) | 1 | 0.80× (short by 20 %) | **not met** |")
  })

  it("sets no goal for a contender left out of the run", () => {
    const without = results({ rows: results().rows.filter((row) => !row.contender.startsWith("effect-mq")) })
    expect(durableTargets(without).map((target) => target.contender)).toEqual(["BullMQ", "graphile-worker"])
  })

  it("holds each latency quantile of ours to the lowest of the other contenders', per engine and kind", () => {
    expect(latencyTargets(results()).map((target) => [
      target.engine,
      target.kind,
      target.quantile,
      target.best,
      target.bestContender,
      target.met
    ])).toEqual([
      // A tie meets the target.
      ["postgres", "pickup", "p50", 1.5, "graphile-worker", true],
      ["postgres", "pickup", "p99", 6, "graphile-worker", true],
      ["redis", "under load", "p50", 3, "BullMQ", true],
      // The best p99 is another contender's than the best p50.
      ["redis", "under load", "p99", 7, "effect-mq (Redis)", false]
    ])
  })

  it("holds ours under the fastest other's load to that contender alone, and leaves that row out of the per-contender loads", () => {
    const sameLoad: LoadRow = { ...load("ours (Redis)", "redis", 4, 9), atRateOf: "BullMQ" }
    const targets = latencyTargets(results({ load: [...results().load, sameLoad] }))
    expect(targets.filter((target) => target.kind === "under load").map((target) => target.ours)).toEqual([2, 10])
    expect(targets.filter((target) => target.kind === "under the same load").map((target) => [
      target.quantile,
      target.ours,
      target.best,
      target.bestContender,
      target.met
    ])).toEqual([
      // Against BullMQ's own 3 / 8 ms, not effect-mq's better p99 of 7.
      ["p50", 4, 3, "BullMQ", false],
      ["p99", 9, 8, "BullMQ", false]
    ])
    expect(renderDurableReport(results({ load: [...results().load, sameLoad] }), "")).toContain(
      "| Redis | under BullMQ's load p99 ≤ its own | 1 | 9.0 ms vs 8.0 ms (BullMQ) | **not met** |"
    )
  })
  it("holds ours under each other contender's load it ran under to that contender, one pair of targets each", () => {
    const atBullMQ: LoadRow = { ...load("ours (Redis)", "redis", 4, 9), atRateOf: "BullMQ" }
    const atEffectMq: LoadRow = { ...load("ours (Redis)", "redis", 1, 6), atRateOf: "effect-mq (Redis)" }
    const targets = latencyTargets(results({ load: [...results().load, atBullMQ, atEffectMq] }))
    expect(targets.filter((target) => target.kind === "under the same load").map((target) => [
      target.bestContender,
      target.quantile,
      target.ours,
      target.best,
      target.met
    ])).toEqual([
      ["BullMQ", "p50", 4, 3, false],
      ["BullMQ", "p99", 9, 8, false],
      // effect-mq's own 20 / 7 ms, at its lighter load.
      ["effect-mq (Redis)", "p50", 1, 20, true],
      ["effect-mq (Redis)", "p99", 6, 7, true]
    ])
  })
})

describe("durable bench chart", () => {
  const widthOf = (svg: string, panel: string, contender: string): number => {
    const match = svg.match(new RegExp(`data-panel="${panel}" data-contender="${contender.replace(/[()]/g, "\\$&")}"[^>]*width="([\\d.]+)"`))
    if (match === null) throw new Error(`no bar for ${contender} in ${panel}`)
    return Number(match[1])
  }

  it("draws throughput bars in proportion, on the panel's largest", () => {
    const svg = renderDurableChart(results())
    expect(widthOf(svg, "redis-1", "BullMQ") / widthOf(svg, "redis-1", "ours")).toBeCloseTo(1 / 3)
    expect(widthOf(svg, "postgres-1", "pg-boss")).toBeGreaterThan(widthOf(svg, "postgres-1", "ours"))
  })

  it("names the load each of ours' same-load bars ran under", () => {
    const atBullMQ: LoadRow = { ...load("ours (Redis)", "redis", 4, 9), atRateOf: "BullMQ" }
    const atEffectMq: LoadRow = { ...load("ours (Redis)", "redis", 1, 6), atRateOf: "effect-mq (Redis)" }
    const svg = renderDurableChart(results({ load: [...results().load, atBullMQ, atEffectMq] }))
    expect(widthOf(svg, "redis-latency", "at BullMQ's load p50")).toBeGreaterThan(
      widthOf(svg, "redis-latency", "at effect-mq's load p50")
    )
  })

  it("keeps every bar's label within the 290 px before the bars, the longest contender's and load's names too", () => {
    const atBatched: LoadRow = { ...load("ours (PostgreSQL)", "postgres", 4, 9), atRateOf: "graphile-worker (batched)" }
    const svg = renderDurableChart(results({
      load: [...results().load, load("graphile-worker (batched)", "postgres", 3, 8), atBatched],
      pickup: [...results().pickup, pickup("effect-worker-pool (PostgreSQL)", "postgres", 2, 5)]
    }))
    const labels = [...svg.matchAll(/<text x="290"([^>]*)>([^<]*)<\/text>/g)].map((match) => ({
      bold: match[1]!.includes("bold"),
      text: match[2]!
    }))
    expect(labels.map((label) => label.text)).toContain("at graphile-worker (batched)'s load p50")
    // 13 px Helvetica takes about 7 px a character in bold (ours), 6.5 in regular: 40 and 44 characters fill the 290 px.
    for (const label of labels) expect(label.text.length, label.text).toBeLessThanOrEqual(label.bold ? 40 : 44)
  })

  it("draws latency on a log scale: a thousand times slower is not a thousand times longer", () => {
    const svg = renderDurableChart(results())
    const fast = widthOf(svg, "postgres-latency", "ours, pickup p50")
    const slow = widthOf(svg, "postgres-latency", "pg-boss, pickup p50")
    expect(slow).toBeGreaterThan(fast)
    expect(slow / fast).toBeLessThan(10)
  })
})

describe("durable bench helpers", () => {
  it("keeps ours always, and others by a word of --only", () => {
    expect(selected("graphile,effect", "graphile-worker (batched)", false)).toBe(true)
    expect(selected("graphile,effect", "effect-mq (Redis)", false)).toBe(true)
    expect(selected("graphile,effect", "BullMQ", false)).toBe(false)
    expect(selected("graphile", "effect-worker-pool (Redis)", true)).toBe(true)
    expect(selected(undefined, "BullMQ", false)).toBe(true)
  })

  it("runs ours under the load of the other contender quickest under its own, unless that one is the fastest", () => {
    const loads = [
      load("ours (PostgreSQL)", "postgres", 1, 5),
      load("graphile-worker (batched)", "postgres", 9, 30),
      load("graphile-worker", "postgres", 4, 20),
      load("pg-boss", "postgres", 6, 10),
      // Ours' own rows under another's load are not candidates, however quick.
      { ...load("ours (PostgreSQL)", "postgres", 0.5, 1), atRateOf: "pg-boss" }
    ]
    expect(quickestOther(loads, "graphile-worker (batched)")).toEqual({ name: "graphile-worker", rate: 100 })
    // Already measured as the fastest: no second row under the same load.
    expect(quickestOther(loads, "graphile-worker")).toBeUndefined()
    expect(quickestOther([load("ours (Redis)", "redis", 1, 2)], "BullMQ")).toBeUndefined()
  })

  it("counts the CPU time between two readings, a process new in the second from zero", () => {
    expect(cpuSeconds(new Map([[1, 2], [2, 1]]), new Map([[1, 3.5], [2, 1], [3, 0.25]]))).toBeCloseTo(1.75)
  })

  it("a CPU window lists its processes again at its end: one started inside it counts", () => {
    // This process, listed only at the end, stands for a backend a consumer connected after `go`.
    let listed: ReadonlyArray<number> = []
    const seconds = cpuWindow(() => listed)
    listed = [process.pid]
    expect(seconds()).toBeGreaterThan(0)
  })
})

describe("durable bench samples", () => {
  it("the largest of a latency run's samples, however many: a million does not overflow the stack", () => {
    const samples = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003)
    samples[123_456] = 2_000_000
    expect(largest(samples)).toBe(2_000_000)
    expect(largest([])).toBe(-Infinity)
  })
})
