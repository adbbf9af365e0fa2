/**
 * The durable benchmark (bench/durable/, `npm run bench:durable`) run once at
 * tiny sizes into a temp dir, on real local Redis and PostgreSQL servers, so
 * that it keeps working as the pool and its stores change. Structure only:
 * a row per contender and consumer count, every run's completed count equal
 * to the jobs offered, the report well formed and its notes kept. No timing
 * assertions: tiny numbers mean nothing.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { durableContenders } from "../bench/durable/contenders/index.ts"
import { pickupContenders } from "../bench/durable/contenders/pickup.ts"
import { durableTargets, pickupTargets } from "../bench/durable/report.ts"
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
  }, 120_000)

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
        expect(run).toMatchObject({ jobs: tiny.jobs, completed: tiny.jobs, consumers: row.consumers, verified: true })
        expect(run.jobsPerSecond).toBeGreaterThan(0)
      }
    }
  })

  it("measures the pickup latency of each pickup contender, on an idle queue", () => {
    expect(output.results.pickup.map((row) => row.contender).sort()).toEqual(
      pickupContenders.map((contender) => contender.name).sort()
    )
    for (const row of output.results.pickup) {
      expect(row.run.jobs, row.contender).toBe(tiny.pickupJobs)
      expect(row.run.latencies).toHaveLength(tiny.pickupJobs)
      expect(row.run.p50).toBeGreaterThan(0)
      expect(row.run.p99).toBeGreaterThanOrEqual(row.run.p50)
    }
    expect(pickupTargets(output.results).map((target) => `${target.engine}/${target.quantile}`).sort()).toEqual(
      ["postgres/p50", "postgres/p99", "redis/p50", "redis/p99"]
    )
  })

  it("checks a target against each other contender, for each consumer count", () => {
    const targets = durableTargets(output.results)
    expect(targets.map((target) => `${target.contender}/${target.consumers}`).sort()).toEqual(
      durableContenders.filter((contender) => !contender.ours)
        .flatMap((contender) => tiny.consumers.map((consumers) => `${contender.name}/${consumers}`))
        .sort()
    )
  })

  it("writes results-durable.md with a header, a table row per run kind, the targets and the kept notes", async () => {
    expect(output.markdownPath).toBe(join(dir, "results-durable.md"))
    const markdown = await readFile(output.markdownPath, "utf8")
    expect(markdown).toBe(output.markdown)
    expect(markdown).toContain(`- Node: ${process.version}`)
    expect(markdown).toMatch(/- Date: \d{4}-\d\d-\d\dT/)
    expect(markdown).toMatch(/- Machine: \d+ cores/)
    expect(markdown).toMatch(/- Commit: \S+/)
    for (const heading of ["## Redis", "## PostgreSQL", "## Pickup latency", "## Targets"]) expect(markdown).toContain(heading)
    for (const row of output.results.rows) {
      const name = row.ours ? `**${row.contender}**` : row.contender
      expect(markdown).toContain(`| ${name} | ${row.consumers} |`)
    }
    expect(markdown).not.toContain("# old")
    expect(markdown).toContain(`${NOTES_START}\n\nBatches differ.\n\n${NOTES_END}`)
  })
})
