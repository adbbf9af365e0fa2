/**
 * A job's span: each job submitted while a span is current runs in a span
 * of its own, `effect-worker-pool.job <pool name>`, a child of that span,
 * with the job's id and attempt, the worker that ran it and how it ended as
 * attributes. So a trace goes from what submitted the job (an HTTP request,
 * say) through the queue to the handler's own spans, in another fiber.
 *
 * The parent is read at submit from the submitting fiber's cache
 * (`Fiber.getCurrent()`), a few property reads: no Effect, no allocation.
 * A job submitted with no span current gets no span of its own, and
 * neither does one submitted under Effect's default tracer, which keeps
 * spans nowhere (as the store boundary skips its spans there): a span per
 * job costs about seven times a no-op job's own work, worth paying only
 * when a tracer receives it. A durable job's
 * parent is the span its producer had, stored with the job (`traceparent.ts`)
 * and made current again (as an external span) when this process submits
 * it to its in-memory pool.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Tracer from "effect/Tracer"
import type * as Job from "../Job.ts"
import type { PoolState } from "./state.ts"

/**
 * The span current in the fiber running now, if any and if a tracer other
 * than Effect's default one is installed: read at submit, the parent of the
 * job's span.
 */
export const currentSpan = (): Tracer.AnySpan | undefined => {
  const cache = Fiber.getCurrent()?.cache
  if (cache === undefined || cache.span === undefined) return undefined
  const tracer = cache.tracer
  return tracer === undefined || tracer === Tracer.nativeTracer ? undefined : cache.span
}

/** The name of the spans of a pool's jobs. */
export const spanName = (pool: string): string => `effect-worker-pool.job ${pool}`

/** How a job's effect ended, for its span's `job.outcome`. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (exit._tag === "Success") return "succeeded"
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail") return "failed"
    if (reason._tag === "Die") return "died"
  }
  return "interrupted"
}

/** `effect`, the job's handler, in the job's span: a child of `parent`. */
export const inJobSpan = <A, B, E, R, X, Y>(
  state: PoolState<A, B, E, R>,
  effect: Effect.Effect<X, Y, R>,
  job: Job.Job<A>,
  parent: Tracer.AnySpan
): Effect.Effect<X, Y, R> =>
  Effect.withSpan(
    Effect.onExit(effect, (exit) => Effect.annotateCurrentSpan("job.outcome", outcomeOf(exit))),
    state.settings.spanName,
    {
      parent,
      kind: "consumer",
      captureStackTrace: false,
      attributes: {
        "job.id": job.id,
        "job.attempt": job.attempt,
        // Called in the worker's step: the current fiber is the worker's.
        "job.worker": Fiber.getCurrent()?.getRef(state.settings.workerId),
        "pool.name": state.settings.name
      }
    }
  )
