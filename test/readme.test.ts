/**
 * The README is true: every `ts` example in it type-checks and runs, and
 * prints what the README says it prints (the `text` block right after it,
 * when there is one; log timestamps are written `[hh:mm:ss]` there, fiber ids `#n`,
 * and a logged shutdown's `elapsed` field `elapsed: '…'`).
 *
 * The examples import `effect-worker-pool` as a user would; the
 * `effect-worker-pool-source` export condition points that at `src/`, so no
 * build is needed.
 */
import { execFile } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..")
const dir = join(root, "test", ".readme")

interface Example {
  readonly code: string
  readonly output: string | undefined
}

/** The `ts` code blocks of the README, each with the `text` block that follows it, if any. */
const examples = (): Array<Example> => {
  const blocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```(\w+)\n([\s\S]*?)```/g)]
  return blocks.flatMap(([, lang, code], i) =>
    lang === "ts" ? [{ code, output: blocks[i + 1]?.[1] === "text" ? blocks[i + 1][2] : undefined }] : []
  )
}

describe("README", () => {
  const found = examples()
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = found.map((example, i) => {
    const file = join(dir, `example${i + 1}.ts`)
    writeFileSync(file, example.code)
    return file
  })
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ extends: "../../tsconfig.json", include: ["*.ts"] })
  )

  it("has examples", () => {
    expect(found.length).toBeGreaterThan(0)
  })

  it("examples type-check", async () => {
    const tsc = join(root, "node_modules", ".bin", "tsc")
    await expect(run(tsc, ["--noEmit", "-p", join(dir, "tsconfig.json")])).resolves.toBeDefined()
  })

  found.forEach((example, i) => {
    it(`example ${i + 1} runs${example.output === undefined ? "" : " and prints what the README shows"}`, async () => {
      const { stdout } = await run(process.execPath, ["--conditions=effect-worker-pool-source", files[i]], {
        cwd: root
      })
      const logged = stdout.replace(/^\[\d\d:\d\d:\d\d\.\d+\]/gm, "[hh:mm:ss]").replace(/ \(#\d+\):/g, " (#n):")
        .replace(/^( +elapsed: )'[^']*'/gm, "$1'…'")
      if (example.output !== undefined) expect(logged).toBe(example.output)
    })
  })
})
