/**
 * The program's `--dashboard`: serves the dashboard of the run's pool on
 * the address given, for as long as the run's scope lives, and prints its
 * URL once. Without `--dashboard-token`, a random token is made, and the URL
 * printed carries it in its fragment (`#token=...`), which the page reads
 * and the browser never sends to the server.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"
import * as Dashboard from "../Dashboard.ts"
import { hostInUrl, listenError } from "./address.ts"
import type { DashboardSettings } from "./flags.ts"
import type { Screen } from "./screen.ts"

/** Whether `host` names this machine's loopback. */
export const isLoopback = (host: string): boolean =>
  Dashboard.loopbackHosts.includes(host.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(host)

/** Serves the dashboard of `queues` in the current scope, and prints its URL. */
export const serve = (
  settings: DashboardSettings,
  queues: ReadonlyArray<Dashboard.Queue>,
  screen: Screen
) =>
  Effect.gen(function*() {
    const token = settings.token ?? Dashboard.generateToken()
    const server = NodeHttpServer.layer(() => Object.assign(createServer(), Dashboard.serverLimits), {
      host: settings.host,
      port: settings.port,
      // A page left open polls once a second: its request must not hold the end of the run.
      gracefulShutdownTimeout: "1 second"
    })
    // On loopback, only loopback's names: a page elsewhere cannot read it by pointing its own name here.
    const hosts = isLoopback(settings.host) ? [...Dashboard.loopbackHosts, settings.host] : undefined
    const context = yield* Layer.build(Layer.provideMerge(Dashboard.layer({ queues, token, hosts }), server)).pipe(
      Effect.mapError((error) => listenError("dashboard", settings, error))
    )
    const bound = Context.get(context, HttpServer.HttpServer).address
    const port = "port" in bound ? bound.port : settings.port
    const url = `http://${hostInUrl(settings.host)}:${port}/`
    screen.line(settings.token === undefined ? `Dashboard: ${url}#token=${token}` : `Dashboard: ${url}`)
  })
