/**
 * A web page that shows any number of pools and durable queues as they run:
 * counts, throughput and failure rate over the last ten minutes, run-time
 * percentiles, the running jobs and the latest outcomes, and for a durable
 * queue its store's counts and dead letters (paged, 50 at a time), with
 * buttons to retry or delete them, to look a job up by id and to cancel
 * one, and the jobs waiting for their time.
 *
 * `layer` serves it on Effect's `HttpServer` (provide one, such as
 * `NodeHttpServer.layer`, bound to loopback); `routes` adds it to an
 * `HttpRouter` of your own. It samples: the pools' counters once a second,
 * their outcomes into bounded rings; the page polls one small snapshot, the
 * same size at 10,000 jobs/s as at one. A later page of dead letters and a
 * job looked up are read from the store when asked, at most 4 reads of a
 * queue's store at once.
 *
 * Actions that change a queue need the `token` given here, in the
 * `x-dashboard-token` header, and are refused from another site; without a
 * token, they are off. Reading needs no token: serve it on loopback (the
 * default of the program's `--dashboard`) with `hosts: loopbackHosts`, or
 * behind your own access control.
 *
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { createServer } from "node:http"
 * import { Dashboard, Pool } from "effect-worker-pool"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* Pool.make({ workers: 2, handler: () => Effect.sleep("10 millis") })
 *   const dashboard = Dashboard.layer({
 *     queues: [Dashboard.memory("thumbnails", pool)],
 *     token: "s3cret",
 *     hosts: Dashboard.loopbackHosts
 *   })
 *   const server = NodeHttpServer.layer(() => Object.assign(createServer(), Dashboard.serverLimits), {
 *     host: "127.0.0.1",
 *     port: 8080,
 *     // A page left open polls once a second: closing does not wait for it.
 *     gracefulShutdownTimeout: "1 second"
 *   })
 *   yield* Layer.launch(dashboard.pipe(Layer.provide(server))).pipe(Effect.forkScoped)
 * }))
 * ```
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import type * as HttpServer from "effect/http/HttpServer"
import * as HttpServerError from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Routes from "./dashboard/routes.ts"
import * as Sampler from "./dashboard/sampler.ts"
import * as Security from "./dashboard/security.ts"
import type * as Durable from "./Durable.ts"
import * as Checks from "./internal/options.ts"
import type * as Pool from "./Pool.ts"

/** One pool or durable queue the dashboard shows: made by `memory` or `durable`. */
export type Queue = Sampler.Source

/** How a `Queue` is paused from the page: an in-memory pool's own `pause`, `resume` and `isPaused`. */
export type Pausing = Sampler.Pausing

/** A periodic job declared on a durable queue, listed on its card (the store keeps no list of them). */
export type PeriodicSchedule = Sampler.PeriodicSchedule

/** What the page polls: one snapshot per queue, as of the last sample. */
export type Snapshot = Sampler.Snapshot

/** How much the dashboard keeps per queue; see `Options.limits`. */
export type Limits = Sampler.Limits

/** An in-memory pool, shown as `name`. */
export const memory = <A, B, E>(name: string, pool: Pool.WorkerPool<A, B, E>): Queue => ({
  name,
  kind: "memory",
  stats: pool.stats,
  running: pool.running,
  outcomes: pool.outcomes,
  admin: undefined,
  pausing: pool,
  periodic: []
})

/**
 * A durable pool, shown as `name` (its queue's name is a good one): this
 * process's counters, running jobs and outcomes, and the queue's counts and
 * dead letters in the store, across processes. `periodic` lists the
 * periodic jobs declared on it, to show their schedules.
 */
export const durable = <A, B, E>(
  name: string,
  pool: Durable.DurablePool<A, B, E>,
  options?: { readonly periodic?: ReadonlyArray<PeriodicSchedule> | undefined }
): Queue => ({
  name,
  kind: "durable",
  stats: pool.stats,
  running: pool.running,
  outcomes: pool.outcomes,
  admin: pool,
  periodic: options?.periodic ?? []
})

export interface Options {
  /** The pools and queues shown, in this order. Their names must differ. */
  readonly queues: ReadonlyArray<Queue>
  /**
   * The secret that actions (retry, delete, cancel) need, in the
   * `x-dashboard-token` header. Without one, actions are refused: the page
   * is read-only.
   */
  readonly token?: string | undefined
  /**
   * The host names the page may be reached by (the `Host` header, without
   * its port): a request naming another is refused, which stops a page on
   * another site from reading the dashboard by pointing its own name at
   * this address (DNS rebinding). Default: any. The program passes
   * `loopbackHosts` when it binds to loopback.
   */
  readonly hosts?: ReadonlyArray<string> | undefined
  /** How often the counters are sampled (the chart's step). Default 1 second. */
  readonly interval?: Duration.Input | undefined
  /** How much is kept per queue. Default: 600 samples (ten minutes), the last 1,000 run times, 50 outcomes, 50 dead letters, 100 running jobs, 50 waiting jobs. */
  readonly limits?: Partial<Limits> | undefined
}

/** A token for a dashboard started without one: 32 random bytes, URL-safe (the program uses it). */
export const generateToken: () => string = Security.generateToken

/** The names of loopback (`127.0.0.1`, `localhost`, `::1`), for `Options.hosts` on a dashboard bound there. */
export const loopbackHosts: ReadonlyArray<string> = Security.loopbackHosts

/**
 * Limits for the Node HTTP server that serves the dashboard
 * (`Object.assign(createServer(), Dashboard.serverLimits)`): a client that
 * sends requests on one connection without reading the answers gets at most
 * 100 of them before the connection is closed (without it Node keeps taking
 * such a connection's requests and holding their answers, and enough such
 * clients run the heap out), and at most 256 connections are open at once
 * (the page needs one).
 */
export const serverLimits = { maxRequestsPerSocket: 100, maxConnections: 256 } as const

/** The header actions carry the token in. */
export const tokenHeader: string = Security.tokenHeader

/** Whether `name` can be a segment of a URL's path, as its actions' URLs need. */
const isRoutable = (name: unknown): boolean => typeof name === "string" && name !== "" && name !== "." && name !== ".."

/** The most a limit may keep: a limit sizes what each tick reads and holds, per queue. */
export const maxLimit = 100_000

const limitNames = new Set(Object.keys(Sampler.defaultLimits))

/** `limits` checked: each an integer from 1 to `maxLimit`, no unknown name; the defaults for the others. */
const checkedLimits = (input: unknown): Limits => {
  if (input === undefined) return Sampler.defaultLimits
  const given = Checks.record("limits", input)
  Checks.refuseUnknown(given, limitNames, "Dashboard limits", {}, "limits")
  const limits: Record<string, number> = { ...Sampler.defaultLimits }
  for (const name of limitNames) {
    const value = Checks.field(given, name, `limits.${name}`)
    if (value === undefined) continue
    const limit = Checks.positiveInteger(`limits.${name}`, value)
    if (limit > maxLimit) Checks.refuse(`limits.${name}`, `must be at most ${maxLimit}, got ${limit}`)
    limits[name] = limit
  }
  return limits as unknown as Limits
}

/**
 * One of `queues`, checked: what `memory` and `durable` make, or an object
 * of the same shape: a name that can be a segment of its actions' path
 * (where a URL reads "." and ".." as steps, even escaped), the pool's
 * `stats` and `running` as effects, its `outcomes` as a stream, its
 * `admin`, if any, as a durable pool's, its `pausing` (its `pause`,
 * `resume` and `isPaused` effects), and its periodic jobs, if any, as a
 * list of names and schedules.
 */
const checkedQueue = (input: unknown, i: number): Queue => {
  const at = `queues[${i}]`
  const queue = Checks.record(at, input)
  const name: unknown = Checks.field(queue, "name", `${at}.name`)
  if (!isRoutable(name)) {
    Checks.refuse(`${at}.name`, `${Checks.describe(name)} cannot be a segment of a URL's path`)
  }
  Checks.must(`${at}.kind`, Checks.field(queue, "kind", `${at}.kind`), isKind, `"memory" or "durable"`)
  for (const effect of ["stats", "running"] as const) {
    Checks.must(`${at}.${effect}`, Checks.field(queue, effect, `${at}.${effect}`), Effect.isEffect, "an Effect")
  }
  Checks.must(`${at}.outcomes`, Checks.field(queue, "outcomes", `${at}.outcomes`), Stream.isStream, "a Stream")
  const admin = Checks.field(queue, "admin", `${at}.admin`)
  if (admin !== undefined) checkedAdmin(admin, `${at}.admin`)
  const pausing = Checks.field(queue, "pausing", `${at}.pausing`)
  // Without a pausing of its own, a durable queue is paused through its admin.
  if (pausing !== undefined) checkedPausing(pausing, `${at}.pausing`)
  else if (admin !== undefined) checkedPausing(admin, `${at}.admin`)
  const periodic = Checks.field(queue, "periodic", `${at}.periodic`)
  if (periodic !== undefined) {
    Checks.must(`${at}.periodic`, periodic, Array.isArray, "an array of { name, cron }").forEach((job: unknown, j: number) => {
      const where = `${at}.periodic[${j}]`
      const declared = Checks.record(where, job)
      Checks.nonEmptyString(`${where}.name`, Checks.field(declared, "name", `${where}.name`))
      Checks.nonEmptyString(`${where}.cron`, Checks.field(declared, "cron", `${where}.cron`))
    })
  }
  return queue as Queue
}

const isKind = (kind: unknown): kind is Queue["kind"] => kind === "memory" || kind === "durable"

/** A pausing: its `pause`, `resume` and `isPaused`, each an Effect. */
const checkedPausing = (input: unknown, at: string): void => {
  const pausing = Checks.record(at, input)
  for (const effect of ["pause", "resume", "isPaused"] as const) {
    Checks.must(`${at}.${effect}`, Checks.field(pausing, effect, `${at}.${effect}`), Effect.isEffect, "an Effect")
  }
}

/** A durable queue's admin, as far as the dashboard uses it: its counts, and the operations it lists and acts with. */
const checkedAdmin = (input: unknown, at: string): void => {
  const admin = Checks.record(at, input)
  Checks.must(`${at}.counts`, Checks.field(admin, "counts", `${at}.counts`), Effect.isEffect, "an Effect")
  for (const operation of ["deadLetters", "upcoming", "redrive", "remove", "cancel"] as const) {
    Checks.must(`${at}.${operation}`, Checks.field(admin, operation, `${at}.${operation}`), Checks.isFunction, "a function")
  }
}

/**
 * Checks the options. A wrong one is a programming error, so a defect (a
 * `TypeError` naming the option), raised as the layer is built: a sampler
 * with an interval of zero would spin, one of `NaN` limits could not start,
 * and a `hosts` or `token` of the wrong type would answer every request
 * with an error.
 */
const resolve = (options: Options) => {
  const checked = Checks.checked("options", () => {
    const given = Checks.record("options", options)
    const queues = Checks.must("queues", Checks.field(given, "queues", "queues"), Array.isArray, "an array").map(checkedQueue)
    const names = queues.map((queue) => queue.name)
    const clash = names.findIndex((name, i) => names.indexOf(name) !== i)
    if (clash !== -1) Checks.refuse("queues", `two queues are named ${JSON.stringify(names[clash])}`)
    const tokenInput = Checks.field(given, "token", "token")
    const token = tokenInput === undefined ? undefined : Checks.nonEmptyString("token", tokenInput)
    const hostsInput = Checks.field(given, "hosts", "hosts")
    const hosts = hostsInput === undefined
      ? undefined
      : Checks.must("hosts", hostsInput, Array.isArray, "an array of host names").map((host: unknown) =>
        Checks.nonEmptyString("hosts", host)
      )
    const interval = Checks.duration("interval", Checks.orDefault(Checks.field(given, "interval", "interval"), "1 second"), Checks.positive)
    if (!Duration.isFinite(interval)) Checks.refuse("interval", "must be finite")
    return { queues, token, hosts, interval, limits: checkedLimits(Checks.field(given, "limits", "limits")) }
  })
  if (Checks.isInvalid(checked)) throw new TypeError(`Dashboard: option ${checked.option} ${checked.reason}`)
  return checked
}

/**
 * The dashboard's routes, on the `HttpRouter` of the layer they are added
 * to, at `/` (the page), `/api/snapshot`, `/api/queues/:queue/dead-letters`,
 * `/api/queues/:queue/job` and
 * `/api/queues/:queue/:action`.
 * The sampling runs as long as the layer lives.
 */
export const routes = (options: Options): Layer.Layer<never, never, HttpRouter.HttpRouter> =>
  Layer.unwrap(Effect.map(Effect.sync(() => resolve(options)), routesOf))

/** The routes of options already checked, sampling as long as the layer lives. */
const routesOf = ({ hosts, queues, token, ...sampling }: ReturnType<typeof resolve>) =>
  Layer.unwrap(Effect.map(Sampler.start(queues, sampling), (sampler) => Routes.routes(sampler, { token, hosts })))

/**
 * The dashboard, served on the `HttpServer` of the context for as long as
 * the layer lives. Bind that server to loopback (`127.0.0.1`) unless the
 * network in front of it is trusted.
 */
export const layer = (options: Options): Layer.Layer<never, never, HttpServer.HttpServer> =>
  Layer.unwrap(Effect.map(Effect.sync(() => resolve(options)), (resolved) =>
    HttpRouter.serve(Layer.mergeAll(routesOf(resolved), catchAll(resolved.hosts), unreadablePaths(resolved.hosts)), {
      disableLogger: true,
      disableListenLog: true
    })))

/** On the dashboard's own server, anything its routes do not take, a wrong method included (`Routes.unrouted`). */
const catchAll = (hosts: ReadonlyArray<string> | undefined) => HttpRouter.add("*", "*", Routes.unrouted(hosts))

/**
 * A path the router cannot read (a broken escape, `%E0%A4%A`) finds no
 * route, not even the catch-all, and would get the router's bare 404: it is
 * answered as the catch-all answers.
 */
const unreadablePaths = (hosts: ReadonlyArray<string> | undefined) =>
  HttpRouter.middleware<{ handles: HttpServerError.HttpServerError }>()((served) =>
    Effect.catch(served, (error) =>
      error instanceof HttpServerError.HttpServerError && error.reason._tag === "RouteNotFound"
        ? Effect.flatMap(HttpServerRequest.HttpServerRequest, Routes.unrouted(hosts))
        : Effect.fail(error)), { global: true })
