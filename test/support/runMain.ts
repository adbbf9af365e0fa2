/**
 * Runs `src/main.ts` as a child process for the process-level tests: collects
 * its output, lets a test wait for a line to appear before it sends a signal,
 * and reports how the process ended.
 *
 * Waiting on output rather than on fixed sleeps keeps the tests steady on a
 * loaded machine, where starting Node and loading Effect can take a while.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url))

/** How the program ended. */
export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** Milliseconds from `start` to exit. */
  readonly elapsed: number
}

/** A program that runs. */
export interface Running {
  /** Resolves once `pattern` matches stdout; rejects if the program exits first or after `timeoutMs`. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  /** The same on stderr. */
  readonly waitForStderr: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  /** Sends `signal` to the process; with `detached`, to its whole group, as a terminal's Ctrl-C does. */
  readonly kill: (signal: NodeJS.Signals) => void
  /** What the program has printed on stdout so far. */
  readonly stdout: () => string
  /** The same on stderr. */
  readonly stderr: () => string
  readonly pid: number
  /** Milliseconds since `start`. */
  readonly since: () => number
  readonly exited: Promise<Finished>
}

/** The repository's root, where the README's commands run. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url))

export interface StartOptions {
  /** Options for Node before the script, e.g. `["--import", hook]`. */
  readonly nodeArgs?: ReadonlyArray<string> | undefined
  /** Another command line to run instead of `node src/main.ts`, from the repository's root. */
  readonly command?: readonly [string, ...Array<string>] | undefined
  /** Starts the process in a group of its own, so that `kill` reaches all of it. */
  readonly detached?: boolean | undefined
  /** Variables to set on top of the tests' environment, e.g. a service's `PORT`. */
  readonly env?: Readonly<Record<string, string>> | undefined
}

/**
 * Starts `node src/main.ts ...args` with the Node that runs the tests (Node 24
 * under `npm test`). Colors are off so that the tests match plain text.
 */
export const start = (args: ReadonlyArray<string>, options: StartOptions = {}): Running => {
  const { FORCE_COLOR: _, ...env } = process.env
  const [command, ...commandArgs] = options.command ?? [process.execPath, ...(options.nodeArgs ?? []), MAIN]
  const child = spawn(command, [...commandArgs, ...args], {
    cwd: ROOT,
    detached: options.detached === true,
    env: { ...env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const startedAt = Date.now()
  let stdout = ""
  let stderr = ""
  const watchers = new Set<() => void>()
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    for (const watcher of watchers) watcher()
  })
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
    for (const watcher of watchers) watcher()
  })

  const exited = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code, signal) => {
      for (const watcher of watchers) watcher()
      resolve({ code, signal, stdout, stderr, elapsed: Date.now() - startedAt })
    })
  })
  let done = false
  void exited.then(() => {
    done = true
    for (const watcher of watchers) watcher()
  })

  const waitOn = (read: () => string, pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${pattern}`)), timeoutMs)
      const finish = (error?: Error) => {
        clearTimeout(timer)
        watchers.delete(check)
        if (error === undefined) return resolve()
        error.message += `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`
        reject(error)
      }
      const check = () => {
        if (pattern.test(read())) finish()
        else if (done) finish(new Error(`the program exited before printing ${pattern}`))
      }
      watchers.add(check)
      check()
    })

  return {
    waitFor: (pattern, timeoutMs) => waitOn(() => stdout, pattern, timeoutMs),
    waitForStderr: (pattern, timeoutMs) => waitOn(() => stderr, pattern, timeoutMs),
    kill: (signal) => {
      if (options.detached === true && child.pid !== undefined) process.kill(-child.pid, signal)
      else child.kill(signal)
    },
    stdout: () => stdout,
    stderr: () => stderr,
    pid: child.pid ?? -1,
    since: () => Date.now() - startedAt,
    exited
  }
}

/** Runs the program to its end. */
export const runMain = (args: ReadonlyArray<string> = [], options?: StartOptions): Promise<Finished> =>
  start(args, options).exited
