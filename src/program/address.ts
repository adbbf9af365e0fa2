/**
 * The address a server of the program listens on (`--dashboard`,
 * `--metrics`): one parser, so that both flags read the same way.
 *
 * Internal: not an entry point of the package.
 */

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
