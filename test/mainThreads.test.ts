/**
 * The program with `--threads`: its jobs run in worker threads, and with
 * `--work cpu` two of them compute at once on two threads. Process-level:
 * it runs `src/main.ts`.
 */
import { describe, expect, it } from "vitest"
import { runMain } from "./support/runMain.ts"

describe("main --threads", () => {
  it("runs the jobs on n threads: with --work cpu, each thread computes jobs; a clean report", async () => {
    const { code, stdout } = await runMain(["--threads", "2", "--work", "cpu", "--jobs", "6", "--duration", "100"])
    const finished = [...stdout.matchAll(/^Thread (\d+) finished job (\d+)$/gm)]
    expect(finished.map((match) => Number(match[2])).sort()).toEqual([1, 2, 3, 4, 5, 6])
    // Six jobs of 100 ms each on two threads: both threads took some (each is busy while it computes).
    expect(new Set(finished.map((match) => match[1])).size).toBe(2)
    expect(stdout).toMatch(/^ {2}succeeded +6/m)
    expect(code).toBe(0)
  })

  it("reports a job failed on purpose in its thread with its typed error", async () => {
    const { code, stdout } = await runMain(["--threads", "1", "--jobs", "2", "--duration", "10", "--failure-rate", "0.5"])
    expect(stdout).toMatch(/^FAILED job 2 with SimulatedFailure: job 2 was picked to fail/m)
    expect(code).toBe(0)
  })

  it("refuses --threads with --store, and a --threads below 1, as bad flags", async () => {
    const durable = await runMain(["--threads", "2", "--store", "memory:"])
    expect(durable.stderr).toContain("--threads runs the jobs in memory: it does not go with --store")
    expect(durable.code).toBe(2)
    expect((await runMain(["--threads", "0"])).code).toBe(2)
  })
})
