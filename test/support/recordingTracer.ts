/**
 * A tracer that keeps every span it makes, for tests that follow a trace:
 * Effect's own `NativeSpan`s, recorded as they start.
 */
import { Effect, Option, Tracer } from "effect"

export interface Recorded {
  readonly spans: Array<Tracer.NativeSpan>
  readonly tracer: Tracer.Tracer
  /** The recorded spans named `name`. */
  readonly named: (name: string) => Array<Tracer.NativeSpan>
}

export const recordingTracer = (): Recorded => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer, named: (name) => spans.filter((span) => span.name === name) }
}

/** The span id of `span`'s parent, if it has one. */
export const parentId = (span: Tracer.Span): string | undefined => Option.getOrUndefined(span.parent)?.spanId

/** An attribute of a recorded span. */
export const attribute = (span: Tracer.NativeSpan, key: string): unknown => span.attributes.get(key)

/** `effect` with `recorded`'s tracer installed. */
export const traced = <A, E, R>(recorded: Recorded, effect: Effect.Effect<A, E, R>) =>
  Effect.withTracer(effect, recorded.tracer)
