/**
 * Races between the pool's fibers and the scheduler. A fiber yields to the
 * scheduler every `MaxOpsBeforeYield` operations, so an interruption can land
 * between any two steps of a fiber. These tests sweep the point where the
 * budget runs out (by the number of operations done before), so that every
 * window is hit, and check that no job is lost or runs against its caller's
 * will. No time passes: everything runs on the TestClock's zero.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Scheduler } from "effect"
import * as Backlog from "../src/internal/backlog.ts"
import * as Worker from "../src/internal/worker.ts"
import { Pool } from "../src/index.ts"
import { settle } from "./support/workload.ts"

/** An effect of `n` trivial operations: moves where a fiber's operation budget runs out. */
const busy = (n: number): Effect.Effect<void> => {
  let effect: Effect.Effect<void> = Effect.void
  for (let i = 0; i < n; i++) effect = Effect.andThen(effect, Effect.void)
  return effect
}

describe("races", () => {
  it.effect("a worker loop interrupted at any point has run, or handed back, every item it took", () =>
    Effect.gen(function*() {
      for (let ops = 4; ops <= 16; ops++) {
        for (let yields = 0; yields < 12; yields++) {
          const backlog = Backlog.make<number>(100)
          for (let n = 0; n < 50; n++) backlog.offer(n)
          const ran: Array<number> = []
          const handedBack: Array<number> = []
          const loop = yield* Effect.forkChild(
            Worker.loop(backlog, {
              // An item takes a step, so that the interruption can land inside one.
              run: () => Effect.yieldNow,
              succeeded: (item) => void ran.push(item),
              failed: () => Effect.die("no item fails here"),
              interrupted: (item) => Effect.sync(() => void handedBack.push(item))
            }, { item: undefined }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, ops)),
            { startImmediately: true }
          )
          for (let k = 0; k < yields; k++) yield* Effect.yieldNow
          yield* Fiber.interrupt(loop)
          const left = backlog.size()
          assert.isAtMost(handedBack.length, 1, `ops=${ops} yields=${yields}: more than one item in hand`)
          assert.strictEqual(
            ran.length + handedBack.length + left,
            50,
            `ops=${ops} yields=${yields}: an item was taken but neither run nor handed back`
          )
        }
      }
    }))


  it.effect("a worker interrupted by the deadline right after it took a job does not drop it", () =>
    Effect.gen(function*() {
      for (let steps = 0; steps <= 80; steps++) {
        for (let yields = 1; yields <= 3; yields++) {
          yield* Effect.scoped(Effect.gen(function*() {
            const work = busy(steps)
            const pool = yield* Pool.make({ workers: 1, capacity: 1_000, handler: () => work })
            const callers: Array<Fiber.Fiber<unknown, unknown>> = []
            for (let n = 0; n < 300; n++) {
              if (n % 3 === 0) yield* pool.submit(n)
              else callers.push(yield* Effect.forkChild(Effect.exit(pool.run(n)), { startImmediately: true }))
            }
            for (let k = 0; k < yields; k++) yield* Effect.yieldNow
            const report = yield* pool.shutdown({ timeout: 0 })
            yield* settle
            const stats = yield* pool.stats
            const ended = report.succeeded + report.failed + report.died + report.cancelled +
              report.interrupted.length + report.abandoned.length
            assert.strictEqual(ended, stats.submitted, `steps=${steps} yields=${yields}: a job was lost`)
            const waiting = callers.filter((caller) => caller.pollUnsafe() === undefined).length
            assert.strictEqual(waiting, 0, `steps=${steps} yields=${yields}: run callers never answered`)
          }))
        }
      }
    }))

  it.effect("a run caller interrupted at any moment cancels its job, whenever the interruption lands", () =>
    Effect.gen(function*() {
      for (let steps = 0; steps <= 80; steps++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const ran: Array<string> = []
          const pool = yield* Pool.make({
            workers: 1,
            handler: (job: { readonly id: string }) => Effect.sync(() => ran.push(job.id))
          })
          const caller = yield* Effect.forkChild(Effect.andThen(busy(steps), pool.run({ id: "x" })))
          yield* Effect.yieldNow
          yield* Fiber.interrupt(caller)
          yield* settle
          const stats = yield* pool.stats
          const callerInterrupted = caller.pollUnsafe()?._tag === "Failure"
          // The caller went away before its result: the job must not have run uncancelled.
          assert.isFalse(
            callerInterrupted && ran.length > 0 && stats.cancelled === 0,
            `steps=${steps}: the job ran although its caller was interrupted`
          )
          assert.strictEqual(stats.submitted, stats.succeeded + stats.cancelled, `steps=${steps}`)
        }))
      }
    }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, 64)))

  it.effect("a submit refused by shutdown is never accepted, even when a refused caller's continuation frees room", () =>
    Effect.gen(function*() {
      // Refusing a waiting submit resumes its caller inline. Here the first
      // refused caller opens the gate of the running job, which resumes the
      // worker inline too: the worker ends that job, takes the next, and so
      // frees room while the other waiters are still being refused.
      for (let ops = 8; ops <= 64; ops += 4) {
        for (let steps = 0; steps <= 24; steps += 2) {
          yield* Effect.scoped(Effect.gen(function*() {
            const gate = yield* Deferred.make<void>()
            const started: Array<string> = []
            const pool = yield* Pool.make({
              workers: 1,
              capacity: 1,
              handler: (job: { readonly id: string }) =>
                Effect.andThen(Effect.sync(() => started.push(job.id)), job.id === "gated" ? Deferred.await(gate) : Effect.void)
            })
            yield* pool.submit({ id: "gated" }, { id: "gated" })
            yield* settle
            yield* pool.submit({ id: "queued" }, { id: "queued" })
            const opener = yield* Effect.forkChild(
              pool.submit({ id: "opener" }, { id: "opener" }).pipe(
                Effect.catchTag("PoolClosedError", (error) =>
                  Effect.andThen(busy(steps), Effect.andThen(Deferred.succeed(gate, undefined), Effect.fail(error))))
              ),
              { startImmediately: true }
            )
            const late: Array<Fiber.Fiber<unknown, unknown>> = []
            for (let n = 0; n < 3; n++) {
              late.push(yield* Effect.forkChild(pool.submit({ id: `late-${n}` }, { id: `late-${n}` }), { startImmediately: true }))
            }
            const report = yield* pool.shutdown({ backlog: "drain" })
            yield* settle
            const where = `ops=${ops} steps=${steps}`
            for (const caller of [opener, ...late]) {
              const exit = caller.pollUnsafe()
              assert.isTrue(
                exit !== undefined && exit._tag === "Failure",
                `${where}: a submit waiting when shutdown began was not refused`
              )
            }
            assert.deepStrictEqual(started, ["gated", "queued"], `${where}: a refused job ran`)
            assert.strictEqual((yield* pool.stats).submitted, 2, `${where}: a refused job was accepted`)
            assert.strictEqual(report.succeeded, 2, where)
          }).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, ops)))
        }
      }
    }))
})

