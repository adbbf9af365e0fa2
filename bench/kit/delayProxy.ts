/**
 * A TCP proxy that holds every chunk for a while before passing it on, both
 * ways, in order: a server that far away, for a benchmark on loopback (this
 * VM's kernel has no `netem`). Node's timers make the least delay about a
 * millisecond each way: with `delayMs` 1, a `SELECT 1` to PostgreSQL took
 * 2.8 ms (0.1 ms direct); with 5, 11 ms. Run in a process of its own, so
 * that its work is not the measured process's.
 *
 *   node bench/kit/delayProxy.ts <listen port> <target port> <delay ms>
 *
 * Prints `ready <port>` once it listens on 127.0.0.1 (a listen port of 0: one
 * the system picks).
 */
import net from "node:net"

const [listenPort, targetPort, delayMs] = process.argv.slice(2).map(Number)
if (![listenPort, targetPort, delayMs].every((n) => Number.isInteger(n) && n! >= 0)) {
  throw new Error("usage: node bench/kit/delayProxy.ts <listen port> <target port> <delay ms>")
}

/** Passes `from`'s chunks to `to`, each `delayMs` later, and its end too. */
const forward = (from: net.Socket, to: net.Socket) => {
  from.on("data", (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs))
  // Ended after what came before it: its last chunks are written first.
  from.on("end", () => setTimeout(() => to.end(), delayMs))
  from.on("close", () => setTimeout(() => to.destroy(), 2 * delayMs))
  from.on("error", () => {})
}

const proxy = net.createServer({ noDelay: true }, (client) => {
  const server = net.connect({ port: targetPort!, host: "127.0.0.1", noDelay: true })
  forward(client, server)
  forward(server, client)
})
proxy.listen(listenPort, "127.0.0.1", () => process.stdout.write(`ready ${(proxy.address() as net.AddressInfo).port}\n`))
