/**
 * `npm run bench`: runs the in-memory benchmark and writes bench/results.md
 * and bench/results.svg, printing the report too. Progress goes to stderr so
 * that stdout is just the report.
 *
 * Flags: `--tiny` runs tiny sizes (seconds, numbers meaningless);
 * `--out DIR` writes somewhere else than bench/.
 */
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { runBench } from "./run.ts"
import { full, tiny } from "./sizes.ts"

const { values } = parseArgs({
  options: { tiny: { type: "boolean", default: false }, out: { type: "string" } }
})

const outDir = values.out ?? fileURLToPath(new URL(".", import.meta.url))
const startedAt = performance.now()
const output = await runBench(values.tiny ? tiny : full, outDir, (line) => process.stderr.write(`${line}\n`))
process.stdout.write(output.markdown)
process.stderr.write(
  `\nwrote ${output.markdownPath} and ${output.svgPath} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`
)
