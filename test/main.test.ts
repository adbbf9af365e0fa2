/**
 * Process-level tests of the runnable program: they start `src/main.ts` as a
 * real Node process, read what it prints, send it real signals and check its
 * exit code. The pool itself is covered by the unit tests; these cover what
 * only a real process shows: output, flags, signals and exit codes.
 *
 * Jobs are short, and the tests wait for output markers rather than sleeping,
 * so that they stay quick and steady on a loaded machine.
 */
import { Duration, Effect } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { fromUrl } from "../src/durable/fromUrl.ts"
import { redactUrl } from "../src/program/durable.ts"
import { fitWidth, makeScreen, progressLine } from "../src/program/screen.ts"
import { type Finished, type Running, runMain, start } from "./support/runMain.ts"
import { type PlainServer, startPostgresServer, startRedisServer } from "./support/servers.ts"
import { waitUntil } from "./support/waitUntil.ts"

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line.length > 0)

/** The number in the report's row for `outcome`. */
const reportCount = (stdout: string, outcome: string): number => {
  const row = new RegExp(`^  ${outcome}\\s+(\\d+)`, "m").exec(stdout)
  if (row === null) throw new Error(`no "${outcome}" row in the report:\n${stdout}`)
  return Number(row[1])
}

/** The lines of `stderr` that the program wrote itself (not the library's log lines). */
const problemsIn = (stderr: string): Array<string> => lines(stderr).filter((line) => line.startsWith("worker-pool: "))

/**
 * A module for Node's `--import`, as a data: URL: it runs before the
 * program, and `setup` is its body.
 */
const preload = (setup: string): string => `data:text/javascript,${encodeURIComponent(setup)}`

/**
 * Makes the first import of Effect take 2 s, as on a slow or busy machine: a
 * signal sent meanwhile lands while the program is still loading.
 */
const slowEffectLoad = preload(`
  import { registerHooks } from "node:module"
  let held = false
  registerHooks({
    resolve(specifier, context, next) {
      if (!held && /^(effect|@effect\\/)/.test(specifier)) {
        held = true
        process.stderr.write("loading Effect\\n")
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000)
      }
      return next(specifier, context)
    }
  })
`)

/**
 * Keeps the event loop busy for 1.5 s once the report's last line is
 * written, as a connection still closing would: a program that leaves its end
 * to the event loop is still alive then.
 */
const busyAfterReport = preload(`
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = (chunk, ...rest) => {
    if (/^Shutdown (complete|incomplete)/m.test(String(chunk))) setTimeout(() => {}, 1500)
    return write(chunk, ...rest)
  }
`)

/** Waits for the program's end; a program still running after `limitMs` is killed, and the test fails. */
const exitWithin = async (program: Running, limitMs: number): Promise<Finished> => {
  const timer = setTimeout(() => program.kill("SIGKILL"), limitMs)
  const finished = await program.exited
  clearTimeout(timer)
  expect(finished.signal, `still running ${limitMs} ms after the signal:\n${finished.stdout}`).toBeNull()
  return finished
}


/** The job numbers of lines like "Worker 2 started job 7". */
const jobsThat = (stdout: string, verb: string): Array<number> =>
  [...stdout.matchAll(new RegExp(`^Worker \\d+ ${verb} job (\\d+)`, "gm"))].map((match) => Number(match[1]))

describe("main", () => {
  it("runs the demo: 5 jobs on 3 workers, then a clean report", async () => {
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
    expect(progress.stdout).toMatch(
      /^done 60\/60 {2}failed 0 {2}queued 0 {2}active 0 {2}[\d.]+ jobs\/s {2}elapsed [\d.]+ m?s$/m
    )
    expect(reportCount(progress.stdout, "succeeded")).toBe(60)
    expect(progress.code).toBe(0)
  })

  it("--output progress counts failed jobs apart from done ones", async () => {
    const { code, stdout } = await runMain([
      "--output", "progress", "--jobs", "60", "--workers", "6", "--duration", "10", "--failure-rate", "0.5"
    ])

    expect(stdout).toMatch(/^done 30\/60 {2}failed 30 {2}queued 0 {2}active 0 {2}[\d.]+ jobs\/s {2}elapsed [\d.]+ m?s$/m)
    expect(code).toBe(0)
  })

  describe("bad flags exit 2 with a one-line message and the usage, no stack trace", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["--workers", "0"], /--workers: "0"\. Expected: an integer >= 1/],
      [["--workers", "abc"], /--workers: "abc"/],
      [["--backlog", "nope"], /--backlog: "nope"\. Expected: "drain" \| "return"/],
      [["--failure-rate", "2"], /--failure-rate: "2"\. Expected: a number from 0 to 1/],
      [["--bogus"], /Unrecognized flag: --bogus/],
      // A store of no known engine is a typo in the flag, not a store that failed to connect.
      [["--store", "ftp://example"], /--store: "ftp:\/\/example"\. Expected: a store URL: redis:\/\/.*postgres:\/\/.* memory:$/],
      // The durable queue's flags mean nothing in memory: refused rather than ignored.
      [["--role", "worker"], /: --role needs --store/],
      [["--queue", "q", "--lease", "100", "--max-attempts", "2", "--retry-delay", "0"], /: --queue, --lease, --max-attempts, --retry-delay need --store/],
      [["--delay", "100"], /: --delay needs --store/],
      [["--cron", "* * * * *"], /: --cron needs --store/],
      [["--store", "memory:", "--cron", "every minute"], /--cron: "every minute"\. Expected: a cron expression of 5 or 6 fields/],
      [["--store", "memory:", "--delay", "-1"], /--delay: "-1"\. Expected: an integer >= 0/],
      [["--store", "memory:", "--max-attempts", "0"], /--max-attempts: "0"\. Expected: an integer >= 1/],
      // A lease the pool refuses is a bad flag before any store is tried (this one would refuse the connection).
      [["--store", "redis://127.0.0.1:1", "--lease", "5"], /--lease: "5"\. Expected: an integer >= 100/],
      [["--store", "memory:", "--retry-delay", "1.5"], /--retry-delay: "1\.5"/],
      // A queue no store keeps: refused before the worker says it works it.
      [["--store", "memory:", "--queue", "é".repeat(257)], /invalid option queue: must be at most 512 bytes of UTF-8, got 514/],
      [["--dashboard", "localhost:http"], /--dashboard: "localhost:http"\. Expected: host:port, or a port alone for 127\.0\.0\.1/],
      [["--dashboard", "70000"], /--dashboard: "70000"\. Expected: host:port/],
      [["--dashboard-token", "t"], /: --dashboard-token needs --dashboard/],
      [["--dashboard", "0", "--dashboard-token", ""], /--dashboard-token\. Expected: a non-empty token/],
      [["--store", "memory:", "--role", "producer", "--dashboard", "0"], /: --dashboard shows a pool, and --role producer runs none/]
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

  it("--dashboard on a port already taken: one line on stderr, exit 1, no job run", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const { code, stderr, stdout } = await runMain(["--jobs", "3", "--duration", "10", "--dashboard", String(port)])
      expect(stderr).toBe(
        `worker-pool: the dashboard could not listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`
      )
      expect(stdout).toBe("")
      expect(code).toBe(1)
    } finally {
      taken.close()
    }
  })

  it("--store runs the demo on a durable queue: every job completed in the store", async () => {
    const { code, stdout } = await runMain(["--store", "memory:", "--jobs", "6", "--duration", "10", "--failure-rate", "0.5"])

    expect(reportCount(stdout, "succeeded")).toBe(3)
    // The failing jobs are retried (maxAttempts 3), then dead-lettered.
    expect(reportCount(stdout, "failed")).toBe(9)
    expect(stdout).toContain("Queue demo: 3 completed, 3 dead-lettered, 0 ready, 0 leased.")
    expect(code).toBe(0)
  })

  it("--cron declares a periodic job: a job per tick runs until a signal, each tick once", async () => {
    const program = start(["--store", "memory:", "--jobs", "0", "--duration", "10", "--cron", "* * * * * *", "--output", "lines"])
    await program.waitFor(/Declared periodic job demo-tick on queue demo: a job per tick of "\* \* \* \* \* \*" \(UTC\)\./)
    // Three ticks of a second apart (the first may be the catch-up of the tick just before the start).
    await program.waitFor(/(finished job \d+[\s\S]*){3}/)
    program.kill("SIGTERM")
    const { code, stdout } = await program.exited

    const ticks = [...stdout.matchAll(/started job (\d+)$/gm)].map((match) => Number(match[1]))
    expect(ticks.length).toBeGreaterThanOrEqual(3)
    expect(new Set(ticks).size).toBe(ticks.length)
    // Each tick's payload is its time in seconds: later ticks, later seconds.
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!).toBeGreaterThan(ticks[i - 1]!)
    expect(code).toBe(0)
  })

  it("the durable report counts deliveries and jobs apart; --max-attempts and --retry-delay apply", async () => {
    const { code, stdout } = await runMain([
      "--store", "memory:", "--jobs", "6", "--duration", "10", "--failure-rate", "0.5",
      "--max-attempts", "2", "--retry-delay", "0"
    ])

    expect(stdout).toMatch(/^ {2}outcome\s+deliveries\s+jobs\s+ids$/m)
    expect(stdout).toMatch(/^ {2}succeeded\s+3\s+3$/m)
    // Three failing jobs, delivered twice each: six deliveries, three jobs, all dead-lettered.
    expect(stdout).toMatch(/^ {2}failed\s+6\s+3\s+on purpose \(--failure-rate\); 3 dead-lettered after 2 deliveries$/m)
    expect(jobsThat(stdout, "FAILED")).toHaveLength(6)
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

  it("--jobs past what one array holds, on a durable queue, is offered a batch at a time: the run works, and a signal drains it", async () => {
    const program = start(["--store", "memory:", "--jobs", "4294967296", "--workers", "2", "--duration", "0", "--output", "quiet"])
    await program.waitFor(/Connected to the store/)
    // Working: a few batches offered and run, then the drain.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    program.kill("SIGINT")
    const { code, stderr, stdout } = await program.exited
    expect(`${stdout}${stderr}`).not.toMatch(/RangeError|^\s+at /m)
    expect(stdout).toMatch(/Shutdown complete/)
    expect(code).toBe(0)
  })

  it("a store that cannot be reached is one line on stderr and exit 1, not a hang or a stack trace", async () => {
    for (const store of ["redis://127.0.0.1:1", "postgres://nobody@127.0.0.1:1/none"]) {
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

/**
 * Writes how the process ended to the file `EXIT_LOG` names, its pid first
 * to `EXIT_LOG.pid`: for a program whose terminal is gone, which no one
 * else can ask.
 */
const exitLog = preload(`
  import { writeFileSync } from "node:fs"
  writeFileSync(process.env.EXIT_LOG + ".pid", String(process.pid))
  process.on("exit", (code) => writeFileSync(process.env.EXIT_LOG, "exit " + code))
  process.on("uncaughtException", (error) => {
    writeFileSync(process.env.EXIT_LOG, "crashed: " + String(error))
    process.exit(70)
  })
`)

describe("main: SIGHUP", () => {
  it("a SIGHUP mid-run drains as SIGTERM does: the report, exit 0", async () => {
    const program = start(["--jobs", "20", "--duration", "300", "--capacity", "1"])
    await program.waitFor(/started job/)
    program.kill("SIGHUP")
    const { code, signal, stdout } = await program.exited

    expect(signal).toBeNull()
    expect(stdout).toMatch(/SIGHUP received: no more jobs are submitted; draining running and queued jobs/)
    expect(stdout).toContain("Shutdown complete")
    expect(code).toBe(0)
  })

  // util-linux's `script` gives the program a terminal of its own (the test set-up sees that it is there).
  it("a terminal that hangs up mid-run: the drain still ends, printing to nothing, with the report's exit code", async () => {
    // The program on a terminal of its own (`script` holds the terminal); killing `script`
    // closes it, as a dropped SSH session does: the program gets SIGHUP, and each line it
    // writes after that, on stdout or stderr (each dead letter's warning), fails with EIO.
    const log = join(mkdtempSync(join(tmpdir(), "ewp-hangup-")), "exit")
    const line = [
      process.execPath,
      "--import",
      `'${exitLog}'`,
      "src/main.ts",
      ...["--jobs", "20", "--duration", "300", "--capacity", "1", "--store", "memory:"],
      ...["--failure-rate", "0.5", "--max-attempts", "1", "--retry-delay", "10"]
    ]
    const terminal = start([], { command: ["script", "-qfec", line.join(" "), "/dev/null"], env: { EXIT_LOG: log } })
    try {
      await terminal.waitFor(/started job/)
      terminal.kill("SIGKILL")
      await terminal.exited
      await Effect.runPromise(waitUntil("the program has ended", Effect.sync(() => existsSync(log)), 20_000))
      expect(readFileSync(log, "utf8")).toBe("exit 0")
    } finally {
      // A program left running by a failure here must not outlive the test.
      try {
        process.kill(Number(readFileSync(`${log}.pid`, "utf8")), "SIGKILL")
      } catch {
        // gone already
      }
    }
  })
})

describe("main: signals at the worst moment", () => {
  it("a SIGTERM while the program still loads exits 130 (a signal before the pool started), not 143", async () => {
    const program = start(["--jobs", "1"], { nodeArgs: ["--import", slowEffectLoad] })
    await program.waitForStderr(/loading Effect/)
    program.kill("SIGTERM")
    const { code, signal, stdout } = await program.exited

    expect(signal).toBeNull()
    expect(stdout).toMatch(/^SIGTERM received before the pool started: stopping\.$/m)
    expect(stdout).not.toContain("Shutdown report")
    expect(code).toBe(130)
  })

  it("signals after the report change nothing: the process exits with the report's code", async () => {
    const runs: ReadonlyArray<readonly [ReadonlyArray<string>, number]> = [
      [["--jobs", "1", "--duration", "10"], 0],
      [["--jobs", "1", "--duration", "60000", "--drain-timeout", "100"], 1]
    ]
    for (const [args, expected] of runs) {
      const program = start(args, { nodeArgs: ["--import", busyAfterReport] })
      await program.waitFor(/^Shutdown (complete|incomplete)/m)
      // One signal at once, and a second one later, while the event loop is
      // still busy: a process that lets the loop end it would then be gone
      // to Node's default action (or to a "second signal" exit of 130).
      program.kill("SIGTERM")
      await new Promise((resolve) => setTimeout(resolve, 200))
      program.kill("SIGINT")
      const { code, signal, stdout } = await program.exited

      expect(signal).toBeNull()
      expect(stdout).not.toMatch(/received again/)
      expect(code).toBe(expected)
    }
  })
})

describe("main: the README's ways to run it", () => {
  it("node_modules/.bin/node src/main.ts, as the README writes it: Ctrl-C drains, report, exit 0", async () => {
    const program = start(["--jobs", "20", "--duration", "300", "--capacity", "1"], {
      command: ["node_modules/.bin/node", "src/main.ts"],
      detached: true
    })
    await program.waitFor(/started job/)
    program.kill("SIGINT")
    const { code, stdout } = await program.exited

    expect(stdout).toContain("Shutdown complete")
    expect(code).toBe(0)
  })

  it("npm start: Ctrl-C reaches npm too, which ends by the signal (the shell's 130) after the program's clean drain", async () => {
    const program = start(["--jobs", "20", "--duration", "300", "--capacity", "1"], {
      command: ["npm", "start", "--silent", "--"],
      detached: true
    })
    await program.waitFor(/started job/)
    program.kill("SIGINT")
    const { signal, stdout } = await program.exited

    expect(stdout).toContain("Shutdown complete")
    expect(signal).toBe("SIGINT")
  })
})

describe("main: a store that hangs or goes away", () => {
  const servers: ReadonlyArray<readonly [string, () => Promise<PlainServer>]> = [
    ["Redis", () => startRedisServer()],
    ["PostgreSQL", () => startPostgresServer()]
  ]

  it.each(servers)("against a %s that hangs (SIGSTOP), the end takes at most the drain deadline + 5 s: exit 1", async (_, startServer) => {
    const server = await startServer()
    try {
      const program = start([
        "--store", server.url, "--jobs", "2", "--workers", "1", "--duration", "60000", "--drain-timeout", "1000"
      ])
      await program.waitFor(/started job 1$/m)
      server.pause() // now, once the program's connections (PostgreSQL's backends) are open
      program.kill("SIGTERM")
      // The deadline, the 5 s the README allows, and room for a busy machine.
      const { code, stderr, stdout } = await exitWithin(program, 1_000 + 5_000 + 1_500)

      expect(stdout).toMatch(/^ {2}interrupted\s+1\s+1\s+job 1$/m)
      expect(stdout).toMatch(/^Queue demo: counts skipped, the store did not answer in time\.$/m)
      expect(problemsIn(stderr)).toEqual([
        "worker-pool: the job store failed to count the queue: no answer within the drain deadline + 5 s"
      ])
      expect(code).toBe(1)
    } finally {
      await server.close()
    }
  })

  it.each(servers)("--delay: a producer's jobs wait in %s for their time, by the store's clock", async (_, startServer) => {
    const server = await startServer()
    try {
      const { code, stdout } = await runMain(["--store", server.url, "--role", "producer", "--jobs", "3", "--delay", "600000"])
      expect(stdout).toContain("Offered 3 jobs to queue demo, to run in 600 s.")
      expect(code).toBe(0)
      const waiting = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const store = yield* fromUrl(server.url)
        return {
          counts: yield* store.counts("demo"),
          claimed: yield* store.claim("demo", 10, Duration.minutes(1)),
          due: yield* store.due!("demo")
        }
      })))
      expect(waiting.counts).toEqual({ ready: 3, leased: 0, completed: 0, buried: 0 })
      expect(waiting.claimed).toEqual([])
      expect(waiting.due).toBeGreaterThan(500_000)
      expect(waiting.due).toBeLessThanOrEqual(600_000)
    } finally {
      await server.close()
    }
  })

  it("a worker stopped while its store is down: a clean report, one line naming the store's error, exit 1", async () => {
    const postgres = await startPostgresServer()
    try {
      // With a password (PostgreSQL here trusts any), to see it redacted.
      const url = postgres.url.replace("postgres@", "postgres:secret@")
      const program = start(["--store", url, "--role", "worker", "--drain-timeout", "500"])
      await program.waitFor(/^Connected/m)
      await postgres.kill()
      program.kill("SIGTERM")
      const { code, stderr, stdout } = await exitWithin(program, 500 + 5_000 + 1_500)

      expect(lines(stdout)[0]).toBe(
        `Connected to the store (${url.replace("secret", "***")}); working queue demo with 3 workers.`
      )
      expect(stdout).not.toContain("secret")
      expect(stdout).toContain("Shutdown complete")
      const problems = problemsIn(stderr)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(/^worker-pool: the job store failed to [a-z ]+: \S/)
      expect(`${stdout}${stderr}`).not.toMatch(/^\s+at /m)
      expect(code).toBe(1)
    } finally {
      await postgres.close()
    }
  })
})

describe("main: output", () => {
  const stats = { workers: 4, queued: 1234, delayed: 0, active: 4, submitted: 2000, succeeded: 700, failed: 60, died: 2, interrupted: 0, cancelled: 0, abandoned: 0, droppedOutcomes: 0 }

  it("the progress line counts failed jobs apart from done ones, and shows the time so far", () => {
    expect(progressLine(stats, 2000, 2500)).toBe(
      "done 700/2000  failed 62  queued 1234  active 4  304.8 jobs/s  elapsed 2.5 s"
    )
  })

  it("a live progress line never wraps on a narrow terminal: it drops fields, then cuts", () => {
    const written: Array<string> = []
    const screen = makeScreen(true, { write: (text) => void written.push(text), columns: () => 40 })
    screen.status(progressLine(stats, 2000, 2500))
    screen.status(progressLine(stats, 2000, 2600))
    screen.line("a permanent line")

    const drawn = written.join("").split(/\r\x1b\[2K|\n/).filter((row) => row !== "")
    expect(drawn).toEqual(["done 700/2000  failed 62  queued 1234", "done 700/2000  failed 62  queued 1234", "a permanent line"])
    expect(fitWidth("done 700/2000  failed 62", 10)).toBe("done 700/")
    expect(fitWidth("short", undefined)).toBe("short")
  })

  it("a store URL is shown without its password", () => {
    expect(redactUrl("redis://:hunter2@10.0.0.1:6379/0")).toBe("redis://:***@10.0.0.1:6379/0")
    expect(redactUrl("postgres://app:hunter2@db/app")).toBe("postgres://app:***@db/app")
    expect(redactUrl("memory:")).toBe("memory:")
  })
})
