/**
 * A consumer process of the durable benchmark, forked by `measure.ts`.
 * Connects one contender's consumer to the queue, says `ready` over IPC,
 * starts consuming on `go`, and closes and exits on `stop`. The driver
 * times from `go` to the store's count of completed jobs, so the start-up
 * of this process and its connection is not timed.
 *
 * Usage (forked, with an IPC channel): node bench/durable/consumer.ts <contender> <url> <queue>
 */
import { byName } from "./contenders/index.ts"

/** The messages between the driver and a consumer. */
export type ToConsumer = { readonly type: "go" } | { readonly type: "stop" }
export type FromConsumer = { readonly type: "ready" } | { readonly type: "started" }

const send = (message: FromConsumer) => process.send?.(message)

const fail = (error: unknown) => {
  process.stderr.write(`consumer failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
}

const main = async () => {
  const [name = "", url = "", queue = ""] = process.argv.slice(2)
  if (process.send === undefined) throw new Error("run me with an IPC channel (child_process.fork)")
  const consumer = await byName(name).consumer(url, queue)
  process.on("message", (message: ToConsumer) => {
    if (message.type === "go") consumer.start().then(() => send({ type: "started" }), fail)
    if (message.type === "stop") consumer.close().then(() => process.exit(0), fail)
  })
  // The driver going away (a failed run) must not leave this process behind.
  process.on("disconnect", () => process.exit(0))
  send({ type: "ready" })
}

main().catch(fail)
