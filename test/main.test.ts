/**
 * Process-level tests of the runnable program: they start `src/main.ts` as a
 * real Node process, read what it prints, send it real signals and check its
 * exit code. The pool itself is covered by the unit tests; these cover what
 * only a real process shows: output, flags, signals and exit codes.
 *
 * Jobs are short, and the tests wait for output markers rather than sleeping,
 * so that they stay quick and steady on a loaded machine.
 */
import { describe, expect, it } from "vitest"
import { runMain, start } from "./support/runMain.ts"

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line.length > 0)

/** The number in the report's row for `outcome`. */
const reportCount = (stdout: string, outcome: string): number => {
  const row = new RegExp(`^  ${outcome}\\s+(\\d+)`, "m").exec(stdout)
  if (row === null) throw new Error(`no "${outcome}" row in the report:\n${stdout}`)
  return Number(row[1])
}

/** The job numbers of lines like "Worker 2 started job 7". */
const jobsThat = (stdout: string, verb: string): Array<number> =>
  [...stdout.matchAll(new RegExp(`^Worker \\d+ ${verb} job (\\d+)`, "gm"))].map((match) => Number(match[1]))

describe("main", () => {
  it("runs the seed's example: 5 jobs on 3 workers, then a clean report", async () => {
    const { code, stderr, stdout } = await runMain()

    const output = lines(stdout)
    for (let job = 1; job <= 5; job++) {
      const started = output.findIndex((line) => new RegExp(`^Worker [123] started job ${job}$`).test(line))
      const finished = output.findIndex((line) => new RegExp(`^Worker [123] finished job ${job}$`).test(line))
      expect(started, `job ${job} started`).toBeGreaterThanOrEqual(0)
      expect(finished, `job ${job} finished after it started`).toBeGreaterThan(started)
    }
    expect(jobsThat(stdout, "started")).toHaveLength(5)
    expect(stdout).toContain("Shutdown report")
    expect(reportCount(stdout, "succeeded")).toBe(5)
    expect(reportCount(stdout, "interrupted")).toBe(0)
    expect(reportCount(stdout, "abandoned")).toBe(0)
    expect(stdout).toContain("Shutdown complete")
    expect(stderr).toBe("")
    expect(code).toBe(0)
  })

  it("reports jobs failed by --failure-rate clearly and still exits 0", async () => {
    // 0.4 picks every job where n * 0.4 crosses an integer: jobs 3 and 5.
    const { code, stdout } = await runMain(["--failure-rate", "0.4", "--duration", "50"])

    expect(jobsThat(stdout, "FAILED").sort()).toEqual([3, 5])
    expect(stdout).toMatch(/^Worker \d FAILED job 3 with SimulatedFailure: /m)
    expect(jobsThat(stdout, "finished").sort()).toEqual([1, 2, 4])
    expect(reportCount(stdout, "succeeded")).toBe(3)
    expect(reportCount(stdout, "failed")).toBe(2)
    expect(code).toBe(0)
  })

  it("SIGTERM mid-run stops submitting and lets the running and queued jobs finish: exit 0", async () => {
    // Capacity 1 keeps the submitting going (backpressure) when the signal comes.
    const program = start(["--jobs", "20", "--workers", "2", "--capacity", "1", "--duration", "300"])
    await program.waitFor(/started job/)
    program.kill("SIGTERM")
    const { code, stdout } = await program.exited

    expect(stdout).toMatch(/SIGTERM received: no more jobs are submitted; draining running and queued jobs/)
    const started = jobsThat(stdout, "started")
    expect(started.length).toBeGreaterThan(0)
    expect(started.length).toBeLessThan(20)
    expect(jobsThat(stdout, "finished").sort()).toEqual(started.sort())
    expect(reportCount(stdout, "succeeded")).toBe(started.length)
    expect(reportCount(stdout, "interrupted")).toBe(0)
    expect(reportCount(stdout, "abandoned")).toBe(0)
    expect(stdout).toContain("Shutdown complete")
    expect(code).toBe(0)
  })

  it("SIGTERM with --backlog return hands the queued jobs back unstarted: exit 1", async () => {
    const program = start([
      "--jobs", "10", "--workers", "1", "--capacity", "3", "--duration", "1000", "--backlog", "return"
    ])
    await program.waitFor(/started job 1$/m)
    program.kill("SIGTERM")
    const { code, stdout } = await program.exited

    expect(stdout).toMatch(/finished job 1$/m)
    expect(jobsThat(stdout, "started")).toEqual([1])
    expect(reportCount(stdout, "succeeded")).toBe(1)
    expect(reportCount(stdout, "abandoned")).toBeGreaterThanOrEqual(1)
    expect(stdout).toMatch(/^  abandoned\s+\d+\s+jobs? 2\b/m)
    expect(code).toBe(1)
  })

  it("SIGTERM while a job outlives the drain timeout interrupts it and names it: exit 1", async () => {
    const program = start([
      "--jobs", "10", "--workers", "1", "--capacity", "1", "--duration", "60000", "--drain-timeout", "300"
    ])
    await program.waitFor(/started job 1$/m)
    program.kill("SIGTERM")
    const { code, stdout } = await program.exited

    expect(stdout).toMatch(/^Worker 1 INTERRUPTED job 1\b/m)
    expect(stdout).toMatch(/^  interrupted\s+1\s+job 1$/m)
    expect(stdout).toMatch(/deadline of 300 ms reached/)
    expect(stdout).toContain("Shutdown incomplete")
    expect(code).toBe(1)
  })

  it("the drain timeout also bounds the end of a run without signals", async () => {
    const { code, elapsed, stdout } = await runMain(["--jobs", "1", "--duration", "60000", "--drain-timeout", "200"])

    expect(stdout).toMatch(/^  interrupted\s+1\s+job 1$/m)
    expect(elapsed).toBeLessThan(20_000)
    expect(code).toBe(1)
  })

  it("a second SIGINT stops at once with exit code 130", async () => {
    const program = start([
      "--jobs", "10", "--workers", "1", "--capacity", "1", "--duration", "60000", "--drain-timeout", "60000"
    ])
    await program.waitFor(/started job 1$/m)
    program.kill("SIGINT")
    await program.waitFor(/SIGINT received: .*draining/)
    const secondAt = program.since()
    program.kill("SIGINT")
    const { code, elapsed, stdout } = await program.exited

    expect(elapsed - secondAt).toBeLessThan(3_000)
    expect(stdout).toMatch(/SIGINT received again: stopping at once/)
    expect(stdout).not.toContain("Shutdown report")
    expect(code).toBe(130)
  })

  it("--output quiet prints the report only; --output progress prints progress, not job lines", async () => {
    const [quiet, progress] = await Promise.all([
      runMain(["--output", "quiet", "--jobs", "8", "--duration", "20"]),
      runMain(["--output", "progress", "--jobs", "60", "--workers", "6", "--duration", "10"])
    ])

    expect(quiet.stdout).not.toMatch(/^Worker/m)
    expect(reportCount(quiet.stdout, "succeeded")).toBe(8)
    expect(quiet.code).toBe(0)
    expect(progress.stdout).not.toMatch(/^Worker/m)
    expect(progress.stdout).toMatch(/^done 60\/60 {2}failed 0 {2}queued 0 {2}active 0 {2}[\d.]+ jobs\/s$/m)
    expect(reportCount(progress.stdout, "succeeded")).toBe(60)
    expect(progress.code).toBe(0)
  })

  describe("bad flags exit 2 with a one-line message and the usage, no stack trace", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["--workers", "0"], /--workers: "0"\. Expected: an integer >= 1/],
      [["--workers", "abc"], /--workers: "abc"/],
      [["--backlog", "nope"], /--backlog: "nope"\. Expected: "drain" \| "return"/],
      [["--failure-rate", "2"], /--failure-rate: "2"\. Expected: a number from 0 to 1/],
      [["--bogus"], /Unrecognized flag: --bogus/]
    ]

    it.each(cases)("%j", async (args, message) => {
      const { code, stderr, stdout } = await runMain(args)

      const problems = lines(stderr).filter((line) => line.startsWith("worker-pool: "))
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(message)
      expect(stderr).toMatch(/^Usage: worker-pool \[--workers n\] .*\[--backlog drain\|return\]/m)
      expect(`${stdout}${stderr}`).not.toMatch(/^\s+at /m)
      expect(stdout).toBe("")
      expect(code).toBe(2)
    })
  })

  it("--store runs the demo on a durable queue: every job completed in the store", async () => {
    const { code, stdout } = await runMain(["--store", "memory:", "--jobs", "6", "--duration", "10", "--failure-rate", "0.5"])

    expect(reportCount(stdout, "succeeded")).toBe(3)
    // The failing jobs are retried (maxAttempts 3), then dead-lettered.
    expect(reportCount(stdout, "failed")).toBe(9)
    expect(stdout).toContain("Queue demo: 3 completed, 3 dead-lettered, 0 ready, 0 leased.")
    expect(code).toBe(0)
  })

  it("SIGTERM while working a durable queue says what stops and what goes back: exit 0", async () => {
    const program = start(["--store", "memory:", "--jobs", "8", "--workers", "2", "--duration", "1500", "--output", "lines"])
    await program.waitFor(/started/)
    program.kill("SIGTERM")
    const { code, stdout } = await program.exited

    expect(stdout).toMatch(/SIGTERM received: no more jobs are taken from the store; the jobs in hand finish/)
    expect(stdout).not.toMatch(/already draining/)
    expect(code).toBe(0)
  })

  it("a store that cannot be reached is one line on stderr and exit 1, not a hang or a stack trace", async () => {
    for (const store of ["redis://127.0.0.1:1", "postgres://nobody@127.0.0.1:1/none", "ftp://example"]) {
      const { code, stderr, stdout } = await runMain(["--store", store, "--role", "producer"])
      expect(lines(stderr).filter((line) => line.startsWith("worker-pool: "))).toHaveLength(1)
      expect(stderr).toMatch(/^worker-pool: the job store failed to connect/m)
      expect(`${stdout}${stderr}`).not.toMatch(/^\s+at /m)
      expect(code).toBe(1)
    }
  })

  it("--help shows the flags and exits 0", async () => {
    const { code, stdout } = await runMain(["--help"])

    for (
      const flag of [
        "--workers",
        "--jobs",
        "--duration",
        "--failure-rate",
        "--capacity",
        "--drain-timeout",
        "--backlog",
        "--output",
        "--help"
      ]
    ) {
      expect(stdout).toContain(flag)
    }
    expect(code).toBe(0)
  })
})
