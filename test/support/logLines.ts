/**
 * A logger that keeps every line a test's effect logs, with its level and
 * annotations, to assert on what the pool and the stores say.
 */
import { Logger, References } from "effect"

/** One logged line. */
export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** The lines, filled as they are logged, and the layer that installs the logger. */
export const capture = () => {
  const lines: Array<Line> = []
  const layer = Logger.layer([Logger.make((options) => {
    lines.push({
      level: options.logLevel,
      message: Array.isArray(options.message) ? options.message.join(" ") : String(options.message),
      annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
    })
  })])
  return { lines, layer }
}
