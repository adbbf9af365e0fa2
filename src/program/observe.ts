/**
 * What the program exports while it runs: `--metrics host:port` serves the
 * metrics of every pool in Prometheus text at `/metrics` (Effect's
 * `PrometheusMetrics` on Effect's `HttpServer`), and `--otlp url` sends
 * traces and metrics to an OpenTelemetry collector (Effect's OTLP exporter,
 * JSON over HTTP, to `url/v1/traces` and `url/v1/metrics`). Both are layers
 * the run is provided with: the server listens before the first job is
 * submitted and closes after the last report; the exporter flushes what it
 * holds as the run ends.
 */
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { OtlpMetrics, OtlpSerialization, OtlpTracer, PrometheusMetrics } from "effect/observability"
import { hostInUrl, type ListenAddress, listenAddress, type ListenError, listenError } from "./address.ts"
import type { Config } from "./flags.ts"

/** Whether `input` is an http(s) URL, for `--otlp`. */
export const isHttpUrl = (input: string): boolean => {
  try {
    const url = new URL(input)
    return (url.protocol === "http:" || url.protocol === "https:") && url.host !== ""
  } catch {
    return false
  }
}

/** What the program names itself to a collector. */
const resource = { serviceName: "worker-pool" }

/** Prints where `/metrics` is served, once it listens: with a port of 0, the only place the port is told. */
const announce = (host: string) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const { address } = yield* HttpServer.HttpServer
    const port = "port" in address ? address.port : 0
    process.stdout.write(`Metrics: http://${hostInUrl(host)}:${port}/metrics\n`)
  }))

/** Serves `/metrics` at `address` (Prometheus text of the default metric registry), and prints its URL. */
export const prometheusServer = (address: ListenAddress) =>
  HttpRouter.serve(PrometheusMetrics.layerHttp(), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.merge(announce(address.host)),
    // A scraper's request left unfinished must not hold the end of the run, past the report.
    Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { ...address, gracefulShutdownTimeout: "1 second" })),
    Layer.catchTag("ServeError", (error) => Layer.effectDiscard(Effect.fail(listenError("metrics server", address, error))))
  )

/**
 * How long the program's end waits for the exporters' last flush (both at
 * once): Effect's default, 3 seconds, is time added after the report
 * whenever the collector does not answer.
 */
const shutdownTimeout = "1 second"

/** Sends traces and metrics to the collector at `url`, as OTLP JSON. */
export const otlpExporter = (url: string) => {
  const base = url.replace(/\/+$/, "")
  return Layer.mergeAll(
    OtlpTracer.layer({ url: `${base}/v1/traces`, resource, exportInterval: "1 second", shutdownTimeout }),
    OtlpMetrics.layer({ url: `${base}/v1/metrics`, resource, exportInterval: "5 seconds", shutdownTimeout })
  ).pipe(Layer.provide([OtlpSerialization.layerJson, FetchHttpClient.layer]))
}

/** The exporters the flags ask for, as one layer (empty when they ask for none). */
export const exporters = (config: Config) => {
  const layers: Array<Layer.Layer<never, ListenError>> = []
  if (Option.isSome(config.metrics)) {
    const address = listenAddress(config.metrics.value)
    if (address !== undefined) layers.push(prometheusServer(address))
  }
  if (Option.isSome(config.otlp)) layers.push(otlpExporter(config.otlp.value))
  return layers.length === 0 ? Layer.empty : Layer.mergeAll(...(layers as [Layer.Layer<never, ListenError>]))
}
