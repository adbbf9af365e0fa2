/**
 * A durable job's trace context, kept with the job in the store as a W3C
 * `traceparent` (`00-<trace id>-<span id>-<flags>`) inside its settings
 * text: the span that was current when the producer offered it. The worker
 * that claims it, in whichever process and however many attempts later,
 * makes it current again as an external span while it submits the job to
 * its in-memory pool, whose job span (`../internal/tracing.ts`) is then its
 * child. Effect's `HttpTraceContext` reads it, as it reads the header.
 *
 * Internal: not an entry point of the package.
 */
import * as Option from "effect/Option"
import * as Headers from "effect/http/Headers"
import * as HttpTraceContext from "effect/http/HttpTraceContext"
import type * as Tracer from "effect/Tracer"

/** `span` as a W3C `traceparent`. */
export const format = (span: Tracer.AnySpan): string =>
  `00-${span.traceId.padStart(32, "0")}-${span.spanId}-${span.sampled ? "01" : "00"}`

/** A `traceparent` as the external span it names, or `undefined` if it is not one. */
export const parse = (text: string): Tracer.ExternalSpan | undefined =>
  Option.getOrUndefined(HttpTraceContext.w3c(Headers.fromRecordUnsafe({ traceparent: text })))
