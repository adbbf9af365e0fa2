/**
 * A handler module with schemas: it gets a `Square` (a class instance: its
 * payload was decoded), and answers an `Area` or fails with `TooBig`.
 */
import { Effect } from "effect"
import type { Job } from "../../src/index.ts"
import { Area, Square, TooBig } from "./threadSchemas.ts"

export { schema } from "./threadSchemas.ts"

export const handler = (job: Job.Job<Square>): Effect.Effect<Area, TooBig> => {
  const square = job.payload
  if (!(square instanceof Square)) return Effect.die(new Error("the payload reached the thread undecoded"))
  return square.side > 10
    ? Effect.fail(new TooBig({ side: square.side }))
    : Effect.succeed(new Area({ value: square.area, bytes: square.bytes.byteLength }))
}
