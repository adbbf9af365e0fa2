/**
 * `node bench/durable/loadVersus.ts --other <checkout> [--rounds 3] [--rates 12000,17000]`:
 * our PostgreSQL contender's end-to-end latency under a steady load
 * (`load.ts`) from this checkout against the same contender from another
 * checkout of this repository (a `git worktree` at another commit, its
 * `node_modules` linked), alternating on one server, the first swapping
 * each round, at each rate. For A/B of a change on the path under load,
 * where two full runs of `bench:durable` differ by more than the change.
 * Printed only.
 */
import { execFileSync } from "node:child_process"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { startPostgresServer } from "../../test/support/servers.ts"
import { orderOfRound, thisCheckout } from "../kit/alternation.ts"

const { values } = parseArgs({
  options: {
    other: { type: "string" },
    rounds: { type: "string", default: "3" },
    rates: { type: "string", default: "12000,17000" }
  }
})
if (values.other === undefined) throw new Error("--other: the other checkout's directory")
const trees = [thisCheckout, resolve(values.other)]
const rates = values.rates.split(",").map((rate) => rate.trim())

const server = await startPostgresServer()
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const rate of rates) {
      for (const tree of orderOfRound(round, trees)) {
        const out = execFileSync(process.execPath, [fileURLToPath(new URL("./loadVersusRun.ts", import.meta.url)), server.url, tree, rate], {
          encoding: "utf8"
        })
        process.stdout.write(`round ${round + 1}, ${rate} jobs/s, ${tree === thisCheckout ? "this checkout" : tree}: ${out.trim()}\n`)
      }
    }
  }
} finally {
  await server.close()
}
process.exit(0)
