/**
 * The durable benchmark (bench/durable/, `npm run bench:durable`) run once at
 * tiny sizes into a temp dir, on real local Redis and PostgreSQL servers, so
 * that it keeps working as the pool, its stores and the contenders change.
 * Structure only: a row per contender and consumer count, the scaling rows
 * of ours, a latency under load and at pickup per contender, every run's
 * completed count equal to the jobs offered, the report and the chart well
 * formed and the notes kept. No timing assertions: tiny numbers mean nothing.
 * (The targets' rules are checked on made-up numbers in
 * benchDurableReport.test.ts.)
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { durableContenders } from "../bench/durable/contenders/index.ts"
import { pickupContenders } from "../bench/durable/contenders/pickup.ts"
import { durableTargets, latencyTargets, pickupTargets, throughputGoals } from "../bench/durable/report.ts"
import { type DurableOutput, runDurableBench } from "../bench/durable/run.ts"
import { tiny } from "../bench/durable/sizes.ts"
import { NOTES_END, NOTES_START } from "../bench/kit/notes.ts"

describe("durable bench (tiny sizes)", () => {
  let dir = ""
  let output: DurableOutput

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "effect-worker-pool-bench-durable-"))
    await writeFile(join(dir, "results-durable.md"), `# old\n\n${NOTES_START}\nBatches differ.\n${NOTES_END}\n`)
    output = await runDurableBench(tiny, dir)
  }, 400_000)

  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true })
  })

  it("has a row per contender and consumer count, every run verified", () => {
    const expected = durableContenders.flatMap((contender) =>
      tiny.consumers.map((consumers) => `${contender.name}/${consumers}`)
    )
    expect(output.results.rows.map((row) => `${row.contender}/${row.consumers}`).sort()).toEqual(expected.sort())
    for (const row of output.results.rows) {
      expect(row.verifiedRuns, row.contender).toBe(tiny.reps)
      expect(row.runs).toHaveLength(tiny.reps)
      for (const run of row.runs) {
        expect(run).toMatchObject({ jobs: tiny.jobs, completed: tiny.jobs, consumers: row.consumers, queues: 1, verified: true })
        expect(run.jobsPerSecond).toBeGreaterThan(0)
        // Each consumer process consumed its warm-up queue whole before its timed run.
        const warmUpJobs = Math.min(tiny.consumerWarmUpJobs, Math.floor(run.jobs / 4))
        expect(run.warmedUp, row.contender).toBe(row.consumers * warmUpJobs)
      }
    }
  })

  it("scales ours over more consumers and queues, every run verified, the server's CPU read", () => {
    const shapes = [...tiny.consumers.map((consumers) => ({ consumers, queues: 1 })), ...tiny.scaling]
    for (const engine of ["redis", "postgres"]) {
      const rows = output.results.scaling.filter((row) => row.engine === engine)
      expect(rows.map((row) => ({ consumers: row.consumers, queues: row.queues }))).toEqual(shapes)
      for (const row of rows) {
        expect(row.ours).toBe(true)
        expect(row.verifiedRuns, `${engine} ${row.consumers}/${row.queues}`).toBe(tiny.reps)
        for (const run of row.runs) {
          expect(run).toMatchObject({ completed: tiny.jobs, queues: row.queues, verified: true })
          // The server's processes were found (a tiny run may take less than /proc's 10 ms tick of CPU time).
          expect(run.serverCores, `${engine} ${row.consumers}/${row.queues}`).toBeGreaterThanOrEqual(0)
        }
      }
    }
  })

  it("measures every contender's end-to-end latency under half its throughput, and ours under the fastest other's and the quickest other's", () => {
    const own = output.results.load.filter((row) => row.atRateOf === undefined)
    expect(own.map((row) => row.contender).sort()).toEqual(durableContenders.map((contender) => contender.name).sort())
    const median = (name: string) =>
      output.results.rows.find((other) => other.contender === name && other.consumers === 1)!.jobsPerSecond.median
    for (const engine of ["redis", "postgres"] as const) {
      const others = output.results.rows.filter((row) => row.engine === engine && !row.ours && row.consumers === 1)
      const fastest = others.reduce((a, b) => b.jobsPerSecond.median > a.jobsPerSecond.median ? b : a)
      // The other contender with the lowest p50 under its own half-load: ours runs under its load too, unless it is the fastest.
      const quickest = own.filter((row) => row.engine === engine && !row.ours).reduce((a, b) => b.run.p50 < a.run.p50 ? b : a)
      const same = output.results.load.filter((row) => row.engine === engine && row.atRateOf !== undefined)
      expect(same.map((row) => [row.ours, row.atRateOf])).toEqual(
        [[true, fastest.contender], ...(quickest.contender === fastest.contender ? [] : [[true, quickest.contender]])]
      )
      expect(same[0]!.run.rate).toBeCloseTo(median(fastest.contender) / 2)
    }
    for (const row of output.results.load) {
      expect(row.run.rate).toBeCloseTo(median(row.atRateOf ?? row.contender) / 2)
      expect(row.run.jobs, row.contender).toBeGreaterThan(0)
      expect(row.run.p50).toBeGreaterThan(0)
      expect(row.run.p99).toBeGreaterThanOrEqual(row.run.p50)
    }
  })

  it("measures the pickup latency of each pickup contender, on an idle queue", () => {
    expect(output.results.pickup.map((row) => row.contender).sort()).toEqual(
      pickupContenders.map((contender) => contender.name).sort()
    )
    for (const row of output.results.pickup) {
      expect(row.run.jobs, row.contender).toBe(tiny.pickupJobs)
      expect(row.run.latencies).toHaveLength(tiny.pickupJobs)
      expect(row.roundP50s, row.contender).toHaveLength(tiny.pickupRounds)
      expect(row.run.p50).toBeGreaterThanOrEqual(Math.min(...row.roundP50s))
      expect(row.run.p50).toBeLessThanOrEqual(Math.max(...row.roundP50s))
      expect(row.run.p50).toBeGreaterThan(0)
      expect(row.run.p99).toBeGreaterThanOrEqual(row.run.p50)
    }
    expect(pickupTargets(output.results).map((target) => `${target.engine}/${target.quantile}`).sort()).toEqual(
      ["postgres/p50", "postgres/p99", "redis/p50", "redis/p99"]
    )
  })

  it("checks each throughput goal for each consumer count, and each latency against the best other", () => {
    expect(durableTargets(output.results).map((target) => `${target.contender}/${target.consumers}`).sort()).toEqual(
      throughputGoals.flatMap((goal) => tiny.consumers.map((consumers) => `${goal.contender}/${consumers}`)).sort()
    )
    // One pair of "under the same load" targets for each contender ours ran under the load of, against that contender.
    const peersOf = (engine: string) =>
      output.results.load.flatMap((row) => row.engine === engine && row.atRateOf !== undefined ? [row.atRateOf] : [])
    expect(
      latencyTargets(output.results).map((target) =>
        `${target.engine}/${target.kind}${target.kind === "under the same load" ? `/${target.bestContender}` : ""}/${target.quantile}`
      ).sort()
    ).toEqual(
      ["postgres", "redis"].flatMap((engine) => [
        ...["pickup", "under load"].flatMap((kind) => ["p50", "p99"].map((quantile) => `${engine}/${kind}/${quantile}`)),
        ...peersOf(engine).flatMap((peer) => ["p50", "p99"].map((quantile) => `${engine}/under the same load/${peer}/${quantile}`))
      ]).sort()
    )
  })

  it("draws results-durable.svg: a throughput panel per engine and consumer count, a latency panel per engine", async () => {
    expect(output.svgPath).toBe(join(dir, "results-durable.svg"))
    const svg = await readFile(output.svgPath, "utf8")
    expect(svg).toMatch(/^<\?xml/)
    const panels = [...svg.matchAll(/<g class="panel" data-panel="([^"]+)">/g)].map((match) => match[1])
    expect(panels).toEqual(
      ["redis", "postgres"].flatMap((engine) => [...tiny.consumers.map((consumers) => `${engine}-${consumers}`), `${engine}-latency`])
    )
    for (const row of output.results.rows) {
      // Named without the engine, which the panel's title says.
      const name = row.contender.replace(/ \((Redis|PostgreSQL)\)$/, "")
      expect(svg).toContain(`data-panel="${row.engine}-${row.consumers}" data-contender="${name}"`)
    }
  })

  it("writes results-durable.md with a header, a table row per run kind, the targets and the kept notes", async () => {
    expect(output.markdownPath).toBe(join(dir, "results-durable.md"))
    const markdown = await readFile(output.markdownPath, "utf8")
    expect(markdown).toBe(output.markdown)
    expect(markdown).toContain(`- Node: ${process.version}`)
    expect(markdown).toMatch(/- Date: \d{4}-\d\d-\d\dT/)
    expect(markdown).toMatch(/- Machine: \d+ cores/)
    expect(markdown).toMatch(/- Commit: \S+/)
    for (
      const heading of [
        "## Redis",
        "## PostgreSQL",
        "## Scaling (ours)",
        "## End-to-end latency under load",
        "## Pickup latency",
        "## Targets"
      ]
    ) expect(markdown).toContain(heading)
    for (const row of output.results.rows) {
      const name = row.ours ? `**${row.contender}**` : row.contender
      expect(markdown).toContain(`| ${name} | ${row.consumers} |`)
    }
    expect(markdown).not.toContain("# old")
    expect(markdown).toContain(`${NOTES_START}\n\nBatches differ.\n\n${NOTES_END}`)
  })
})
