/**
 * A process that declares a periodic job on a real store, for the test that
 * runs several of them on one queue (`test/PeriodicProcesses.test.ts`). It
 * says what it does, one JSON object a line on stdout: `ready` once its
 * store is connected, then `offered` for each tick its declaration offered
 * (the store may have kept another process's offer of it: the id is the
 * same), and `stopped` when its declaration's scope has closed.
 *
 * Usage: node test/support/periodicDeclarer.ts --store <url> --queue <name> --name <name> --go <file>
 *
 * Once ready, it waits for the file `--go` to appear and reads from it
 * `{ "cron": "...", "until": <epoch ms> }`: the schedule to declare (in UTC),
 * and when to stop. So every process declares the same schedule, and each is
 * connected before the first tick, however slowly the machine started them.
 * Log lines other than the ticks' go to stderr.
 */
import { existsSync, readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { DateTime, Effect, Logger, References, Schema, type Scope } from "effect"
import * as PostgresStore from "../../src/durable/PostgresStore.ts"
import * as RedisStore from "../../src/durable/RedisStore.ts"
import type { Store, StoreError } from "../../src/durable/Store.ts"
import * as Periodic from "../../src/Periodic.ts"
import type { PoolConfigError } from "../../src/Pool.ts"

/** What the process prints, one a line. */
export type DeclarerEvent =
  | { readonly event: "ready" }
  | { readonly event: "offered"; readonly tick: string }
  | { readonly event: "stopped" }

const say = (event: DeclarerEvent) => process.stdout.write(`${JSON.stringify(event)}\n`)

const flags = () => {
  const { values } = parseArgs({
    options: { store: { type: "string" }, queue: { type: "string" }, name: { type: "string" }, go: { type: "string" } }
  })
  const { go, name, queue, store } = values
  if (store === undefined || queue === undefined || name === undefined || go === undefined) {
    throw new Error("--store, --queue, --name and --go are required")
  }
  return { store, queue, name, go }
}

const connect = (url: string): Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope> =>
  /^rediss?:/.test(url) ? RedisStore.make({ url }) : PostgresStore.make({ url })

/** The ticks offered, as `offered` events; every other line on stderr. */
const logger = Logger.make((options) => {
  const message = Array.isArray(options.message) ? options.message.join(" ") : String(options.message)
  const annotations = options.fiber.getRef(References.CurrentLogAnnotations)
  if (message === "periodic tick offered") say({ event: "offered", tick: String(annotations.tick) })
  else process.stderr.write(`${options.logLevel} ${message} ${JSON.stringify(annotations)}\n`)
})

/** Waits for the go file, then reads the schedule from it. */
const go = (path: string) =>
  Effect.gen(function*() {
    while (!existsSync(path)) yield* Effect.sleep("20 millis")
    return JSON.parse(readFileSync(path, "utf8")) as { readonly cron: string; readonly until: number }
  })

const main = (settings: ReturnType<typeof flags>) =>
  Effect.gen(function*() {
    yield* Effect.scoped(Effect.gen(function*() {
      const store = yield* connect(settings.store)
      say({ event: "ready" })
      const { cron, until } = yield* go(settings.go)
      yield* Periodic.declare({
        store,
        queue: settings.queue,
        schema: Schema.Struct({ tick: Schema.String }),
        name: settings.name,
        cron,
        payload: (tick) => ({ tick: DateTime.formatIso(tick) })
      })
      yield* Effect.sleep(Math.max(0, until - Date.now()))
    }))
    say({ event: "stopped" })
  }).pipe(Effect.provide(Logger.layer([logger])), Effect.provideService(References.MinimumLogLevel, "Debug"))

Effect.runPromise(Effect.suspend(() => main(flags()))).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`periodic declarer failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)
