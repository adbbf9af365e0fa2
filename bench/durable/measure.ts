/**
 * One timed run of the durable benchmark: on fresh queues (one, or several
 * for the scaling table), the driver (this process) offers `jobs` no-op jobs
 * (split evenly between the queues), forks `consumers` consumer processes
 * (`consumer.ts`, with this process's Node; consumer i on queue i modulo the
 * queues), waits until each is connected, says `go` to all, and polls the
 * store until it says every job is completed. The time from `go` to that
 * count is the run's time. Offering is timed too, apart, for information;
 * and the CPU time of the server and of the consumers in the timed window
 * (`cpu.ts`), when the server's processes are given.
 */
import { type ChildProcess, fork } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import type { FromConsumer, ToConsumer } from "./consumer.ts"
import type { DurableContender, DriverSide } from "./contenders/index.ts"
import { cpuSeconds, cpuWindow, readCpu } from "./cpu.ts"

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
  /** Jobs the consumers consumed before the timed run, untimed (see `consumer.ts`), by the store's count once they closed. */
  readonly warmedUp: number
  /** The store's completed count once the consumers closed: `jobs` when verified. */
  readonly completed: number
  readonly verified: boolean
  /** Queues the jobs were split between (consumer i on queue i modulo this). */
  readonly queues: number
  /** CPU seconds per second of the timed window: the server's processes, and the consumers'. */
  readonly serverCores?: number | undefined
  readonly consumerCores?: number | undefined
}

/** What a run may be given besides its sizes. */
export interface RunOptions {
  /** Queues to split the jobs between (default 1). */
  readonly queues?: number
  /** Runs after the jobs are offered, before the consumers start: untimed. */
  readonly afterOffer?: () => Promise<void>
  /** The server's processes (see `cpu.ts`), to read their CPU time over the timed window. */
  readonly serverProcesses?: () => ReadonlyArray<number>
  /** Jobs each consumer process consumes on a queue of its own before it says `ready` (untimed); 0 or none: no warm-up. */
  readonly warmUpJobs?: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface Child {
  readonly process: ChildProcess
  /** Resolves on the child's first message of `type`; rejects if it exits first. */
  readonly next: (type: FromConsumer["type"]) => Promise<void>
  readonly send: (message: ToConsumer) => void
  readonly exited: Promise<void>
}

/** A queue of jobs the consumer consumes before it says `ready` (see `consumer.ts`). */
export interface WarmUp {
  readonly queue: string
  readonly jobs: number
  /** How long the warm-up may take before the consumer fails; default as a timed run. */
  readonly timeoutMs?: number
}

export const spawnConsumer = (contender: DurableContender, url: string, queue: string, warmUp?: WarmUp): Child => {
  const warm = warmUp === undefined ? [] : [warmUp.queue, String(warmUp.jobs), String(warmUp.timeoutMs ?? RUN_TIMEOUT_MS)]
  const child = fork(CONSUMER, [contender.name, url, queue, ...warm], {
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
export const stopAll = async (children: ReadonlyArray<Child>, ms = 10_000) => {
  for (const child of children) if (child.process.connected) child.send({ type: "stop" })
  const timer = setTimeout(() => children.forEach((child) => child.process.kill("SIGKILL")), ms)
  await Promise.all(children.map((child) => child.exited))
  clearTimeout(timer)
}

/**
 * A warm-up queue of `jobs` jobs for each of `consumers` processes, offered
 * now, and the driver that offered them (kept open: some contenders count
 * completed jobs from what that driver offered); none when `jobs` is 0.
 */
const offerWarmUps = async (
  contender: DurableContender,
  url: string,
  consumers: number,
  jobs: number,
  drivers: Array<DriverSide>
): Promise<ReadonlyArray<WarmUp>> => {
  const warmUps: Array<WarmUp> = []
  for (let i = 0; jobs > 0 && i < consumers; i++) {
    const queue = `warm-${randomUUID()}`
    const driver = await contender.driver(url, queue)
    drivers.push(driver)
    await driver.produce(jobs)
    warmUps.push({ queue, jobs })
  }
  return warmUps
}

export const measureRun = async (
  contender: DurableContender,
  url: string,
  jobs: number,
  consumers: number,
  options: RunOptions = {}
): Promise<Run> => {
  const queues = Array.from({ length: options.queues ?? 1 }, () => `bench-${randomUUID()}`)
  const drivers: Array<DriverSide> = []
  const warmDrivers: Array<DriverSide> = []
  const children: Array<Child> = []
  const share = (i: number) => Math.floor(jobs / queues.length) + (i < jobs % queues.length ? 1 : 0)
  const allDone = async () => (await Promise.all(drivers.map((driver, i) => driver.done(share(i))))).every(Boolean)
  try {
    for (const queue of queues) drivers.push(await contender.driver(url, queue))
    const offerStart = performance.now()
    await Promise.all(drivers.map((driver, i) => driver.produce(share(i))))
    const offerMs = performance.now() - offerStart
    const warmUps = await offerWarmUps(contender, url, consumers, options.warmUpJobs ?? 0, warmDrivers)
    await options.afterOffer?.()
    for (let i = 0; i < consumers; i++) {
      children.push(spawnConsumer(contender, url, queues[i % queues.length]!, warmUps[i]))
    }
    await Promise.all(children.map((child) => child.next("ready")))
    const consumerPids = children.flatMap((child) => child.process.pid === undefined ? [] : [child.process.pid])
    const serverCpu = options.serverProcesses === undefined ? undefined : cpuWindow(options.serverProcesses)
    const before = readCpu(consumerPids)
    const start = performance.now()
    children.forEach((child) => child.send({ type: "go" }))
    while (!await allDone()) {
      if (performance.now() - start > RUN_TIMEOUT_MS) {
        throw new Error(`${contender.name}: not done in ${RUN_TIMEOUT_MS} ms`)
      }
      await sleep(POLL_MS)
    }
    const consumeMs = performance.now() - start
    const serverSeconds = serverCpu?.()
    const consumerSeconds = cpuSeconds(before, readCpu(consumerPids))
    await stopAll(children)
    const completed = (await Promise.all(drivers.map((driver) => driver.completed()))).reduce((a, b) => a + b, 0)
    const warmedUp = (await Promise.all(warmDrivers.map((driver) => driver.completed()))).reduce((a, b) => a + b, 0)
    const seconds = consumeMs / 1000
    return {
      consumers,
      jobs,
      consumeMs,
      jobsPerSecond: jobs / seconds,
      offerMs,
      offerPerSecond: jobs / (offerMs / 1000),
      warmedUp,
      completed,
      verified: completed === jobs,
      queues: queues.length,
      serverCores: serverSeconds === undefined ? undefined : serverSeconds / seconds,
      consumerCores: consumerSeconds / seconds
    }
  } finally {
    await stopAll(children, 1_000)
    for (const driver of [...drivers, ...warmDrivers]) await driver.close()
  }
}
