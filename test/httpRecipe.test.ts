/**
 * The HTTP recipe (`examples/http-service.ts`) as a real process on
 * 127.0.0.1: a full pool answers 503 with `Retry-After` at once, accepted
 * jobs get 202, and SIGTERM ends the process within the drain's deadline plus
 * a margin, with every accepted job in the report.
 *
 * Every request has its own timer, so a request that hangs fails the test
 * instead of waiting for it; every shutdown has a kill timer, so a process
 * that does not stop in time fails the test and is killed.
 */
import { request } from "node:http"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { type Running, start } from "./support/runMain.ts"

const EXAMPLE = fileURLToPath(new URL("../examples/http-service.ts", import.meta.url))

/** How long a process may take past its drain deadline to exit: closing the server, printing, a loaded machine. */
const MARGIN_MS = 3000
/** A request not answered by then counts as hung. */
const ANSWER_MS = 5000

interface Answer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly body: string
}
/** An answer, or the code of the connection error (`ECONNREFUSED` once the server has closed). */
type Result = Answer | { readonly error: string }

/** POSTs a job on a connection of its own; rejects if no answer comes within `ANSWER_MS`. */
const post = (url: string, payload = "job"): Promise<Result> =>
  new Promise((resolve, reject) => {
    const req = request(`${url}/jobs`, { method: "POST", agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk))
      res.on("end", () => {
        clearTimeout(timer)
        const retryAfter = res.headers["retry-after"]
        resolve({ status: res.statusCode ?? 0, retryAfter, body })
      })
    })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`no answer within ${ANSWER_MS} ms: the request hung`))
    }, ANSWER_MS)
    req.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve({ error: error.code ?? error.message })
    })
    req.end(payload)
  })

const isAnswer = (result: Result): result is Answer => "status" in result

interface Report {
  readonly succeeded: number
  readonly failed: number
  readonly interrupted: number
  readonly abandoned: number
  readonly timedOut: boolean
}

interface Service {
  readonly url: string
  readonly output: () => string
  /** Resolves once `pattern` shows in stdout. */
  readonly waitFor: (pattern: RegExp) => Promise<void>
  /**
   * Sends SIGTERM and waits for the exit, at most `boundMs`: past that the
   * process is killed and this rejects. Resolves with the printed report.
   */
  readonly terminate: (boundMs: number) => Promise<{ readonly report: Report }>
}

const running = new Set<Running>()
afterEach(() => {
  for (const program of running) program.kill("SIGKILL")
  running.clear()
})

/** Starts the example with `env` and waits for the address it listens on. */
const startService = async (env: Record<string, string>): Promise<Service> => {
  // `process.execPath` is the Node that runs the tests: Node 24, which runs TypeScript.
  const program = start([], { command: [process.execPath, EXAMPLE], env: { HOST: "127.0.0.1", PORT: "0", ...env } })
  running.add(program)
  const output = () => `--- stdout ---\n${program.stdout()}\n--- stderr ---\n${program.stderr()}`

  const terminate = async (boundMs: number) => {
    program.kill("SIGTERM")
    let timer: NodeJS.Timeout | undefined
    const tooLate = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        program.kill("SIGKILL")
        reject(new Error(`the service did not exit within ${boundMs} ms of SIGTERM\n${output()}`))
      }, boundMs)
    })
    const { stdout } = await Promise.race([program.exited, tooLate]).finally(() => clearTimeout(timer))
    const printed = /^shutdown report: (\{.*\})$/m.exec(stdout)
    if (printed === null) throw new Error(`no shutdown report\n${output()}`)
    return { report: JSON.parse(printed[1]) as Report }
  }

  await program.waitFor(/Listening on http:\/\/127\.0\.0\.1:\d+/)
  const url = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(program.stdout())![1]
  return { url, output, waitFor: (pattern) => program.waitFor(pattern), terminate }
}

/** POSTs one job after another until one is refused; returns all the answers. */
const fill = async (url: string): Promise<Array<Answer>> => {
  const answers: Array<Answer> = []
  for (let i = 0; i < 20; i++) {
    const result = await post(url, `job ${i}`)
    if (!isAnswer(result)) throw new Error(`request ${i} failed: ${result.error}`)
    answers.push(result)
    if (result.status !== 202) return answers
  }
  throw new Error("the pool never filled up")
}

const expectUnavailable = (answer: Result, reason: string) => {
  expect(answer).toMatchObject({ status: 503, retryAfter: "1" })
  expect(JSON.parse((answer as Answer).body)).toEqual({ error: reason })
}

describe("HTTP recipe", () => {
  // 2 workers and room for 2 more: at most 4 jobs are accepted while the first ones run.
  const small = { WORKERS: "2", CAPACITY: "2" }

  it("accepts jobs with 202 while there is room, answers 503 with Retry-After at once when full, drains them on SIGTERM", async () => {
    const service = await startService({ ...small, JOB_MS: "2000", DRAIN_MS: "8000" })

    const answers = await fill(service.url)
    const accepted = answers.filter((answer) => answer.status === 202)
    // The queue's 2 places are free at first; the workers may take jobs off it meanwhile.
    expect(accepted.length).toBeGreaterThanOrEqual(2)
    expect(accepted.length).toBeLessThanOrEqual(4)
    const ids = accepted.map((answer) => (JSON.parse(answer.body) as { id: string }).id)
    expect(new Set(ids).size).toBe(accepted.length)
    expectUnavailable(answers[answers.length - 1], "PoolFullError")
    // The pool stays full while the 2-second jobs run: refused again, at once.
    for (let i = 0; i < 3; i++) expectUnavailable(await post(service.url), "PoolFullError")

    const { report } = await service.terminate(8000 + MARGIN_MS)
    expect(report).toEqual({
      succeeded: accepted.length,
      failed: 0,
      interrupted: 0,
      abandoned: 0,
      timedOut: false
    })
  })

  it("SIGTERM amid a burst on a full pool: exits within the drain deadline; every 202 job is drained; refused once the server closed", async () => {
    const service = await startService({ ...small, JOB_MS: "2000", DRAIN_MS: "8000" })

    const burst = Array.from({ length: 20 }, (_, i) => post(service.url, `burst ${i}`))
    // Signal once the pool is full and the server answers, with requests still in flight.
    await Promise.race(burst.map((result) => result.then((r) => isAnswer(r) && r.status === 503 ? r : never())))
    const stopping = service.terminate(8000 + MARGIN_MS)
    // The pool drains only after the server has closed: a new request then finds nobody listening.
    await service.waitFor(/^draining:/m)
    expect(await post(service.url)).toEqual({ error: "ECONNREFUSED" })
    const { report } = await stopping

    const results = await Promise.all(burst)
    const accepted = results.filter((result) => isAnswer(result) && result.status === 202).length
    for (const result of results) {
      if (!isAnswer(result)) expect(["ECONNREFUSED", "ECONNRESET"]).toContain(result.error)
      else if (result.status !== 202) expectUnavailable(result, "PoolFullError")
    }
    expect(accepted).toBeGreaterThanOrEqual(2)
    expect(report).toEqual({ succeeded: accepted, failed: 0, interrupted: 0, abandoned: 0, timedOut: false })
  })

  it("jobs longer than the drain deadline: exits at the deadline, the running jobs interrupted and the queued ones abandoned", async () => {
    const service = await startService({ ...small, JOB_MS: "60000", DRAIN_MS: "1000" })
    const accepted = (await fill(service.url)).filter((answer) => answer.status === 202).length

    const { report } = await service.terminate(1000 + MARGIN_MS)
    expect(report).toEqual({
      succeeded: 0,
      failed: 0,
      interrupted: 2,
      abandoned: accepted - 2,
      timedOut: true
    })
  })

  it("ENQUEUE=timeout: a request waits for room at most MAX_WAIT_MS, then 503; SIGTERM is held up no longer than that", async () => {
    const service = await startService({ ...small, JOB_MS: "60000", DRAIN_MS: "1000", ENQUEUE: "timeout", MAX_WAIT_MS: "300" })
    // With a waiting submit, the answer that ends the filling is the timeout.
    const answers = await fill(service.url)
    const accepted = answers.filter((answer) => answer.status === 202).length
    expect(accepted).toBe(4) // waiting for room, each one gets in once a worker has taken a job
    expectUnavailable(answers[answers.length - 1], "TimeoutError")

    const waiting = Array.from({ length: 5 }, () => post(service.url))
    const { report } = await service.terminate(300 + 1000 + MARGIN_MS)
    for (const result of await Promise.all(waiting)) {
      if (isAnswer(result)) expectUnavailable(result, "TimeoutError")
      else expect(["ECONNREFUSED", "ECONNRESET"]).toContain(result.error)
    }
    expect(report).toEqual({ succeeded: 0, failed: 0, interrupted: 2, abandoned: 2, timedOut: true })
  })
})

/** A promise that never settles: leaves a `Promise.race` to the others. */
const never = (): Promise<never> => new Promise(() => {})
