/**
 * The benchmark (bench/, `npm run bench`) run once at tiny sizes into a temp
 * dir, so that it keeps working as the pool changes. Structure only: every
 * contender has its row in every workload, every run's job count was
 * verified, the report and the chart are well formed and the notes block
 * survives a rerun. No timing assertions: tiny numbers mean nothing, and
 * timings on a shared CI machine would make the test flaky.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { contenders, noopContenders, POOL, POOL_BATCHES, sleepContenders } from "../bench/contenders/index.ts"
import { NOTES_END, NOTES_START } from "../bench/kit/notes.ts"
import { type Output, runBench } from "../bench/run.ts"
import { tiny } from "../bench/sizes.ts"

const names = (list: ReadonlyArray<{ readonly name: string }>) => list.map((contender) => contender.name)

describe("bench (tiny sizes)", () => {
  let dir = ""
  let output: Output

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "effect-worker-pool-bench-"))
    // A report from an earlier run, with notes someone wrote: the rerun must keep them.
    await writeFile(join(dir, "results.md"), `# old report\n\n${NOTES_START}\nProfile: hot path in submit.\n${NOTES_END}\n`)
    output = await runBench(tiny, dir)
    // About 15 s on this 2-core VM, and twice that when it runs slow: the room is for the machine, not the bench.
  }, 120_000)

  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true })
  })

  it("writes into the given directory, not over bench/results.md", () => {
    expect(output.markdownPath).toBe(join(dir, "results.md"))
    expect(output.svgPath).toBe(join(dir, "results.svg"))
  })

  it("has a row for every contender in every throughput workload, each run verified", () => {
    const [w1, w2, w3] = output.results.throughput
    expect(w1?.rows.map((row) => row.contender)).toEqual(names(noopContenders))
    expect(w2?.rows.map((row) => row.contender)).toEqual(names(contenders))
    expect(w3?.rows.map((row) => row.contender)).toEqual(names(sleepContenders))
    for (const result of output.results.throughput) {
      for (const row of result.rows) {
        expect(row.verifiedRuns, `${result.id} ${row.contender}`).toBe(tiny.reps)
        expect(row.jobsPerSecond.median).toBeGreaterThan(0)
      }
    }
  })

  it("measures memory in child processes for every contender, each run verified", () => {
    expect(output.results.memory.map((row) => row.contender)).toEqual(names(contenders))
    for (const row of output.results.memory) {
      expect(row.small).toMatchObject({ jobs: tiny.memorySmall, verified: true })
      expect(row.large).toMatchObject({ jobs: tiny.memoryLarge, verified: true })
      expect(row.small.maxRssBytes).toBeGreaterThan(0)
    }
  })

  it("measures the pool's shutdown", () => {
    expect(output.results.shutdown.idleCloses).toBe(tiny.idleCloses)
    expect(output.results.shutdown.drains).toBe(tiny.drains)
  })

  it("writes results.md with a header, a table row per contender, the targets and the kept notes", async () => {
    const markdown = await readFile(output.markdownPath, "utf8")
    expect(markdown).toBe(output.markdown)
    expect(markdown).toContain(`- Node: ${process.version}`)
    expect(markdown).toMatch(/- Date: \d{4}-\d\d-\d\dT/)
    expect(markdown).toMatch(/- Machine: \d+ cores/)
    for (const id of ["W1", "W2", "W3", "W4", "W5"]) expect(markdown).toContain(`## ${id}:`)
    for (const name of new Set([...names(noopContenders), ...names(sleepContenders)])) {
      expect(markdown).toContain(name === POOL || name === POOL_BATCHES ? `| **${name}** |` : `| ${name} |`)
    }
    expect(markdown).toContain("## Targets")
    expect(markdown).not.toContain("# old report")
    expect(markdown).toContain(`${NOTES_START}\n\nProfile: hot path in submit.\n\n${NOTES_END}`)
  })

  it("writes a standalone SVG with one bar per contender in each panel", async () => {
    const svg = await readFile(output.svgPath, "utf8")
    expect(svg).toContain(`<svg xmlns="http://www.w3.org/2000/svg"`)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    // Every element opened is closed (or self-closing): XML-ish enough for a browser.
    const opened = svg.match(/<(g|svg|text)\b/g)?.length ?? 0
    const closed = svg.match(/<\/(g|svg|text)>/g)?.length ?? 0
    expect(opened).toBe(closed)
    for (const result of output.results.throughput) {
      const bars = [...svg.matchAll(new RegExp(`<rect class="bar" data-workload="${result.id}" data-contender="([^"]+)"`, "g"))]
      expect(bars.map((bar) => bar[1]), result.id).toEqual(result.rows.map((row) => row.contender))
    }
  })
})
