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

/** What `countAtSizes` runs: a loop script, given its size first and then `args`, with `env` added. */
export interface Loop {
  readonly script: string
  readonly args?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
}

/**
 * Counts `loop` at `sizes` (both at once: the counts do not depend on the
 * load), and the difference per unit of size, so that the start-up, the
 * module loading and the shutdown cancel out; callgrind's files are kept in
 * `keep` if given.
 */
export const countAtSizes = async (
  loop: Loop,
  sizes: readonly [number, number],
  keep?: string
): Promise<Counted> => {
  const outDir = keep ?? await mkdtemp(join(tmpdir(), "callgrind-"))
  await mkdir(outDir, { recursive: true })
  const out = (n: number) => join(outDir, `callgrind.out.${[...loop.args ?? [], n].join(".")}`)
  try {
    const [small, large] = await Promise.all(
      sizes.map((n) => instructions([loop.script, String(n), ...loop.args ?? []], out(n), loop.env ?? {}))
    )
    return { small: small!, large: large!, perJob: (large! - small!) / (sizes[1] - sizes[0]) }
  } finally {
    if (keep === undefined) await rm(outDir, { recursive: true, force: true })
  }
}

/** Counts W1's loop (`loop.ts`) for `subject` at `sizes`: see `countAtSizes`. */
export const countPerJob = (subject: Subject, sizes: readonly [number, number], keep?: string): Promise<Counted> =>
  countAtSizes({ script: loop, args: [subject.variant], env: { ROOT: subject.root } }, sizes, keep)

/** A `--sizes` option: two whole numbers of `what`, smaller first ("20000,120000"). */
export const parseSizes = (text: string, what: string): readonly [number, number] => {
  const [small, large] = text.split(",").map(Number) as [number, number]
  if (!(Number.isInteger(small) && Number.isInteger(large) && 0 <= small && small < large)) {
    throw new Error(`--sizes: expected two ${what}, smaller first, got ${text}`)
  }
  return [small, large]
}
