/**
 * What the test suite needs from the machine, and how it gets it.
 *
 * The durable-queue tests start a real `redis-server` and PostgreSQL, and
 * PgBouncer in front of PostgreSQL (see `servers.ts`); the dashboard's
 * tests drive a real headless Chromium (Debian's `chromium`, through
 * `playwright-core`); the program's hang-up test runs it on a terminal of its
 * own (util-linux's `script`). `npm test` on a fresh machine must either have them or get
 * them: as root with `apt-get`, the suite installs Debian's packages itself;
 * anyone else is stopped at once with the exact command to run, instead of
 * four test files failing one by one with "not found".
 *
 * `plan` decides (a pure function, unit-tested); `provision` carries it out.
 */
import { execFileSync } from "node:child_process"
import { findBinary } from "./servers.ts"

/** A binary the tests run, and the Debian package that ships it. */
export interface Need {
  readonly binary: string
  readonly package: string
}

export const serverNeeds: ReadonlyArray<Need> = [
  { binary: "redis-server", package: "redis-server" },
  { binary: "initdb", package: "postgresql" },
  { binary: "postgres", package: "postgresql" },
  { binary: "pg_ctl", package: "postgresql" },
  { binary: "pgbouncer", package: "pgbouncer" }
]

/** The browser the dashboard's tests drive. */
export const browserNeeds: ReadonlyArray<Need> = [{ binary: "chromium", package: "chromium" }]

/** What gives the program a terminal of its own, for its hang-up test: util-linux's `script`. */
export const terminalNeeds: ReadonlyArray<Need> = [{ binary: "script", package: "bsdutils" }]

/** Every binary the integration tests need. */
export const allNeeds: ReadonlyArray<Need> = [...serverNeeds, ...browserNeeds, ...terminalNeeds]

/** What the machine can do about a missing package. */
export interface Machine {
  /** Whether this process runs as root. */
  readonly root: boolean
  /** Whether `apt-get` is on PATH. */
  readonly apt: boolean
  /** Set when the user asked the suite never to install anything (`EWP_TEST_NO_INSTALL=1`). */
  readonly noInstall: boolean
}

export type Plan =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "Install"; readonly packages: ReadonlyArray<string> }
  | { readonly _tag: "Stop"; readonly message: string }

/** The shell command that installs `packages` on a Debian-like system. */
export const installCommand = (packages: ReadonlyArray<string>, sudo: boolean): string => {
  const prefix = sudo ? "sudo " : ""
  return `${prefix}apt-get update && ${prefix}apt-get install -y --no-install-recommends ${packages.join(" ")}`
}

/** Decides what to do about the binaries in `missing` on `machine`. */
export const plan = (missing: ReadonlyArray<Need>, machine: Machine): Plan => {
  if (missing.length === 0) return { _tag: "Ready" }
  const packages = [...new Set(missing.map((need) => need.package))]
  if (machine.root && machine.apt && !machine.noInstall) return { _tag: "Install", packages }
  const binaries = missing.map((need) => need.binary).join(", ")
  const how = machine.apt
    ? `Install them with:\n\n  ${installCommand(packages, !machine.root)}\n`
    : `Install the packages that provide them (${packages.join(", ")}) with your system's package manager,` +
      ` so that they are on PATH (PgBouncer's may also be in /usr/sbin, PostgreSQL's in /usr/lib/postgresql/<version>/bin).\n`
  return {
    _tag: "Stop",
    message: `The integration tests start a real Redis, PostgreSQL and PgBouncer and drive a headless Chromium, and ${binaries} ` +
      `${missing.length === 1 ? "is" : "are"} not installed.\n${how}`
  }
}

const missingNeeds = (): Array<Need> => allNeeds.filter((need) => findBinary(need.binary) === undefined)

const thisMachine = (): Machine => ({
  root: process.getuid?.() === 0,
  apt: findBinary("apt-get") !== undefined,
  noInstall: process.env.EWP_TEST_NO_INSTALL === "1"
})

/** Makes sure every server binary is there, installing it when this process may; throws when it cannot. */
export const provision = (log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): void => {
  const decided = plan(missingNeeds(), thisMachine())
  if (decided._tag === "Ready") return
  if (decided._tag === "Stop") throw new Error(decided.message)
  log(`test setup: installing ${decided.packages.join(", ")} with apt-get (needed by the integration tests)`)
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env })
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...decided.packages], {
    stdio: ["ignore", "ignore", "inherit"],
    env
  })
  const still = missingNeeds()
  if (still.length > 0) {
    throw new Error(`apt-get installed ${decided.packages.join(", ")} but ${still.map((n) => n.binary).join(", ")} is still not found`)
  }
}
