/**
 * `fromUrl` loads an engine only when its URL is seen, so that a program on
 * the memory store, or on one engine, runs without the other engine's client
 * installed. Checked in a child process where `redis` and `@effect/sql-pg`
 * cannot be resolved (a module resolution hook refuses them), as if they
 * were not installed.
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..")
// Inside the repository, so that the scripts resolve \`effect\` from its node_modules.
mkdirSync(join(root, "test", ".fromUrl"), { recursive: true })
const dir = mkdtempSync(join(root, "test", ".fromUrl", "run-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A script that runs `fromUrl(url)` with `hidden` packages unresolvable, and prints how it ended. */
const script = (hidden: ReadonlyArray<string>, url: string) => `
import { registerHooks } from "node:module"
const hidden = ${JSON.stringify(hidden)}
registerHooks({
  resolve(specifier, context, next) {
    if (hidden.some((name) => specifier === name || specifier.startsWith(name + "/"))) {
      throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: "ERR_MODULE_NOT_FOUND" })
    }
    return next(specifier, context)
  }
})
const { Effect } = await import("effect")
const { fromUrl } = await import(${JSON.stringify(join(root, "src", "durable", "fromUrl.ts"))})
const exit = await Effect.runPromiseExit(Effect.scoped(Effect.flatMap(fromUrl(${JSON.stringify(url)}), (store) => store.counts("q"))))
console.log(JSON.stringify(exit._tag === "Success" ? { ok: exit.value } : { failed: String(exit.cause) }))
`

const runWithout = async (hidden: ReadonlyArray<string>, url: string) => {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(file, script(hidden, url))
  const { stdout } = await run(process.execPath, [file], { cwd: root })
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { readonly ok?: unknown; readonly failed?: string }
}

describe("fromUrl loads the engine it needs, and only that one", () => {
  it("memory: runs with neither client installed", async () => {
    const result = await runWithout(["redis", "@effect/sql-pg"], "memory:")
    expect(result).toEqual({ ok: { ready: 0, leased: 0, completed: 0, buried: 0 } })
  })

  it("a Redis URL without the redis package is a StoreError saying what to install", async () => {
    const result = await runWithout(["redis", "@effect/sql-pg"], "redis://127.0.0.1:1")
    expect(result.failed).toMatch(/StoreError/)
    expect(result.failed).toMatch(/npm install redis/)
  })

  it("a PostgreSQL URL without @effect/sql-pg is a StoreError saying what to install", async () => {
    const result = await runWithout(["@effect/sql-pg"], "postgres://postgres@127.0.0.1:1/postgres")
    expect(result.failed).toMatch(/npm install @effect\/sql-pg/)
  })

  it("a Redis URL is handled by the Redis engine without @effect/sql-pg installed", async () => {
    // A bad port: the engine's own check answers, so it was loaded (and nothing tries to connect).
    const result = await runWithout(["@effect/sql-pg"], "redis://127.0.0.1:99999")
    expect(result.failed).toMatch(/PoolConfigError/)
    expect(result.failed).toMatch(/invalid option url: has port "99999"/)
  })
})
