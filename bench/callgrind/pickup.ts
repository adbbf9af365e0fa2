/**
 * Instructions per idle pickup on PostgreSQL, ours and graphile-worker's,
 * counted by valgrind's callgrind: `pickupLoop.ts` at two sizes (40 and 200
 * pickups by default) against one PostgreSQL server started here, outside
 * valgrind, and the difference per pickup. A count that does not follow
 * the machine's load, for A/B comparisons of the pickup path; it includes
 * the JIT's work, since a pickup benchmark's few hundred jobs never warm the
 * code fully either. Printed only. Takes about three minutes.
 *
 *   node bench/callgrind/pickup.ts [--sizes 40,200] [--only ours|graphile]
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { startPostgresServer } from "../../test/support/servers.ts"
import { integer } from "../kit/numbers.ts"
import { instructions } from "./count.ts"

const { values } = parseArgs({ options: { sizes: { type: "string", default: "40,200" }, only: { type: "string" } } })
const [small, large] = values.sizes.split(",").map(Number) as [number, number]
if (!(Number.isInteger(small) && Number.isInteger(large) && 0 <= small && small < large)) {
  throw new Error(`--sizes: expected two pickup counts, smaller first, got ${values.sizes}`)
}
const loop = fileURLToPath(new URL("./pickupLoop.ts", import.meta.url))

/** The instructions callgrind counted for `n` pickups of `contender`. */
const count = (url: string, contender: string, n: number, dir: string): Promise<number> =>
  instructions([loop, String(n), contender], join(dir, `callgrind.out.${contender}.${n}`), { URL: url })

const server = await startPostgresServer()
const dir = await mkdtemp(join(tmpdir(), "callgrind-pickup-"))
try {
  for (const contender of ["ours", "graphile"].filter((name) => values.only === undefined || name === values.only)) {
    // Both sizes at once: a count does not depend on the load.
    const [iSmall, iLarge] = await Promise.all([small, large].map((n) => count(server.url, contender, n, dir)))
    process.stdout.write(
      `${contender}: ${integer((iLarge! - iSmall!) / (large - small))} instructions per idle pickup ` +
        `(I(${small}) = ${integer(iSmall!)}, I(${large}) = ${integer(iLarge!)})\n`
    )
  }
} finally {
  await rm(dir, { recursive: true, force: true })
  await server.close()
}
process.exit(0)
