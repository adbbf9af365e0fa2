/**
 * The address a server of the program listens on (`--dashboard`,
 * `--metrics`): one parser, so that both flags read the same way.
 *
 * Internal: not an entry point of the package.
 */
import { Schema } from "effect"

/** Where a server of the program listens. */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/**
 * `host:port` (`[::1]:port` for IPv6), or a port alone for 127.0.0.1: a
 * server binds to loopback unless a host is named. `undefined` when it is
 * neither, or the port is not an integer from 0 to 65535.
 */
export const listenAddress = (text: string): ListenAddress | undefined => {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text)
  if (match === null) return undefined
  const port = Number(match[2])
  if (port > 65_535) return undefined
  const host = match[1] === undefined ? "127.0.0.1" : match[1].replace(/^\[(.*)\]$/, "$1")
  return { host, port }
}

/** `host` as a URL writes it: an IPv6 address in brackets. */
export const hostInUrl = (host: string): string => host.includes(":") ? `[${host}]` : host

/** A server of the program could not listen where its flag said (the port taken, the host unknown). */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", {
  server: Schema.String,
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the ${this.server} could not listen on ${this.address}: ${this.reason}`
  }
}

/** The `ListenError` of `server` at `address`, from the error its start failed with (Node's, as its cause). */
export const listenError = (server: string, address: ListenAddress, error: { readonly cause?: unknown }): ListenError =>
  new ListenError({
    server,
    address: `${hostInUrl(address.host)}:${address.port}`,
    reason: String((error.cause as Error | undefined)?.message ?? error.cause)
  })
