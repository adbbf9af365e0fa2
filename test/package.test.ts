/**
 * The package as a user gets it: `npm pack` builds it (prepack), a new
 * application in a temp folder installs the tarball with a real
 * `npm install` (and the peers it needs, nothing more), type-checks against
 * the shipped `.d.ts` with `skipLibCheck: false`, and runs under plain Node
 * from `dist/` (no type stripping of the library's `src/`).
 *
 * The first application installs only `effect` (and `@types/node`, as any
 * Node application has): the in-memory pool and the
 * memory store must load without the optional store clients. The second
 * adds `redis` and `@effect/sql-pg` and type-checks every entry point.
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const exec = promisify(execFile)
const root = join(import.meta.dirname, "..")
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const installed = (name: string): string =>
  JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version
/** `^4.0.6` admits 4.0.6 and nothing older. */
const lowestAdmitted = (range: string): string => {
  const match = /^\^(\d+\.\d+\.\d+)$/.exec(range)
  if (match === null) throw new Error(`peer range ${range} is not of the form ^x.y.z`)
  return match[1]
}
const tscBin = join(root, "node_modules", ".bin", "tsc")
/** Type-checks (and emits) the application in `dir`; a failure carries the compiler's output. */
const tsc = (dir: string) =>
  exec(tscBin, ["-p", dir]).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`tsc failed in the application:\n${error.stdout ?? ""}${error.stderr ?? ""}`)
  })
// npm as the repo's Node runs it, so the install is the one a user's npm does.
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  exec("npm", [...args], { cwd, env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false" } })

const app = `
import { Context, Effect, Layer, Schedule, Schema } from "effect"
import { Durable, Job, Pool } from "effect-worker-pool"
import * as MemoryStore from "effect-worker-pool/MemoryStore"

class Bounced extends Schema.TaggedError<Bounced>()("Bounced", { to: Schema.String }) {}

class Mailer extends Context.Service<Mailer, Pool.WorkerPool<string, string, Bounced>>()("app/Mailer") {}

const MailerLive = Pool.layer(Mailer, {
  workers: 2,
  handler: (job: Job.Job<string>) =>
    job.payload.includes("@") ? Effect.succeed("sent " + job.payload) : Effect.fail(new Bounced({ to: job.payload }))
})

const inMemory = Effect.gen(function*() {
  const mailer = yield* Mailer
  const sent = yield* mailer.run("ada@example.com")
  const caught = yield* mailer.run("nobody").pipe(Effect.catchTag("Bounced", (e) => Effect.succeed("bounced " + e.to)))
  return [sent, caught]
}).pipe(Effect.provide(MailerLive))

const durable = Effect.scoped(Effect.gen(function*() {
  const store = yield* MemoryStore.make
  const done: Array<string> = []
  const pool = yield* Durable.make({
    store,
    queue: "q",
    schema: Schema.String,
    workers: 1,
    maxAttempts: 1,
    retry: Schedule.spaced("1 millis"),
    pollInterval: "5 millis",
    handler: (job) => Effect.sync(() => { done.push(job.payload) })
  })
  yield* pool.submitAll(["a", "b"])
  while (done.length < 2) yield* Effect.sleep("5 millis")
  yield* pool.shutdown()
  return (yield* pool.counts).completed
}))

const results = await Effect.runPromise(Effect.all([inMemory, durable]))
console.log(JSON.stringify(results))
`

const allEntries = `
import type * as Root from "effect-worker-pool"
import type * as Job from "effect-worker-pool/Job"
import type * as Pool from "effect-worker-pool/Pool"
import type * as Shutdown from "effect-worker-pool/Shutdown"
import type * as Durable from "effect-worker-pool/Durable"
import type * as Periodic from "effect-worker-pool/Periodic"
import type * as Store from "effect-worker-pool/Store"
import type * as MemoryStore from "effect-worker-pool/MemoryStore"
import type * as RedisStore from "effect-worker-pool/RedisStore"
import type * as PostgresStore from "effect-worker-pool/PostgresStore"

export type Used = [
  typeof Root.Pool.make, typeof Job.make, typeof Pool.layer, Shutdown.Report<string>, typeof Durable.make,
  Store.Store, typeof MemoryStore.make, typeof RedisStore.make, typeof PostgresStore.make, typeof Periodic.declare,
  typeof Root.Periodic.layer
]
`

const tsconfig = {
  compilerOptions: {
    target: "es2023",
    // Effect's own declarations name web types (CryptoKey, AbortSignal), as an application's lib has them.
    lib: ["es2023", "dom"],
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    types: ["node"],
    outDir: "out"
  },
  include: ["*.ts"]
}

describe("the packed package", () => {
  let work: string
  let tarball: string

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "ewp-package-"))
    // As on a fresh clone: whatever is packed must be built by packing.
    rmSync(join(root, "dist"), { recursive: true, force: true })
    await npm(["pack", "--pack-destination", work], root)
    const packed = readdirSync(work).filter((file) => file.endsWith(".tgz"))
    expect(packed).toHaveLength(1)
    tarball = join(work, packed[0])
  }, 180_000)

  // Two applications' node_modules to delete: over 10 s (the default bound) on a busy machine.
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  }, 120_000)

  it("documents only entry points it exports, and its doc examples import them, not files", () => {
    const sources = (dir: string): Array<string> =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
      )
    const docs = [join(root, "README.md"), join(root, "docs", "design.md"), ...sources(join(root, "src"))]
    const exported = new Set(Object.keys(manifest.exports as Record<string, unknown>))
    const named: Array<string> = []
    const relative: Array<string> = []
    for (const file of docs) {
      const text = readFileSync(file, "utf8")
      for (const [, entry] of text.matchAll(/(?:from|import\()\s*["']effect-worker-pool(\/[A-Za-z]+)?["']/g)) named.push(`.${entry ?? ""}`)
      // In a doc comment, an example that imports "./X.ts" does not run for a user of the package.
      for (const [line] of text.matchAll(/^\s*\*\s*import .* from ["']\.\.?\/.*$/gm)) relative.push(`${file}: ${line.trim()}`)
    }
    expect(named.length).toBeGreaterThan(0)
    expect([...new Set(named)].filter((entry) => !exported.has(entry))).toEqual([])
    expect(relative).toEqual([])
  })

  it("ships what its exports point at", async () => {
    const { stdout } = await exec("tar", ["-tzf", tarball])
    const files = new Set(stdout.split("\n").map((line) => line.replace(/^package\//, "")))
    const targets = Object.values(manifest.exports as Record<string, Record<string, string> | string>).flatMap(
      (entry) => typeof entry === "string" ? [entry] : Object.values(entry)
    )
    expect(targets.length).toBeGreaterThan(0)
    for (const target of targets) expect(files, target).toContain(target.replace(/^\.\//, ""))
  })

  // The newest Effect the repo is developed on, and the oldest the peer range admits.
  const effectVersions = [...new Set([installed("effect"), lowestAdmitted(manifest.peerDependencies.effect)])]

  it.each(effectVersions)("installs into a new application with only effect %s, type-checks with skipLibCheck off, and runs on plain Node", async (effect) => {
    const dir = join(work, `app-${effect}`)
    mkdirSync(dir)
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({
        name: "app",
        private: true,
        type: "module",
        dependencies: {
          "effect-worker-pool": `file:${tarball}`,
          effect,
          "@types/node": installed("@types/node")
        }
      })
    )
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig))
    writeFileSync(join(dir, "app.ts"), app)
    await npm(["install", "--no-package-lock"], dir)
    // The optional store clients are not installed: the pool and the memory store must not need them.
    expect(readdirSync(join(dir, "node_modules"))).not.toContain("redis")
    await tsc(dir)
    const { stdout } = await exec(process.execPath, [join(dir, "out", "app.js")], { cwd: dir })
    // The durable pool logs that it works (Effect's default logger, on stdout); the app's answer is the last line.
    expect(stdout).toMatch(/INFO .*durable pool working \{ queue: 'q', store: 'memory', workers: 1 \}/)
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual([["sent ada@example.com", "bounced nobody"], 2])

    // With the optional peers, every entry point's declarations type-check too.
    rmSync(join(dir, "app.ts"))
    rmSync(join(dir, "out"), { recursive: true })
    writeFileSync(join(dir, "entries.ts"), allEntries)
    await npm(["install", "--no-package-lock", `redis@${installed("redis")}`, `@effect/sql-pg@${installed("@effect/sql-pg")}`], dir)
    await tsc(dir)
  }, 300_000)
})
