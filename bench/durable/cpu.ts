/**
 * The CPU time of a set of processes, read from /proc (Linux), to give a
 * timed window's share of each side: the server (redis-server, or the
 * postmaster and every backend it forked) against the consumers. The
 * server's processes are listed again at the window's end, so that a
 * backend started inside it (a connection a consumer opens after `go`)
 * counts from zero; a process that ends inside the window loses its time
 * (a PostgreSQL backend lives as long as its connection, and the consumers
 * close theirs after the window).
 */
import { readdirSync, readFileSync } from "node:fs"

/** Clock ticks per second of /proc's times: 100 on every Linux this runs on. */
const TICKS = 100

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

interface Stat {
  readonly parent: number
  /** User plus system time, in seconds. */
  readonly seconds: number
}

/** /proc/<pid>/stat's parent and CPU time; the name in parentheses may hold spaces. */
const stat = (pid: number): Stat | undefined => {
  const text = read(`/proc/${pid}/stat`)
  if (text === undefined) return undefined
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  // After the name: state, ppid (4th field overall), ..., utime (14th), stime (15th).
  return { parent: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS }
}

const pids = (): Array<number> => {
  try {
    return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number)
  } catch {
    return []
  }
}

/**
 * A local server's processes: the one started with its temp dir in its
 * command line (PostgreSQL's `-D`), or redis-server on its port (which
 * rewrites its title to `redis-server 127.0.0.1:PORT`), and all their
 * descendants (PostgreSQL's backends and workers).
 */
export const serverProcesses = (server: { readonly dir: string; readonly port: number }): Array<number> => {
  const all = pids()
  const parents = new Map(all.map((pid) => [pid, stat(pid)?.parent ?? 0]))
  const roots = all.filter((pid) => {
    const command = (read(`/proc/${pid}/cmdline`) ?? "").replace(/\0/g, " ")
    return command.includes(server.dir) || (command.includes("redis-server") && new RegExp(`:${server.port}(\\s|$)`).test(command))
  })
  const tree = new Set(roots)
  for (let grew = true; grew;) {
    grew = false
    for (const [pid, parent] of parents) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid)
        grew = true
      }
    }
  }
  return [...tree]
}

/** A reading of the CPU time of each of a set of processes. */
export type CpuReading = ReadonlyMap<number, number>

export const readCpu = (processes: ReadonlyArray<number>): CpuReading =>
  new Map(processes.flatMap((pid) => {
    const found = stat(pid)
    return found === undefined ? [] : [[pid, found.seconds] as const]
  }))

/** CPU seconds spent between two readings (a process new in `after` counts from zero). */
export const cpuSeconds = (before: CpuReading, after: CpuReading): number => {
  let total = 0
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0)
  return total
}

/**
 * Starts a window over the processes `list` gives, read now and again when
 * the returned function is called: the CPU seconds in between, a process
 * listed only at the end counting from zero.
 */
export const cpuWindow = (list: () => ReadonlyArray<number>): () => number => {
  const before = readCpu(list())
  return () => cpuSeconds(before, readCpu(list()))
}
