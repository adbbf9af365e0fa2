/**
 * Real Redis and PostgreSQL servers for tests and benchmarks.
 *
 * Each server runs from the machine's own binaries, on 127.0.0.1 with a free
 * port, with its files in a fresh temp dir that is removed when the server is
 * closed. Nothing is shared between two servers, so tests can run in parallel.
 *
 * - `startRedis` / `startPostgres`: scoped Effects (`Effect.acquireRelease`),
 *   for `it.live` tests and layers.
 * - `startRedisServer` / `startPostgresServer`: the same with Promises, for a
 *   vitest globalSetup or a bench script; call `close()` when done.
 *
 * Both give `kill(signal)` (SIGKILL by default: the whole process group, like
 * a crashed host) and `restart()` (same port, same data) for tests of a store
 * that is lost mid-run, and `pause()`/`resume()` for one that hangs.
 *
 * `startPgBouncer` puts Debian's PgBouncer in front of a PostgreSQL of these.
 *
 * Binaries come from PATH, then from /usr/sbin (Debian's PgBouncer), then
 * from /usr/lib/postgresql/<version>/bin (where Debian's package puts
 * them). `initdb`, `postgres` and `pgbouncer` refuse to run as root, so as root they run as the `postgres` user when it exists, else `nobody`,
 * through Node's spawn `uid`/`gid` (which also drops root's groups).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Data, Effect, type Scope } from "effect"

// ---------------------------------------------------------------------------
// Public types

/** A server process that can be crashed and brought back. */
export interface Server {
  /** `redis://127.0.0.1:PORT` or `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string
  readonly host: "127.0.0.1"
  readonly port: number
  /** The temp dir that holds the server's data and its log (`server.log`). */
  readonly dir: string
  /** Whether the server process is up (as far as this handle knows). */
  readonly running: () => boolean
  /** The server's output so far (the tail of `server.log`). */
  readonly log: () => string
  /**
   * Freezes the server (SIGSTOP to it and every process it started, PostgreSQL's
   * backends included): its connections stay open and take bytes, nothing
   * answers. Returns at once. `resume()` thaws it; closing the server does too.
   */
  readonly pause: () => void
  /** Thaws a paused server (SIGCONT). */
  readonly resume: () => void
}

/** Promise-based handle, for globalSetup and bench scripts. */
export interface PlainServer extends Server {
  /** Sends `signal` (default SIGKILL) to the server's process group and waits until it is gone. */
  readonly kill: (signal?: NodeJS.Signals) => Promise<void>
  /** Starts the server again on the same port with the same data; waits until it is ready. */
  readonly start: () => Promise<void>
  /** `kill(signal)` then `start()`. */
  readonly restart: (signal?: NodeJS.Signals) => Promise<void>
  /** Graceful shutdown (SIGKILL after a few seconds), keeping the data. */
  readonly stop: () => Promise<void>
  /** `stop()` and delete the temp dir. Idempotent. */
  readonly close: () => Promise<void>
}

/** Effect-based handle, for tests. Closing the scope stops it and deletes its dir. */
export interface ManagedServer extends Server {
  readonly kill: (signal?: NodeJS.Signals) => Effect.Effect<void, ServerError>
  readonly start: Effect.Effect<void, ServerError>
  readonly restart: (signal?: NodeJS.Signals) => Effect.Effect<void, ServerError>
  readonly stop: Effect.Effect<void, ServerError>
}

export class ServerError extends Data.TaggedError("ServerError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface RedisOptions {
  /**
   * Append-only file, so data survives `kill()` + `start()` (every write reaches
   * the file before its reply; `appendfsync everysec`). Default false: no
   * persistence at all, a killed server comes back empty.
   */
  readonly appendonly?: boolean | undefined
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "100mb"]`. */
  readonly args?: ReadonlyArray<string> | undefined
  /** Milliseconds to wait for readiness. Default 20,000. */
  readonly readyTimeoutMs?: number | undefined
}

export interface PostgresOptions {
  /**
   * Extra settings (`-c name=value`). Defaults include `fsync=off`, which is
   * safe against a killed server (the OS keeps the writes), not a killed host.
   */
  readonly settings?: Readonly<Record<string, string | number>> | undefined
  /** Milliseconds to wait for readiness. Default 30,000. */
  readonly readyTimeoutMs?: number | undefined
  /**
   * TLS with this certificate and key (PEM files), besides plaintext: the
   * server offers it to clients that ask (`ssl=on`). Without: no TLS.
   */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined
}

// ---------------------------------------------------------------------------
// Effect API

const managed = (start: () => Promise<PlainServer>, what: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: start,
      catch: (cause) => new ServerError({ message: `failed to start ${what}: ${messageOf(cause)}`, cause })
    }),
    (server) => Effect.promise(() => server.close())
  ).pipe(Effect.map((server): ManagedServer => {
    const lift = <A>(label: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => new ServerError({ message: `${what} ${label}: ${messageOf(cause)}`, cause })
      })
    return {
      url: server.url,
      host: server.host,
      port: server.port,
      dir: server.dir,
      running: server.running,
      log: server.log,
      pause: server.pause,
      resume: server.resume,
      kill: (signal) => lift("kill", () => server.kill(signal)),
      start: lift("start", () => server.start()),
      restart: (signal) => lift("restart", () => server.restart(signal)),
      stop: lift("stop", () => server.stop())
    }
  }))

/** A real `redis-server` on 127.0.0.1, stopped and deleted when the scope closes. */
export const startRedis = (options?: RedisOptions): Effect.Effect<ManagedServer, ServerError, Scope.Scope> =>
  managed(() => startRedisServer(options), "redis-server")

/** A real PostgreSQL on 127.0.0.1, stopped and deleted when the scope closes. */
export const startPostgres = (options?: PostgresOptions): Effect.Effect<ManagedServer, ServerError, Scope.Scope> =>
  managed(() => startPostgresServer(options), "postgres")

/** A real PgBouncer in front of the PostgreSQL at `postgresUrl` (`startPgBouncer`), stopped and deleted when the scope closes. */
export const startBouncer = (postgresUrl: string, options: PgBouncerOptions): Effect.Effect<ManagedServer, ServerError, Scope.Scope> =>
  managed(() => startPgBouncer(postgresUrl, options), "pgbouncer")

// ---------------------------------------------------------------------------
// Binaries and users

/** Absolute path of `name`: PATH first, then /usr/sbin, then /usr/lib/postgresql/<newest>/bin. */
export const findBinary = (name: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(Path.delimiter)) {
    if (dir !== "" && isExecutable(Path.join(dir, name))) return Path.join(dir, name)
  }
  // Debian installs daemons such as PgBouncer in /usr/sbin, which not every PATH holds.
  if (isExecutable(Path.join("/usr/sbin", name))) return Path.join("/usr/sbin", name)
  const pgRoot = "/usr/lib/postgresql"
  const versions = Fs.existsSync(pgRoot)
    ? Fs.readdirSync(pgRoot).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : []
  for (const version of versions) {
    const candidate = Path.join(pgRoot, version, "bin", name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

const isExecutable = (file: string) => {
  try {
    Fs.accessSync(file, Fs.constants.X_OK)
    return Fs.statSync(file).isFile()
  } catch {
    return false
  }
}

const requireBinary = (name: string, hint: string) => {
  const found = findBinary(name)
  if (found === undefined) throw new Error(`${name} not found on PATH, in /usr/sbin or in /usr/lib/postgresql/*/bin (${hint})`)
  return found
}

interface RunAs {
  readonly uid: number
  readonly gid: number
}

/** Who runs PostgreSQL: ourselves, or an unprivileged user when we are root. */
const postgresUser = (): RunAs | undefined => {
  if (process.getuid?.() !== 0) return undefined
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim())
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim())
      if (Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0) return { uid, gid }
    } catch {
      // no such user, try the next
    }
  }
  throw new Error("running as root and neither the `postgres` nor the `nobody` user exists")
}

/** A temp dir the given user owns and can reach (every parent must be traversable by others). */
const makeTempDir = (prefix: string, owner: RunAs | undefined) => {
  let base = Fs.realpathSync(Os.tmpdir())
  if (owner !== undefined && !traversableByOthers(base)) base = "/tmp"
  const dir = Fs.mkdtempSync(Path.join(base, prefix))
  if (owner !== undefined) Fs.chownSync(dir, owner.uid, owner.gid)
  return dir
}

const traversableByOthers = (dir: string): boolean => {
  for (let d = dir;; d = Path.dirname(d)) {
    if ((Fs.statSync(d).mode & 0o001) === 0) return false
    if (Path.dirname(d) === d) return true
  }
}

// ---------------------------------------------------------------------------
// Processes

/** Servers still running in this process, killed if the process exits without closing them. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const child of live) killGroup(child, "SIGKILL")
  })
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined) return
  // PostgreSQL backends leave the postmaster's process group (setsid), so a
  // crash, or a freeze, must reach them by parent pid too, or they answer for
  // a while after (or, frozen, go on answering).
  const children = signal === "SIGKILL" || signal === "SIGSTOP" || signal === "SIGCONT" ? childrenOf(child.pid) : []
  for (const pid of [-child.pid, ...children]) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

/** The pids whose parent is `parent`, read from /proc (empty where there is none). */
const childrenOf = (parent: number): Array<number> => {
  try {
    return Fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
      try {
        // The parent pid is the field after the state, after the parenthesised command name.
        const stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
        return ppid === parent ? [Number(entry)] : []
      } catch {
        return []
      }
    })
  } catch {
    return []
  }
}

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A free TCP port on 127.0.0.1 (another process could still take it before the server does). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export const portOpen = (port: number, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    const done = (open: boolean) => {
      socket.destroy()
      resolve(open)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const tail = (file: string, max = 8000) => {
  try {
    const text = Fs.readFileSync(file, "utf8")
    return text.length > max ? text.slice(-max) : text
  } catch {
    return ""
  }
}

const messageOf = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

interface Spec {
  readonly what: string
  readonly dir: string
  readonly port: number
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly runAs: RunAs | undefined
  /** Resolves true once the server answers; polled until `readyTimeoutMs`. */
  readonly ready: () => Promise<boolean>
  readonly readyTimeoutMs: number
  /** The signal for a graceful stop. */
  readonly stopSignal: NodeJS.Signals
  readonly url: string
}

/**
 * Runs `spec` as a child in its own process group, with its output appended to
 * `dir/server.log`, and wraps it in a `PlainServer`.
 */
const supervise = async (spec: Spec): Promise<PlainServer> => {
  installExitHook()
  const logFile = Path.join(spec.dir, "server.log")
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let closed = false

  const start = async () => {
    if (closed) throw new Error(`${spec.what} is closed`)
    if (child !== undefined) return
    const fd = Fs.openSync(logFile, "a")
    let proc: ChildProcess
    try {
      proc = spawn(spec.command, spec.args, {
        cwd: spec.dir,
        stdio: ["ignore", fd, fd],
        // own process group: kill() reaches the server's children (postgres backends)
        detached: true,
        ...(spec.runAs ?? {})
      })
    } finally {
      Fs.closeSync(fd)
    }
    child = proc
    live.add(proc)
    let hasExited = false
    exited = new Promise<void>((resolve) => {
      const onGone = () => {
        if (hasExited) return
        hasExited = true
        live.delete(proc)
        if (child === proc) child = undefined
        resolve()
      }
      proc.once("exit", onGone)
      proc.once("error", (error) => {
        Fs.appendFileSync(logFile, `spawn error: ${error.message}\n`)
        onGone()
      })
    })
    const deadline = Date.now() + spec.readyTimeoutMs
    while (true) {
      if (hasExited) {
        throw new Error(`${spec.what} exited during start (${spec.command} ${spec.args.join(" ")}):\n${tail(logFile)}`)
      }
      if (await spec.ready().catch(() => false)) return
      if (Date.now() > deadline) {
        killGroup(proc, "SIGKILL")
        await exited
        throw new Error(`${spec.what} not ready after ${spec.readyTimeoutMs} ms:\n${tail(logFile)}`)
      }
      await sleep(50)
    }
  }

  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    const proc = child
    if (proc === undefined) return
    killGroup(proc, signal)
    await exited
    // Wait (briefly) for the rest of the group, e.g. postgres backends, to die too:
    // a new postmaster refuses to start while old backends hold its shared memory.
    // Zombies count as alive and may never be reaped in a container, hence the cap.
    if (signal === "SIGKILL" && proc.pid !== undefined) {
      for (let i = 0; i < 40 && groupAlive(proc.pid); i++) await sleep(50)
    }
  }

  const stop = async () => {
    const proc = child
    if (proc === undefined) return
    killGroup(proc, spec.stopSignal)
    // A timer cleared once the server is gone, so that it does not keep the process alive.
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), 10_000))
    const timedOut = await Promise.race([exited.then(() => false), deadline])
    clearTimeout(timer)
    if (timedOut) await kill("SIGKILL")
  }

  const signalNow = (signal: NodeJS.Signals) => {
    if (child !== undefined) killGroup(child, signal)
  }

  const close = async () => {
    if (closed) return
    signalNow("SIGCONT") // a paused server cannot stop
    await stop()
    closed = true
    Fs.rmSync(spec.dir, { recursive: true, force: true })
  }

  try {
    await start()
  } catch (error) {
    closed = true
    Fs.rmSync(spec.dir, { recursive: true, force: true })
    throw error
  }

  return {
    url: spec.url,
    host: "127.0.0.1",
    port: spec.port,
    dir: spec.dir,
    running: () => child !== undefined,
    log: () => tail(logFile),
    pause: () => signalNow("SIGSTOP"),
    resume: () => signalNow("SIGCONT"),
    kill,
    start,
    restart: async (signal) => {
      await kill(signal)
      await start()
    },
    stop,
    close
  }
}

/** Retries `attempt` with a new port when another process took the free port first. */
const withFreePort = async (attempt: (port: number) => Promise<PlainServer>): Promise<PlainServer> => {
  let lastError: unknown
  for (let i = 0; i < 3; i++) {
    try {
      return await attempt(await freePort())
    } catch (error) {
      lastError = error
      if (!/address already in use|could not bind|Could not create server TCP listening socket/i.test(messageOf(error))) {
        throw error
      }
    }
  }
  throw lastError
}

// ---------------------------------------------------------------------------
// Redis

/** Sends PING over a raw socket; true on +PONG (false while -LOADING an AOF). */
const redisPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    let reply = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.on("data", (data) => {
      reply += data.toString()
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"))
    })
    socket.once("error", () => done(false))
  })

/** Starts a real `redis-server` on 127.0.0.1 with a free port. Call `close()` when done. */
export const startRedisServer = (options?: RedisOptions): Promise<PlainServer> => {
  const command = requireBinary("redis-server", "apt-get install -y redis-server")
  return withFreePort((port) => {
    const dir = makeTempDir("ewp-redis-", undefined)
    return supervise({
      what: "redis-server",
      dir,
      port,
      command,
      args: [
        "--port", String(port),
        "--bind", "127.0.0.1",
        "--dir", dir,
        "--daemonize", "no",
        "--save", "",
        "--appendonly", options?.appendonly === true ? "yes" : "no",
        "--appendfsync", "everysec",
        "--logfile", "",
        ...(options?.args ?? [])
      ],
      runAs: undefined,
      ready: () => redisPing(port),
      readyTimeoutMs: options?.readyTimeoutMs ?? 20_000,
      stopSignal: "SIGTERM",
      url: `redis://127.0.0.1:${port}`
    })
  })
}

// ---------------------------------------------------------------------------
// PostgreSQL

const defaultPgSettings: Readonly<Record<string, string | number>> = {
  fsync: "off",
  full_page_writes: "off",
  max_connections: 200,
  shared_buffers: "128MB",
  // tests write a lot of rows; skip checkpoints in the middle of a run
  max_wal_size: "1GB",
  log_min_messages: "warning"
}

/** Whether the postmaster says "ready" in postmaster.pid and accepts TCP. */
const postgresReady = async (dataDir: string, port: number) => {
  let lines: Array<string>
  try {
    lines = Fs.readFileSync(Path.join(dataDir, "postmaster.pid"), "utf8").split("\n")
  } catch {
    return false
  }
  return lines[7]?.trim() === "ready" && await portOpen(port)
}

/**
 * Starts a real PostgreSQL on 127.0.0.1 with a free port: `initdb` into a temp
 * dir (superuser `postgres`, trust auth), then `postgres`. The URL points at the
 * `postgres` database. Call `close()` when done.
 */
export const startPostgresServer = async (options?: PostgresOptions): Promise<PlainServer> => {
  const initdb = requireBinary("initdb", "apt-get install -y postgresql")
  const postgres = requireBinary("postgres", "apt-get install -y postgresql")
  const runAs = postgresUser()
  return withFreePort(async (port) => {
    const dir = makeTempDir("ewp-pg-", runAs)
    const dataDir = Path.join(dir, "data")
    try {
      execFileSync(initdb, [
        "-D", dataDir,
        "-U", "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions"
      ], { cwd: dir, stdio: "pipe", ...(runAs ?? {}) })
    } catch (error) {
      Fs.rmSync(dir, { recursive: true, force: true })
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? ""
      throw new Error(`initdb failed: ${messageOf(error)}\n${stderr}`)
    }
    const settings = { ...defaultPgSettings, ...tlsSettings(dir, options?.tls, runAs), ...options?.settings }
    return supervise({
      what: "postgres",
      dir,
      port,
      command: postgres,
      args: [
        "-D", dataDir,
        "-p", String(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", `unix_socket_directories=${dir}`,
        ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`])
      ],
      runAs,
      ready: () => postgresReady(dataDir, port),
      readyTimeoutMs: options?.readyTimeoutMs ?? 30_000,
      // SIGINT is postgres' "fast" shutdown: roll back open transactions and exit
      stopSignal: "SIGINT",
      url: `postgres://postgres@127.0.0.1:${port}/postgres`
    })
  })
}

/**
 * The settings that turn TLS on with `tls`'s files, copied into `dir` for
 * the server's user: PostgreSQL refuses a key that others can read.
 */
const tlsSettings = (dir: string, tls: PostgresOptions["tls"], runAs: RunAs | undefined): Record<string, string> => {
  if (tls === undefined) return {}
  const copy = (from: string, name: string) => {
    const to = Path.join(dir, name)
    Fs.copyFileSync(from, to)
    Fs.chmodSync(to, 0o600)
    if (runAs !== undefined) Fs.chownSync(to, runAs.uid, runAs.gid)
    return to
  }
  return { ssl: "on", ssl_cert_file: copy(tls.cert, "server.crt"), ssl_key_file: copy(tls.key, "server.key") }
}

// ---------------------------------------------------------------------------
// PgBouncer

/** How a PgBouncer in front of a PostgreSQL pools its server connections. */
export interface PgBouncerOptions {
  /** `transaction`: a server connection per transaction, as most deployments run it; `session`: per client connection. */
  readonly poolMode: "transaction" | "session"
  /** Startup parameters it accepts from clients and drops (`ignore_startup_parameters`); any other it refuses. */
  readonly ignoreStartupParameters?: ReadonlyArray<string> | undefined
  /** Server connections per database and user (`default_pool_size`, PgBouncer's default 20): fewer makes clients share them more. */
  readonly serverConnections?: number | undefined
}

/**
 * Starts Debian's `pgbouncer` on 127.0.0.1 with a free port in front of the
 * PostgreSQL at `postgresUrl` (a server of `startPostgresServer`: user
 * `postgres`, trust auth). Its URL points at the same database through it.
 * Run as PostgreSQL is (it refuses to run as root).
 */
export const startPgBouncer = (postgresUrl: string, options: PgBouncerOptions): Promise<PlainServer> => {
  const command = requireBinary("pgbouncer", "apt-get install -y pgbouncer")
  const target = new URL(postgresUrl)
  const runAs = postgresUser()
  return withFreePort((port) => {
    const dir = makeTempDir("ewp-pgbouncer-", runAs)
    const config = Path.join(dir, "pgbouncer.ini")
    Fs.writeFileSync(Path.join(dir, "users.txt"), `"postgres" ""\n`)
    Fs.writeFileSync(config, [
      "[databases]",
      `* = host=${target.hostname} port=${target.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${Path.join(dir, "users.txt")}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.serverConnections ?? 20}`,
      `ignore_startup_parameters = ${(options.ignoreStartupParameters ?? []).join(",")}`,
      ""
    ].join("\n"))
    if (runAs !== undefined) for (const file of Fs.readdirSync(dir)) Fs.chownSync(Path.join(dir, file), runAs.uid, runAs.gid)
    return supervise({
      what: "pgbouncer",
      dir,
      port,
      command,
      args: [config],
      runAs,
      // Its own line, not only an open port: another process may hold the port it could not take.
      ready: async () => tail(Path.join(dir, "server.log")).includes(`listening on 127.0.0.1:${port}`) && await portOpen(port),
      readyTimeoutMs: 10_000,
      stopSignal: "SIGINT",
      url: `postgres://postgres@127.0.0.1:${port}${target.pathname}`
    })
  })
}

