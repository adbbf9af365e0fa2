/**
 * Instructions per job of W1's path, counted by valgrind's callgrind: the
 * same count whatever else the machine runs, so an A/B comparison survives a
 * busy machine that makes wall-clock benchmarks noisy.
 *
 * Runs `loop.ts` (through `count.ts`) under `valgrind --tool=callgrind node --predictable
 * --single-threaded` at two sizes (20,000 and 120,000 jobs by default) and
 * reports (I(large) − I(small)) / (large − small): the start-up, the module
 * loading and the shutdown are in both counts and cancel out, what is left is
 * the cost of one job. Adds a row to bench/results-callgrind.md (of this
 * checkout, whichever tree is measured) and keeps its notes.
 *
 *   npm run bench:callgrind -- [--root DIR] [--label TEXT] [--sizes 20000,120000] [--keep DIR] [--no-write]
 *
 * --root    the tree to measure (a worktree of another commit; default: this checkout)
 * --label   what the row is about (default: the measured commit's subject)
 * --keep    keep the callgrind.out files there (for callgrind_annotate)
 * --no-write  print the count only
 * --variant the loop's variant (default `defaults`: W1); `durable` counts the
 *           durable pool's consumer path instead (see loop.ts), printed only
 *
 * Takes about a minute and a half (both sizes run at once: counts do not
 * depend on the load). Not part of `npm test`.
 */
import { execFileSync } from "node:child_process"
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { integer } from "../kit/numbers.ts"
import { notesBlock, writeReport } from "../kit/notes.ts"
import { countPerJob, parseSizes } from "./count.ts"

const here = fileURLToPath(new URL(".", import.meta.url))
const thisTree = resolve(here, "../..")
const resultsPath = join(thisTree, "bench/results-callgrind.md")

const { values } = parseArgs({
  options: {
    root: { type: "string", default: thisTree },
    label: { type: "string" },
    sizes: { type: "string", default: "20000,120000" },
    keep: { type: "string" },
    variant: { type: "string", default: "defaults" },
    "no-write": { type: "boolean", default: false }
  }
})

const root = resolve(values.root)
const [small, large] = parseSizes(values.sizes, "job counts")

const git = (args: ReadonlyArray<string>): string =>
  execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()

/** The measured commit, with "+" when its src/ has uncommitted changes. */
const revision = (): { readonly commit: string; readonly subject: string } => {
  try {
    const commit = git(["rev-parse", "--short", "HEAD"])
    const dirty = git(["status", "--porcelain", "--", "src"]) !== ""
    return { commit: dirty ? `${commit}+` : commit, subject: git(["log", "-1", "--format=%s"]) }
  } catch {
    return { commit: "unknown", subject: "" }
  }
}

const { small: iSmall, large: iLarge, perJob } = await countPerJob(
  { root, variant: values.variant },
  [small, large],
  values.keep === undefined ? undefined : resolve(values.keep)
)
const { commit, subject } = revision()
const label = (values.label ?? subject).replaceAll("|", "\\|")
const row = `| ${new Date().toISOString().slice(0, 16).replace("T", " ")} | ${commit} | ${label} | ${
  integer(iSmall)
} | ${integer(iLarge)} | **${integer(perJob)}** |`
console.log(`${commit} ${label}\n  I(${integer(small)}) = ${integer(iSmall)}\n  I(${integer(large)}) = ${
  integer(iLarge)
}\n  instructions per job: ${integer(perJob)}`)

/** The rows of the report being replaced, in order. */
const previousRows = async (): Promise<ReadonlyArray<string>> => {
  try {
    return (await readFile(resultsPath, "utf8")).split("\n").filter((line) => /^\| \d{4}-\d\d-\d\d /.test(line))
  } catch {
    return []
  }
}

// Only W1's count is a row of results-callgrind.md.
if (!values["no-write"] && values.variant === "defaults") {
  const rows = [...await previousRows(), row]
  await writeReport(resultsPath, (notes) =>
    [
      "# Instructions per job (W1's path, under callgrind)",
      "",
      "Written by `npm run bench:callgrind` (bench/callgrind/); each run adds a row, the notes below are kept.",
      `The loop: 8 workers, a no-op handler, capacity 1024, N submits one after another, then shutdown (\`bench/callgrind/loop.ts\`), run as \`valgrind --tool=callgrind node --predictable --single-threaded\` on Node ${process.version}.`,
      "Instructions per job = (I(N large) − I(N small)) / (N large − N small): start-up and shutdown cancel out. A count does not depend on the machine's load, so rows taken at different times compare.",
      "A commit marked `+` had uncommitted changes in src/.",
      "",
      `| date (UTC) | commit | change | I(small) | I(large) | instructions per job |`,
      "| --- | --- | --- | ---: | ---: | ---: |",
      ...rows,
      "",
      "## Notes",
      "",
      notesBlock(notes),
      ""
    ].join("\n"))
  console.log(`wrote ${resultsPath}`)
}
