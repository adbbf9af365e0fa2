/**
 * A handler module whose thread does not exit when the pool asks it to
 * close: a timer keeps its event loop alive, so only the pool's terminating
 * it (after its grace period) ends it. Loaded by each thread, never by the
 * tests.
 */
import { Effect } from "effect"

setInterval(() => {}, 1 << 30)

export const handler = (): Effect.Effect<string> => Effect.succeed("done")
