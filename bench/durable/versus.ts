/**
 * `node bench/durable/versus.ts --other <checkout> [--rounds 4] [--delay ms] [--prefetch n]`:
 * our PostgreSQL contender's throughput from this checkout against the same
 * contender from another checkout of this repository (a `git worktree` at
 * another commit, its `node_modules` linked), alternating on one server, the
 * first swapping each round (each checkout on a database of its own, so
 * that a change of the schema is measured against the schema its own code
 * makes), with one and two consumers: `measureRun`,
 * 20,000 jobs after 5,000 warm-up ones, `VACUUM` before and `ANALYZE`
 * after the offer; each run's offer rate too. For A/B of a change on the
 * consumer's or the offer's path, where two full runs of `bench:durable`
 * differ by more than the change.
 *
 * `--delay` puts the server behind `../kit/delayProxy.ts` (each chunk held
 * that many milliseconds each way); `--prefetch` sets the contender's
 * (`BENCH_PREFETCH`, read by `contenders/poolPostgres.ts` of both
 * checkouts: the other must have it too). Printed only.
 */
import { execFileSync, spawn } from "node:child_process"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import { freshDatabase } from "../../test/support/admin.ts"
import { startPostgresServer } from "../../test/support/servers.ts"
import { orderOfRound, thisCheckout } from "../kit/alternation.ts"

const { values } = parseArgs({
  options: {
    other: { type: "string" },
    rounds: { type: "string", default: "4" },
    delay: { type: "string" },
    prefetch: { type: "string" }
  }
})
if (values.other === undefined) throw new Error("--other: the other checkout's directory")
const trees = [thisCheckout, resolve(values.other)]
const env = values.prefetch === undefined ? process.env : { ...process.env, BENCH_PREFETCH: values.prefetch }

const server = await startPostgresServer()
const proxy = values.delay === undefined ? undefined : spawn(
  process.execPath,
  [fileURLToPath(new URL("../kit/delayProxy.ts", import.meta.url)), "0", String(server.port), values.delay],
  { stdio: ["ignore", "pipe", "inherit"] }
)
try {
  const proxyPort = proxy === undefined ? undefined : await new Promise<string>((ready, failed) => {
    proxy.stdout!.once("data", (line: Buffer) => ready(line.toString().trim().split(" ")[1]!))
    proxy.once("exit", (code) => failed(new Error(`the delay proxy exited (code ${code}) before it listened`)))
  })
  const url = proxyPort === undefined ? server.url : server.url.replace(`:${server.port}/`, `:${proxyPort}/`)
  const urlOf = new Map<string, string>()
  for (const tree of trees) urlOf.set(tree, await Effect.runPromise(freshDatabase(url, "versus")))
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const tree of orderOfRound(round, trees)) {
      for (const consumers of ["1", "2"]) {
        const out = execFileSync(process.execPath, [fileURLToPath(new URL("./versusRun.ts", import.meta.url)), urlOf.get(tree)!, tree, consumers], {
          encoding: "utf8",
          env
        })
        const [consumed, offered] = out.trim().split(" ")
        process.stdout.write(
          `round ${round + 1}, ${tree === thisCheckout ? "this checkout" : tree}, ${consumers} consumer(s): ${consumed} jobs/s (offered at ${offered})\n`
        )
      }
    }
  }
} finally {
  proxy?.kill()
  await server.close()
}
process.exit(0)
