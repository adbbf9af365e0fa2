/**
 * Counts instructions with valgrind's callgrind: `loop.ts` (W1's per-job
 * path) run as `valgrind --tool=callgrind node --predictable
 * --single-threaded` at two sizes, and the difference per job, so that the
 * start-up, the module loading and the shutdown, in both counts, cancel out.
 * A count does not depend on what else the machine runs. Used by `run.ts`
 * (the per-job count of a tree, a row of results-callgrind.md) and
 * `observe.ts` (each way of observing the pool).
 */
import { spawn } from "node:child_process"
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const loop = fileURLToPath(new URL("./loop.ts", import.meta.url))

/** What `loop.ts` runs: the tree measured, and the pool's variant (see `loop.ts`). */
export interface Subject {
  readonly root: string
  readonly variant: string
}

/** The instructions callgrind counted for `n` jobs of `subject`, its output file in `outDir`. */
const count = (subject: Subject, n: number, outDir: string): Promise<number> =>
  instructions(
    [loop, String(n), subject.variant],
    join(outDir, `callgrind.out.${subject.variant}.${n}`),
    { ROOT: subject.root }
  )

/**
 * The instructions callgrind counts for `node --predictable --single-threaded
 * ...script` (with `env` added to this process's), its output file `out`.
 */
export const instructions = async (
  script: ReadonlyArray<string>,
  out: string,
  env: Readonly<Record<string, string>>
): Promise<number> => {
  const args = [
    "--tool=callgrind",
    `--callgrind-out-file=${out}`,
    process.execPath,
    "--predictable",
    "--single-threaded",
    ...script
  ]
  await new Promise<void>((done, fail) => {
    const child = spawn("valgrind", args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", fail)
    child.on("exit", (code) => code === 0 ? done() : fail(new Error(`valgrind exited with ${code}:\n${stderr.slice(-2000)}`)))
  })
  const totals = /^totals:\s+(\d+)/m.exec(await readFile(out, "utf8"))
  if (totals === null) throw new Error(`no totals line in ${out}`)
  return Number(totals[1])
}

/** The counts at both sizes and the instructions per job. */
export interface Counted {
  readonly small: number
  readonly large: number
  readonly perJob: number
}

/**
 * Counts `subject` at `sizes` (both at once: the counts do not depend on
 * the load), keeping callgrind's files in `keep` if given.
 */
export const countPerJob = async (
  subject: Subject,
  sizes: readonly [number, number],
  keep?: string
): Promise<Counted> => {
  const outDir = keep ?? await mkdtemp(join(tmpdir(), "callgrind-"))
  await mkdir(outDir, { recursive: true })
  try {
    const [small, large] = await Promise.all(sizes.map((n) => count(subject, n, outDir)))
    return { small: small!, large: large!, perJob: (large! - small!) / (sizes[1] - sizes[0]) }
  } finally {
    if (keep === undefined) await rm(outDir, { recursive: true, force: true })
  }
}
