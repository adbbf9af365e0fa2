/**
 * The program's exporters, in real processes: `--metrics host:port` serves
 * Prometheus text at `/metrics` whose job counters move while jobs run;
 * `--otlp url` sends each job's span to a collector (here a tiny HTTP
 * server of the test's own); bad values of either are bad flags (exit 2).
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { runMain, start } from "./support/runMain.ts"
import { freePort } from "./support/servers.ts"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** GETs `/metrics`, retrying while the program is still starting. */
const scrape = async (port: number, timeoutMs = 15_000): Promise<string> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`)
      if (response.ok) return await response.text()
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    await sleep(100)
  }
}

/** The value of the Prometheus sample `name{labels}` in `text`. */
const sample = (text: string, name: string, labels: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`))
  if (line === undefined) throw new Error(`no ${name}{${labels}} in:\n${text}`)
  return Number(line.slice(line.lastIndexOf(" ") + 1))
}

const succeeded = (text: string) => sample(text, "effect_worker_pool_jobs_ended_total", 'pool="default",outcome="succeeded"')

const servers: Array<Http.Server> = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

describe("--metrics", () => {
  it("serves /metrics in Prometheus text, and the job counters move between two scrapes", async () => {
    const port = await freePort()
    const running = start(["--jobs", "60", "--duration", "100", "--workers", "2", "--output", "quiet", "--metrics", `127.0.0.1:${port}`])
    const first = await scrape(port)
    expect(first).toContain("# TYPE effect_worker_pool_jobs_submitted_total counter")
    expect(sample(first, "effect_worker_pool_workers", 'pool="default"')).toBe(2)
    // Two workers, 100 ms a job: a few jobs end within a second.
    let second = first
    for (let tries = 0; tries < 50 && succeeded(second) <= succeeded(first); tries++) {
      await sleep(200)
      second = await scrape(port)
    }
    expect(succeeded(second)).toBeGreaterThan(succeeded(first))
    expect(sample(second, "effect_worker_pool_jobs_submitted_total", 'pool="default"')).toBeGreaterThan(0)
    running.kill("SIGTERM")
    const finished = await running.exited
    expect(finished.code).not.toBe(2)
  })

  it("prints the URL it serves at, the port too when 0 asked for a free one", async () => {
    // A job that outlasts the test: the server is up when it scrapes, and two signals end the run.
    const running = start(["--jobs", "1", "--duration", "600000", "--output", "quiet", "--metrics", "0"])
    await running.waitFor(/^Metrics: \S+$/m, 30_000)
    const url = /^Metrics: (http:\/\/127\.0\.0\.1:(\d+)\/metrics)$/m.exec(running.stdout())
    expect(url).not.toBeNull()
    expect(Number(url![2])).toBeGreaterThan(0)
    expect(await (await fetch(url![1])).text()).toContain("# TYPE effect_worker_pool_jobs_submitted_total counter")
    running.kill("SIGTERM")
    await running.waitFor(/SIGTERM received: .*draining/)
    running.kill("SIGTERM")
    expect((await running.exited).code).toBe(130)
  })

  it("on a port already taken: one line on stderr, exit 1, no stack trace", async () => {
    const taken = Http.createServer()
    servers.push(taken)
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as AddressInfo).port
    const { code, stderr, stdout } = await runMain(["--jobs", "3", "--duration", "10", "--metrics", String(port)])
    expect(stderr).toBe(
      `worker-pool: the metrics server could not listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`
    )
    expect(stdout).not.toContain("ServeError")
    expect(code).toBe(1)
  })

  it("a scraper that never finishes its request does not hold the end of the run", async () => {
    const port = await freePort()
    const running = start(["--jobs", "3", "--duration", "100", "--output", "quiet", "--metrics", `127.0.0.1:${port}`])
    await scrape(port)
    // A request's head, never its end: without a bound on the server's close, the run waited for it.
    const socket = Net.connect(port, "127.0.0.1")
    socket.on("error", () => {})
    socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n")
    const finished = await running.exited
    socket.destroy()
    expect(finished.code).toBe(0)
    // The run's own work is well under a second; the server closes within 1 s of its end.
    expect(finished.elapsed).toBeLessThan(10_000)
  })

  it("a bad address is a bad flag", async () => {
    for (const bad of ["127.0.0.1", "127.0.0.1:99999"]) {
      const finished = await runMain(["--metrics", bad])
      expect(finished.code).toBe(2)
      expect(finished.stderr).toContain("--metrics")
    }
  })
})

describe("--otlp", () => {
  it("sends each job's span, a child of the submitting span, with its attributes, and the final counts as it ends", async () => {
    const bodies: Array<{ readonly url: string; readonly body: string }> = []
    const collector = Http.createServer((request, response) => {
      let body = ""
      request.setEncoding("utf8").on("data", (chunk: string) => body += chunk).on("end", () => {
        bodies.push({ url: request.url ?? "", body })
        response.setHeader("content-type", "application/json")
        response.end("{}")
      })
    })
    servers.push(collector)
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))
    const { port } = collector.address() as AddressInfo
    const finished = await runMain(["--jobs", "3", "--duration", "10", "--output", "quiet", "--otlp", `http://127.0.0.1:${port}`])
    expect(finished.code).toBe(0)
    interface Span {
      readonly name: string
      readonly traceId: string
      readonly spanId: string
      readonly parentSpanId?: string
      readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
    }
    const spans: Array<Span> = bodies
      .filter((one) => one.url === "/v1/traces")
      .flatMap((one) => JSON.parse(one.body).resourceSpans)
      .flatMap((resource: { scopeSpans: Array<{ spans: Array<Span> }> }) => resource.scopeSpans.flatMap((scope) => scope.spans))
    const jobs = spans.filter((span) => span.name === "effect-worker-pool.job default")
    expect(jobs).toHaveLength(3)
    const submit = spans.find((span) => span.name === "worker-pool.submit")
    expect(submit).toBeDefined()
    const attribute = (span: Span, key: string) => {
      const value = span.attributes.find((one) => one.key === key)?.value
      return value === undefined ? undefined : Object.values(value)[0]
    }
    for (const job of jobs) {
      expect(job.traceId).toBe(submit!.traceId)
      expect(job.parentSpanId).toBe(submit!.spanId)
      expect(attribute(job, "job.outcome")).toBe("succeeded")
      expect(attribute(job, "job.attempt")).toBe(1)
    }
    expect(jobs.map((job) => attribute(job, "job.id")).sort()).toEqual(["1", "2", "3"])
    // The last metrics export, sent as the program ends, after its pool closed, still counts every job.
    interface Metric {
      readonly name: string
      readonly sum?: { readonly dataPoints: ReadonlyArray<{ readonly attributes: Span["attributes"]; readonly asDouble?: number; readonly asInt?: number | string }> }
    }
    const exports = bodies.filter((one) => one.url === "/v1/metrics")
    expect(exports.length).toBeGreaterThan(0)
    const last: Array<Metric> = JSON.parse(exports.at(-1)!.body).resourceMetrics
      .flatMap((resource: { scopeMetrics: Array<{ metrics: Array<Metric> }> }) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
    const succeededPoints = (last.find((metric) => metric.name === "effect_worker_pool_jobs_ended_total")?.sum?.dataPoints ?? [])
      .filter((point) => point.attributes.some((one) => one.key === "outcome" && Object.values(one.value)[0] === "succeeded"))
    expect(succeededPoints.map((point) => Number(point.asDouble ?? point.asInt))).toEqual([3])
  })

  it("a collector that never answers holds the end for the flush's second, not Effect's default three", async () => {
    // Takes each connection and says nothing: every export waits for its answer.
    const held: Array<Net.Socket> = []
    const silent = Net.createServer((socket) => {
      held.push(socket)
      socket.on("error", () => {})
    })
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    try {
      const { port } = silent.address() as AddressInfo
      const running = start(["--jobs", "3", "--duration", "10", "--otlp", `http://127.0.0.1:${port}`])
      await running.waitFor(/^Shutdown complete/m)
      const reported = performance.now()
      const finished = await running.exited
      const afterReport = performance.now() - reported
      expect(finished.code).toBe(0)
      // The exporters did try: the collector was reached.
      expect(held.length).toBeGreaterThan(0)
      // A flush bounded by 1 s, with room for a loaded machine; Effect's default alone is 3 s.
      expect(afterReport).toBeLessThan(2_900)
    } finally {
      for (const socket of held) socket.destroy()
      silent.close()
    }
  })

  it("a URL that is not http(s) is a bad flag", async () => {
    for (const bad of ["ftp://collector:4318", "collector:4318"]) {
      const finished = await runMain(["--otlp", bad])
      expect(finished.code).toBe(2)
      expect(finished.stderr).toContain("--otlp")
    }
  })
})
