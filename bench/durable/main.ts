/**
 * `npm run bench:durable`: runs the durable queue benchmark (this pool on
 * Redis and on PostgreSQL against BullMQ, effect-mq, graphile-worker and
 * pg-boss, on real local servers) and writes bench/results-durable.md and
 * bench/results-durable.svg, printing the report too. Progress goes
 * to stderr so that stdout is just the report.
 *
 * Flags: `--tiny` runs tiny sizes (seconds, numbers meaningless);
 * `--out DIR` writes somewhere else than bench/; `--no-analyze` skips the
 * `ANALYZE` of PostgreSQL once each run's jobs are offered (see `analyze` in `run.ts`);
 * `--no-vacuum` skips the `VACUUM` of PostgreSQL before each measurement (see `vacuum` in `run.ts`);
 * `--latency-only` measures only the pickup latency (`pickup.ts`), no throughput;
 * `--only graphile,effect-mq` runs only the other contenders whose name
 * contains one of those words (ours always), to iterate on one quickly;
 * `--no-warm-up` times fresh consumer processes (see `consumer.ts`).
 */
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { runDurableBench } from "./run.ts"
import { full, tiny } from "./sizes.ts"

const { values } = parseArgs({
  options: {
    tiny: { type: "boolean", default: false },
    out: { type: "string" },
    analyze: { type: "boolean", default: true },
    vacuum: { type: "boolean", default: true },
    "latency-only": { type: "boolean", default: false },
    "warm-up": { type: "boolean", default: true },
    only: { type: "string" }
  },
  allowNegative: true
})

const outDir = values.out ?? fileURLToPath(new URL("..", import.meta.url))
const startedAt = performance.now()
const sizes = {
  ...(values.tiny ? tiny : full),
  ...(values["warm-up"] ? {} : { consumerWarmUpJobs: 0 }),
  analyze: values.analyze,
  vacuum: values.vacuum,
  throughput: !values["latency-only"],
  only: values.only
}
const output = await runDurableBench(sizes, outDir, (line) => process.stderr.write(`${line}\n`))
process.stdout.write(output.markdown)
process.stderr.write(`\nwrote ${output.markdownPath} and ${output.svgPath} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`)
// A closed server can leave a timer behind (a stop deadline): do not wait for it.
process.exit(0)
