/**
 * A handler module with schemas: it gets a `Square` (a class instance: its
 * payload was decoded), and answers an `Area` or fails with `TooBig`; a
 * square of side -1 snoozes, one of side -2 fails with a `PermanentError`,
 * errors its failure schema does not name.
 */
import { Effect } from "effect"
import { Durable, type Job } from "../../src/index.ts"
import { Area, Square, TooBig } from "./threadSchemas.ts"

export { schema } from "./threadSchemas.ts"

export const handler = (job: Job.Job<Square>): Effect.Effect<Area, TooBig | Durable.Snooze | Durable.PermanentError> => {
  const square = job.payload
  if (!(square instanceof Square)) return Effect.die(new Error("the payload reached the thread undecoded"))
  if (square.side === -1) return Durable.snooze("1 hour")
  if (square.side === -2) return Effect.fail(new Durable.PermanentError({ reason: "negative" }))
  return square.side > 10
    ? Effect.fail(new TooBig({ side: square.side }))
    : Effect.succeed(new Area({ value: square.area, bytes: square.bytes.byteLength }))
}
