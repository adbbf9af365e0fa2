/**
 * The pool as the textbook pattern would write it, the obvious way: a
 * `Queue.bounded(capacity)`, N fibers forked in a scope that each loop
 * `Queue.take` then the handler (`Effect.forever`, with its default yield per
 * iteration), a producer that `Queue.offer`s (suspending while full) and then
 * `Queue.end`s, and a join on the fibers. It is the baseline the pool's extra
 * guarantees are paid against.
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type { Workload } from "../workload.ts"
import type { Contender } from "./contender.ts"

const program = (workload: Workload) =>
  Effect.scoped(Effect.gen(function*() {
    const queue = yield* Queue.bounded<number, Cause.Done>(workload.capacity)
    const worker = Queue.take(queue).pipe(
      Effect.andThen(workload.job.effect),
      Effect.forever,
      Effect.catchTag("Done", () => Effect.void)
    )
    const fibers: Array<Fiber.Fiber<void>> = []
    for (let i = 0; i < workload.workers; i++) fibers.push(yield* Effect.forkScoped(worker))
    yield* Effect.forEach(workload.items, (item) => Queue.offer(queue, item), { discard: true })
    yield* Queue.end(queue)
    yield* Fiber.joinAll(fibers)
  }))

export const queueFibers: Contender = {
  name: "Queue.bounded + N fibers",
  note: "bounded: `Queue.offer` suspends while full; `Effect.forever` yields once per job (its default)",
  run: (workload) => Effect.runPromise(program(workload))
}
