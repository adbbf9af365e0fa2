/**
 * The loop `run.ts` counts under callgrind: W1's per-job path (8 workers, a
 * no-op handler, capacity 1024), `n` submits one after another, then a
 * shutdown. The tree measured is the one at `ROOT` (this checkout by
 * default), so another commit's worktree can be counted with the same loop.
 *
 *   ROOT=/path/to/tree node bench/callgrind/loop.ts 20000
 */
import { fileURLToPath } from "node:url"

const root = process.env["ROOT"] ?? fileURLToPath(new URL("../..", import.meta.url))
const n = Number(process.argv[2])
if (!Number.isInteger(n) || n < 0) throw new Error(`loop.ts: expected a job count, got ${process.argv[2]}`)

// Both through the tree's own node_modules, so the pool and the loop share one Effect.
const { Effect } = await import(`${root}/node_modules/effect/dist/index.js`)
const { Pool } = await import(`${root}/src/index.ts`)

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const pool = yield* Pool.make({ workers: 8, capacity: 1024, handler: () => Effect.void })
  for (let i = 0; i < n; i++) yield* pool.submit(i)
  yield* pool.shutdown()
})))
