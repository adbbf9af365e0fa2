/**
 * Instructions per job of the PostgreSQL store's client path, counted by
 * valgrind's callgrind: `storeLoop.ts` (batches of 528 jobs offered, claimed
 * and completed) at two sizes, 3 and 15 batches by default, against one
 * PostgreSQL server started here, outside valgrind, and the difference per
 * job. With `--other <checkout>` (a `git worktree` at another commit, its
 * `node_modules` linked), that checkout's store is counted too, for A/B of a
 * change on the store's path, which the machine's load hides from any
 * timing. The count includes the JIT's and the collector's work, which do
 * not settle to the same figure twice: compare two checkouts in one run,
 * with `--rounds` above 1. Printed only. Takes about ten minutes a round
 * with `--other`.
 *
 *   node bench/callgrind/store.ts [--sizes 3,15] [--other <checkout>] [--rounds 1]
 */
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { startPostgresServer } from "../../test/support/servers.ts"
import { thisCheckout } from "../kit/alternation.ts"
import { integer } from "../kit/numbers.ts"
import { countAtSizes, parseSizes } from "./count.ts"

const { values } = parseArgs({
  options: { sizes: { type: "string", default: "3,15" }, other: { type: "string" }, rounds: { type: "string", default: "1" } }
})
const [small, large] = parseSizes(values.sizes, "batch counts")
const rounds = Number(values.rounds)
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds: expected a whole number from 1, got ${values.rounds}`)
const script = fileURLToPath(new URL("./storeLoop.ts", import.meta.url))
/** The jobs of one of `storeLoop.ts`'s batches. */
const batch = 528

const checkouts: ReadonlyArray<readonly [label: string, root: string]> = [
  ["this checkout", thisCheckout],
  ...(values.other === undefined ? [] : [["the other", resolve(values.other)] as const])
]

const server = await startPostgresServer()
try {
  for (let round = 0; round < rounds; round++) {
    for (const [label, root] of checkouts) {
      const counted = await countAtSizes({ script, env: { URL: server.url, ROOT: root } }, [small, large])
      process.stdout.write(
        `round ${round + 1}, ${label}: ${integer(counted.perJob / batch)} instructions a job ` +
          `(I(${small}) = ${integer(counted.small)}, I(${large}) = ${integer(counted.large)})\n`
      )
    }
  }
} finally {
  await server.close()
}
process.exit(0)
