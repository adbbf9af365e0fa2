/**
 * The dashboard's HTTP routes: the page and its assets, the snapshot the
 * page polls, a durable queue's later pages of dead letters and of waiting
 * jobs and a job looked up by id, and the actions on a durable queue
 * (redrive, remove, cancel).
 *
 * Every action is checked (`security.ts`), its body read with a size limit
 * and checked field by field; bad input gets a 4xx JSON error saying what is
 * wrong, never a crash. Each action, done, refused, or of unknown outcome
 * (the store timed out, or the client went away once it was sent), is
 * logged through Effect's logger with what it was, on which queue and ids,
 * and from where.
 *
 * Internal: not an entry point of the package.
 */
import * as ByteSize from "effect/ByteSize"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import type * as Durable from "../Durable.ts"
import { maxJobIdBytes, unkeepableText } from "../internal/options.ts"
import * as Page from "./page.ts"
import {
  deadLettersAfter,
  failureText,
  type ListingPage,
  lookUp,
  pausingOf,
  type QueueState,
  type Sampler,
  type Snapshot,
  upcomingAfter
} from "./sampler.ts"
import * as Security from "./security.ts"

/** The most ids one action takes. */
export const maxIds = 1_000

/** Headers on every answer: no framing, no sniffing, scripts and styles from the page's own origin only. */
const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  "cache-control": "no-store"
}

const json = (body: unknown, status = 200) => HttpServerResponse.jsonUnsafe(body, { status, headers: securityHeaders })

const asset = (body: string, contentType: string) =>
  HttpServerResponse.text(body, { contentType, headers: securityHeaders })

/** What an action asks for, once its body has been checked. */
type Action =
  | { readonly _tag: "redrive" | "remove"; readonly ids: ReadonlyArray<string> | "all" }
  | { readonly _tag: "cancel"; readonly id: string }
  | { readonly _tag: "pause" | "resume" }
  | { readonly _tag: "cancelWaiting" }

/**
 * A request refused: the answer's status and what to say; `unknown` when
 * the store failed in a way (a timeout, a lost connection) that leaves open
 * whether it did the action: not refused then, and not said to be.
 */
class Refused {
  readonly status: number
  readonly error: string
  readonly unknown: boolean
  constructor(status: number, error: string, unknown = false) {
    this.status = status
    this.error = error
    this.unknown = unknown
  }
}

/** A job id as `submit` takes it: text every store can keep (others are no job's). */
const isId = (value: unknown): value is string =>
  typeof value === "string" && unkeepableText(value, maxJobIdBytes) === undefined

const anId = `a string every store can keep (at most ${maxJobIdBytes} bytes of UTF-8, no NUL, no half surrogate pair)`

/** The action `name` asks for with `body` (parsed JSON), or why the body is wrong. */
export const parseAction = (name: string, body: unknown): Action | Refused => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return new Refused(400, "the body must be a JSON object")
  }
  const fields = body as Record<string, unknown>
  if (name === "cancel") {
    return isId(fields.id)
      ? { _tag: "cancel", id: fields.id }
      : new Refused(400, `"id" must be a job id: ${anId}`)
  }
  if (name === "pause" || name === "resume") return { _tag: name }
  if (name === "cancel-waiting") return { _tag: "cancelWaiting" }
  if (name !== "redrive" && name !== "remove") return new Refused(404, `no action ${JSON.stringify(name)}`)
  // "All" must be said: an empty or forgotten list must never mean every dead letter.
  if (fields.all === true && fields.ids === undefined) return { _tag: name, ids: "all" }
  const ids = fields.ids
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > maxIds || !ids.every(isId)) {
    return new Refused(
      400,
      `give "ids": an array of 1 to ${maxIds} job ids (each ${anId}), or "all": true`
    )
  }
  return { _tag: name, ids }
}

/** Runs a checked action on the queue's store: the answer's body. */
const perform = (queue: QueueState, action: Action): Effect.Effect<unknown, Refused> => {
  if (action._tag === "pause" || action._tag === "resume") {
    const pausing = pausingOf(queue.source)
    if (pausing === undefined) return Effect.fail(new Refused(400, `${queue.source.name} cannot be paused: it has no pausing`))
    // `changed`: false when it was so already (another operator, another process, a pool shut down);
    // `paused` read back after it, so that it says what is.
    const done = Effect.zip(action._tag === "pause" ? pausing.pause : pausing.resume, pausing.isPaused)
    return Effect.map(Effect.catch(done, failed), ([changed, paused]) => ({ paused, changed }))
  }
  const admin = queue.source.admin
  if (admin === undefined) {
    return Effect.fail(new Refused(400, `${queue.source.name} is an in-memory pool: it has no store to act on (only pause and resume)`))
  }
  switch (action._tag) {
    case "redrive":
    case "remove": {
      const run = action._tag === "redrive" ? admin.redrive : admin.remove
      const done = action.ids === "all" ? run() : run(action.ids)
      return Effect.map(Effect.catch(done, failed), (count) => ({ [action._tag === "redrive" ? "redriven" : "removed"]: count }))
    }
    case "cancelWaiting":
      // An admin built by hand before `cancelWaiting` came has none: refused, not a request left unanswered.
      return Effect.isEffect(admin.cancelWaiting)
        ? Effect.map(Effect.catch(admin.cancelWaiting, failed), (cancelled) => ({ cancelled }))
        : Effect.fail(new Refused(400, `${queue.source.name} cannot cancel its waiting jobs: its admin has no cancelWaiting`))
    case "cancel":
      return Effect.flatMap(Effect.catch(admin.cancel(action.id), failed), (found) =>
        found === undefined
          ? Effect.fail(new Refused(404, `no job ${JSON.stringify(action.id)} in queue ${queue.source.name}`))
          : Effect.succeed({ found }))
  }
}

/** A store's failure as the answer's status: 400 for an argument refused, 503 for the store. */
const failed = (error: { readonly _tag: string; readonly message: string; readonly retryable?: boolean }) =>
  Effect.fail(
    new Refused(error._tag === "PoolConfigError" ? 400 : 503, error.message, error._tag === "StoreError" && error.retryable === true)
  )

/**
 * A later page of a listing: `GET /api/queues/:queue/dead-letters?after=<cursor>`
 * (`{ deadLetters, more }`) or `GET /api/queues/:queue/upcoming?after=<cursor>`
 * (`{ upcoming, more }`), the page after a listed job's cursor (the snapshot
 * lists the first). Read-only, as the snapshot is: no token.
 */
const pageRoute = <A>(
  reads: Reads,
  listed: string,
  field: "deadLetters" | "upcoming",
  after: (queue: QueueState, admin: Durable.Admin, after: string) => Effect.Effect<ListingPage<A>, unknown>
) =>
(queue: QueueState, admin: Durable.Admin) =>
  Effect.flatMap(HttpServerRequest.ParsedSearchParams, (params) =>
    typeof params.after !== "string"
      ? Effect.succeed(json({ error: `give "after": the cursor of one of the ${listed}` }, 400))
      : reads.run(queue.source.name, after(queue, admin, params.after), ({ items, more }) => json({ [field]: items, more })))

/**
 * `GET /api/queues/:queue/job?id=<id>`: the job `id` of a durable queue as
 * `lookup` tells it (`{ job }`), or a 404. Read-only, as the snapshot is.
 */
const jobLookUp = (reads: Reads) => (queue: QueueState, admin: Durable.Admin) =>
  Effect.flatMap(HttpServerRequest.ParsedSearchParams, ({ id }) => {
    if (!isId(id)) return Effect.succeed(json({ error: `give "id": ${anId}` }, 400))
    const name = queue.source.name
    return reads.run(name, lookUp(admin, id), (job) =>
      job === undefined ? json({ error: `no job ${JSON.stringify(id)} in queue ${name}` }, 404) : json({ job }))
  })

/** A read route of the durable queue its path names: a 404 for no such queue, a 400 for an in-memory pool. */
const ofDurableQueue = (
  sampler: Sampler,
  read: (queue: QueueState, admin: Durable.Admin) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.ParsedSearchParams>
) =>
() =>
  Effect.flatMap(HttpRouter.params, (params) => {
    const name = params.queue ?? ""
    const queue = sampler.queues.find((q) => q.source.name === name)
    if (queue === undefined) return Effect.succeed(json({ error: `no queue ${JSON.stringify(name)}` }, 404))
    const admin = queue.source.admin
    return admin === undefined
      ? Effect.succeed(json({ error: `${name} is an in-memory pool: it has no store to read` }, 400))
      : read(queue, admin)
  })

/** The most reads of one queue's store that the page's requests run at once: past it, a 503 at once. */
export const readsAtOnce = 4

/**
 * The reads of the stores that requests ask for (a later page, a job),
 * counted per queue: unlike the snapshot, each is a store round trip, and
 * a client that sends many at once must not have them all run.
 */
interface Reads {
  readonly run: <A>(
    queue: string,
    read: Effect.Effect<A, unknown>,
    answer: (value: A) => HttpServerResponse.HttpServerResponse
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}

const makeReads = (): Reads => {
  const running = new Map<string, number>()
  const done = (queue: string) => {
    const left = running.get(queue)! - 1
    if (left === 0) running.delete(queue)
    else running.set(queue, left)
  }
  return {
    run: (queue, read, answer) =>
      Effect.suspend(() => {
        const n = running.get(queue) ?? 0
        if (n >= readsAtOnce) {
          return Effect.succeed(json({ error: `${readsAtOnce} reads of ${queue}'s store are running: try again` }, 503))
        }
        running.set(queue, n + 1)
        return Effect.ensuring(answered(queue, read, answer), Effect.sync(() => done(queue)))
      })
  }
}

/** `answer` of what `read` gave; a bad argument a 400; the store's failure, silence or defect a 503, logged. */
const answered = <A>(
  queue: string,
  read: Effect.Effect<A, unknown>,
  answer: (value: A) => HttpServerResponse.HttpServerResponse
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.flatMap(Effect.exit(read), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.succeed(answer(exit.value))
    const error = failureText(exit.cause)
    const refused = (Cause.squash(exit.cause) as { readonly _tag?: unknown })?._tag === "PoolConfigError"
    const status = refused ? 400 : 503
    return Effect.as(
      Effect.logWarning("dashboard read failed").pipe(Effect.annotateLogs({ queue, status, error })),
      json({ error }, status)
    )
  })

/** The body is larger than an action's can be. */
const tooLarge = () => new Refused(413, `the body is larger than ${Security.maxBodyBytes} bytes`)

/**
 * The body, read with a size limit, as JSON. One that declares itself too
 * large is refused before any of it is read: a client need not send (nor
 * the server wait for) the bytes to be told.
 */
const readJson = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<unknown, Refused> =>
  Number(request.headers["content-length"]) > Security.maxBodyBytes ? Effect.fail(tooLarge()) : request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(Security.maxBodyBytes)),
    Effect.mapError((error) =>
      String((error as { readonly reason?: { readonly reason?: string } }).reason?.reason) === "BodyTooLarge"
        ? tooLarge()
        : new Refused(400, "the body could not be read")
    ),
    Effect.flatMap((text) =>
      Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => new Refused(400, "the body is not JSON") })
    )
  )

/** What an action's log line says of its ids: the list, cut short, or "all" ("-" for none, or an action on the queue). */
const idsOf = (action: Action | undefined): string => {
  if (action === undefined || !("ids" in action)) return action?._tag === "cancel" ? action.id : "-"
  return action.ids === "all" ? "all" : action.ids.slice(0, 20).join(",") + (action.ids.length > 20 ? `,… (${action.ids.length})` : "")
}

/** One action: checked, read, done, logged; always an answer. */
const act = (sampler: Sampler, token: string | undefined) =>
(request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const params = yield* HttpRouter.params
    const queueName = params.queue ?? ""
    const name = params.action ?? ""
    const who = {
      remote: Option.getOrElse(request.remoteAddress, () => "unknown"),
      userAgent: request.headers["user-agent"] ?? "-"
    }
    let action: Action | undefined
    const answer = yield* Effect.gen(function*() {
      const refusal = Security.checkAction(token, request.headers)
      if (refusal !== undefined) return yield* Effect.fail(new Refused(refusal.status, refusal.error))
      const queue = sampler.queues.find((q) => q.source.name === queueName)
      if (queue === undefined) return yield* Effect.fail(new Refused(404, `no queue ${JSON.stringify(queueName)}`))
      const parsed = parseAction(name, yield* readJson(request))
      if (parsed instanceof Refused) return yield* Effect.fail(parsed)
      action = parsed
      // Sent, the action may be done though its client goes away: it is logged all the same.
      return yield* perform(queue, parsed).pipe(
        Effect.onInterrupt(() =>
          Effect.logWarning("dashboard action interrupted; it may have been done").pipe(
            Effect.annotateLogs({ action: name, queue: queueName, ids: idsOf(parsed), ...who })
          )
        )
      )
    }).pipe(Effect.result)
    const line = { action: name, queue: queueName, ids: idsOf(action), ...who }
    if (answer._tag === "Success") {
      yield* Effect.logInfo("dashboard action").pipe(Effect.annotateLogs({ ...line, result: JSON.stringify(answer.success) }))
      return json(answer.success)
    }
    const { error, status, unknown } = answer.failure
    if (unknown) {
      yield* Effect.logWarning("dashboard action failed; it may have been done").pipe(Effect.annotateLogs({ ...line, status, error }))
      return json({ error, outcome: "unknown: look again before retrying" }, status)
    }
    yield* Effect.logWarning("dashboard action refused").pipe(Effect.annotateLogs({ ...line, status, error }))
    return json({ error }, status)
  })

/** Answers only a request whose `Host` is allowed (`security.ts`); any other gets a 403 JSON error. */
const forHosts = (hosts: ReadonlyArray<string> | undefined) =>
<E, R>(
  handler: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
(request: HttpServerRequest.HttpServerRequest) =>
  Security.hostAllowed(hosts, request.headers["host"])
    ? handler(request)
    : Effect.succeed(json({ error: `host ${JSON.stringify(request.headers["host"] ?? "")} is not one this dashboard answers` }, 403))

/** A request's path, without its query, cut short: it is said back in an error. */
const pathOf = (url: string): string => {
  const path = url.split("?", 1)[0]!
  return path.length > 200 ? `${path.slice(0, 200)}…` : path
}

/**
 * The answer of the dashboard's own server (`Dashboard.layer`) to a request
 * no route takes, a wrong method or a path the router cannot even read (a
 * broken escape such as `%E0%A4%A`) included: a 404 JSON error with the
 * headers of every answer (a 403 for a `Host` not allowed). Not part of
 * `routes`: on an application's router, what its own routes do not take is
 * the application's to answer.
 */
export const unrouted = (hosts: ReadonlyArray<string> | undefined) =>
  forHosts(hosts)((request) => Effect.succeed(json({ error: `no ${request.method} ${pathOf(request.url)} here` }, 404)))

/** What the routes need to know beyond the sampler. */
export interface Settings {
  /** The token actions need; `undefined`: actions are off. */
  readonly token: string | undefined
  /** The host names requests may name; `undefined`: any. */
  readonly hosts: ReadonlyArray<string> | undefined
}

/**
 * The snapshot's answer, made once per tick (until a queue's snapshot
 * changes) and the same bytes for every request meanwhile: a client that
 * pipelines requests and never reads the answers would otherwise have the
 * server hold a fresh copy of the whole document for each (measured: about
 * 460 MB a connection after 2,000 requests, for 13 queues).
 */
const snapshotAnswers = (actions: boolean) => {
  let last: { readonly queues: ReadonlyArray<unknown>; readonly answer: HttpServerResponse.HttpServerResponse } | undefined
  return (snapshot: Snapshot): HttpServerResponse.HttpServerResponse => {
    if (last === undefined || !sameItems(last.queues, snapshot.queues)) {
      last = { queues: snapshot.queues, answer: json({ ...snapshot, actions }) }
    }
    return last.answer
  }
}

const sameItems = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): boolean =>
  a.length === b.length && a.every((item, i) => item === b[i])

/** The routes, on the router of the layer they are added to. */
export const routes = (sampler: Sampler, { hosts, token }: Settings): Layer.Layer<never, never, HttpRouter.HttpRouter> => {
  const guarded = forHosts(hosts)
  const answerOf = snapshotAnswers(token !== undefined)
  const constant = (response: HttpServerResponse.HttpServerResponse) => guarded(() => Effect.succeed(response))
  const reads = makeReads()
  return Layer.mergeAll(
    HttpRouter.add("GET", "/", constant(asset(Page.html, "text/html; charset=utf-8"))),
    HttpRouter.add("GET", "/dashboard.js", constant(asset(Page.script, "text/javascript; charset=utf-8"))),
    HttpRouter.add("GET", "/dashboard.css", constant(asset(Page.style, "text/css; charset=utf-8"))),
    HttpRouter.add(
      "GET",
      "/api/snapshot",
      guarded(() => Effect.map(sampler.snapshot, answerOf))
    ),
    HttpRouter.add("GET", "/api/queues/:queue/dead-letters", guarded(ofDurableQueue(sampler, pageRoute(reads, "dead letters", "deadLetters", deadLettersAfter)))),
    HttpRouter.add("GET", "/api/queues/:queue/upcoming", guarded(ofDurableQueue(sampler, pageRoute(reads, "waiting jobs", "upcoming", upcomingAfter)))),
    HttpRouter.add("GET", "/api/queues/:queue/job", guarded(ofDurableQueue(sampler, jobLookUp(reads)))),
    HttpRouter.add("POST", "/api/queues/:queue/:action", guarded(act(sampler, token)))
  )
}
