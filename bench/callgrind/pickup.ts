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
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { startPostgresServer } from "../../test/support/servers.ts"
import { integer } from "../kit/numbers.ts"
import { countAtSizes, parseSizes } from "./count.ts"

const { values } = parseArgs({ options: { sizes: { type: "string", default: "40,200" }, only: { type: "string" } } })
const [small, large] = parseSizes(values.sizes, "pickup counts")
const script = fileURLToPath(new URL("./pickupLoop.ts", import.meta.url))

const server = await startPostgresServer()
try {
  for (const contender of ["ours", "graphile"].filter((name) => values.only === undefined || name === values.only)) {
    const counted = await countAtSizes({ script, args: [contender], env: { URL: server.url } }, [small, large])
    process.stdout.write(
      `${contender}: ${integer(counted.perJob)} instructions per idle pickup ` +
        `(I(${small}) = ${integer(counted.small)}, I(${large}) = ${integer(counted.large)})\n`
    )
  }
} finally {
  await server.close()
}
process.exit(0)
