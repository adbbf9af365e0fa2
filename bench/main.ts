/**
 * `npm run bench`: runs the in-memory benchmark and writes bench/results.md
 * and bench/results.svg, printing the report too. Progress goes to stderr so
 * that stdout is just the report.
 *
 * Flags: `--tiny` runs tiny sizes (seconds, numbers meaningless);
 * `--out DIR` writes somewhere else than bench/; `--cpu` runs only the CPU
 * benchmark (jobs that compute, on threads: bench/cpu/) and writes
 * bench/results-cpu.md instead.
 */
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { join } from "node:path"
import { fullCpu, tinyCpu, writeCpuReport } from "./cpu/run.ts"
import { runBench } from "./run.ts"
import { full, tiny } from "./sizes.ts"

const { values } = parseArgs({
  options: { tiny: { type: "boolean", default: false }, cpu: { type: "boolean", default: false }, out: { type: "string" } }
})

const outDir = values.out ?? fileURLToPath(new URL(".", import.meta.url))
const startedAt = performance.now()
if (values.cpu) {
  const path = join(outDir, "results-cpu.md")
  process.stdout.write(await writeCpuReport(values.tiny ? tinyCpu : fullCpu, path, (line) => process.stderr.write(`${line}\n`)))
  process.stderr.write(`\nwrote ${path} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`)
  process.exit(0)
}
const output = await runBench(values.tiny ? tiny : full, outDir, (line) => process.stderr.write(`${line}\n`))
process.stdout.write(output.markdown)
process.stderr.write(
  `\nwrote ${output.markdownPath} and ${output.svgPath} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`
)
