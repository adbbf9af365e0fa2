/**
 * Where and when a run happened, for a report's header: the date, the Node,
 * the commit measured (and whether src/ had uncommitted changes) and the
 * machine. Numbers mean little without them.
 */
import { execFileSync } from "node:child_process"
import * as os from "node:os"
import { fileURLToPath } from "node:url"

export interface Machine {
  readonly cores: number
  readonly model: string
  readonly memoryGiB: number
  readonly platform: string
  readonly arch: string
}

export interface RunContext {
  /** ISO date of the run. */
  readonly date: string
  readonly node: string
  /** The commit measured: see `describeRevision`. */
  readonly revision: string
  readonly machine: Machine
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

const git = (args: ReadonlyArray<string>): string =>
  execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()

/** "abc1234", "abc1234 + uncommitted changes in src/", or "unknown" outside a git checkout. */
export const describeRevision = (): string => {
  try {
    const commit = git(["rev-parse", "--short", "HEAD"])
    return git(["status", "--porcelain", "--", "src"]) === "" ? commit : `${commit} + uncommitted changes in src/`
  } catch {
    return "unknown"
  }
}

export const describeMachine = (): Machine => {
  const cpus = os.cpus()
  return {
    cores: cpus.length,
    model: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: os.totalmem() / 1024 ** 3,
    platform: os.platform(),
    arch: os.arch()
  }
}

/** This run's context: now, this Node, this checkout, this machine. */
export const describeRun = (): RunContext => ({
  date: new Date().toISOString(),
  node: process.version,
  revision: describeRevision(),
  machine: describeMachine()
})

export const machineLine = (machine: Machine): string =>
  `${machine.cores} cores × ${machine.model}, ${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.platform} ${machine.arch}`
