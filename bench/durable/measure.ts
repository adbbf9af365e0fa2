/**
 * One timed run of the durable benchmark: on a fresh queue, the driver (this
 * process) offers `jobs` no-op jobs, forks `consumers` consumer processes
 * (`consumer.ts`, with this process's Node), waits until each is connected,
 * says `go` to all, and polls the store until it says every job is completed.
 * The time from `go` to that count is the run's time. Offering is timed too,
 * apart, for information.
 */
import { type ChildProcess, fork } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import type { FromConsumer, ToConsumer } from "./consumer.ts"
import type { DurableContender } from "./contenders/index.ts"

const CONSUMER = fileURLToPath(new URL("./consumer.ts", import.meta.url))

/** Between two polls of `done`: small next to a run, cheap for the server. */
const POLL_MS = 5
/** A run that takes longer has hung. */
const RUN_TIMEOUT_MS = 300_000

export interface Run {
  readonly consumers: number
  readonly jobs: number
  /** From `go` until the store counted all jobs completed. */
  readonly consumeMs: number
  readonly jobsPerSecond: number
  /** Offering all jobs from the driver, before any consumer started. */
  readonly offerMs: number
  readonly offerPerSecond: number
  /** The store's completed count once the consumers closed: `jobs` when verified. */
  readonly completed: number
  readonly verified: boolean
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Child {
  readonly process: ChildProcess
  /** Resolves on the child's first message of `type`; rejects if it exits first. */
  readonly next: (type: FromConsumer["type"]) => Promise<void>
  readonly send: (message: ToConsumer) => void
  readonly exited: Promise<void>
}

const spawnConsumer = (contender: DurableContender, url: string, queue: string): Child => {
  const child = fork(CONSUMER, [contender.name, url, queue], {
    execPath: process.execPath,
    // Not this process's flags: under vitest they name its loaders.
    execArgv: [],
    stdio: ["ignore", "ignore", "pipe", "ipc"]
  })
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const died = exited.then(() => {
    throw new Error(`${contender.name} consumer exited (code ${child.exitCode}):\n${stderr}`)
  })
  died.catch(() => {})
  return {
    process: child,
    next: (type) =>
      Promise.race([
        new Promise<void>((resolve) => {
          const onMessage = (message: FromConsumer) => {
            if (message.type !== type) return
            child.off("message", onMessage)
            resolve()
          }
          child.on("message", onMessage)
        }),
        died
      ]),
    send: (message) => child.send(message),
    exited
  }
}

/** Asks every child to close, and kills those still there after `ms`. */
const stopAll = async (children: ReadonlyArray<Child>, ms = 10_000) => {
  for (const child of children) if (child.process.connected) child.send({ type: "stop" })
  const timer = setTimeout(() => children.forEach((child) => child.process.kill("SIGKILL")), ms)
  await Promise.all(children.map((child) => child.exited))
  clearTimeout(timer)
}

export const measureRun = async (
  contender: DurableContender,
  url: string,
  jobs: number,
  consumers: number,
  /** Runs after the jobs are offered, before the consumers start: untimed. */
  afterOffer: () => Promise<void> = async () => {}
): Promise<Run> => {
  const queue = `bench-${randomUUID()}`
  const driver = await contender.driver(url, queue)
  const children: Array<Child> = []
  try {
    const offerStart = performance.now()
    await driver.produce(jobs)
    const offerMs = performance.now() - offerStart
    await afterOffer()
    for (let i = 0; i < consumers; i++) children.push(spawnConsumer(contender, url, queue))
    await Promise.all(children.map((child) => child.next("ready")))
    const start = performance.now()
    children.forEach((child) => child.send({ type: "go" }))
    while (!await driver.done(jobs)) {
      if (performance.now() - start > RUN_TIMEOUT_MS) {
        throw new Error(`${contender.name}: not done in ${RUN_TIMEOUT_MS} ms`)
      }
      await sleep(POLL_MS)
    }
    const consumeMs = performance.now() - start
    await stopAll(children)
    const completed = await driver.completed()
    return {
      consumers,
      jobs,
      consumeMs,
      jobsPerSecond: jobs / (consumeMs / 1000),
      offerMs,
      offerPerSecond: jobs / (offerMs / 1000),
      completed,
      verified: completed === jobs
    }
  } finally {
    await stopAll(children, 1_000)
    await driver.close()
  }
}
