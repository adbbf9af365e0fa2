/**
 * The settler on its own, on the memory store under the TestClock: a retry
 * or a burial is counted and logged as such only once the store took it
 * (one whose lease was no longer held is counted as a lease lost; one given
 * up on, or whose answer was lost, nowhere); an ending the pool stopped
 * before still logs its failure; and what it does when settling a batch
 * dies, which nothing it runs is meant to do (here, a metrics counter that
 * throws stands in for such a bug).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Schedule, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Leases from "../src/durable/leases.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { DurableMetrics } from "../src/durable/metrics.ts"
import * as Settler from "../src/durable/settler.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import { capture } from "./support/logLines.ts"
import { settle } from "./support/workload.ts"

const minute = Duration.minutes(1)

/** Counters that count what the settler adds to them. */
const counting = () => {
  const counted = { retried: 0, deadLettered: 0, retryNotTaken: 0, buryNotTaken: 0, renewalLost: 0 }
  const counter = (name: keyof typeof counted) => ({ updateUnsafe: (n: number) => counted[name] += n })
  const metrics = {
    retried: counter("retried"),
    deadLettered: counter("deadLettered"),
    leasesLost: { renewal: counter("renewalLost"), retry: counter("retryNotTaken"), bury: counter("buryNotTaken") }
  } as unknown as DurableMetrics
  return { counted, metrics }
}

/**
 * Two jobs claimed on `store` by a settler's book, one ended with a retry
 * and one with a burial once `before` has run, settled; the lines logged
 * and what the counters counted.
 */
const settled = (
  store: Store,
  before: (claimed: ReadonlyArray<{ id: string; token: string }>) => Effect.Effect<void, StoreError>,
  elapse = 0
) => {
  const { layer, lines } = capture()
  const { counted, metrics } = counting()
  return Effect.scoped(Effect.gen(function*() {
    yield* store.offer("q", [{ id: "a", payload: 1 }, { id: "b", payload: 2 }])
    const claimed = yield* store.claim("q", 2, Duration.seconds(1))
    const book = yield* Leases.make({ capacity: 2, maxAttempts: 3, retryable: () => true })
    yield* Settler.start({ store, queue: "q", retry: Schedule.spaced("1 second"), book, metrics }, yield* Scope.make())
    yield* before(claimed)
    Leases.endUnheld(book, { id: "a", token: claimed[0]!.token }, Leases.retry(1, "Boom: a"))
    Leases.endUnheld(book, { id: "b", token: claimed[1]!.token }, Leases.bury("Boom: b", 3))
    yield* settle
    // The store's failures are tried again after the backoff's delays.
    for (let t = 0; t < elapse; t += 100) yield* Effect.andThen(TestClock.adjust(100), settle)
    return { lines: lines.map(({ annotations, level, message }) => ({ level, message, annotations })), counted }
  })).pipe(Effect.provide(layer))
}

describe("the settler", () => {
  it.effect("a batch whose settling dies is left to its leases (no longer renewed, logged as an error); the next batch is settled", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.offer("q", [{ id: "a", payload: 1 }, { id: "b", payload: 2 }])
      const [a, b] = yield* store.claim("q", 2, minute)
      const book = yield* Leases.make({ capacity: 2, maxAttempts: 3, retryable: () => true })
      const bug = () => {
        throw new Error("a bug in counting")
      }
      const metrics = { retried: { updateUnsafe: bug }, deadLettered: { updateUnsafe: bug } } as unknown as DurableMetrics
      const scope = yield* Scope.make()
      yield* Settler.start({ store, queue: "q", retry: Schedule.spaced("1 second"), book, metrics }, scope)
      Leases.endUnheld(book, { id: a!.id, token: a!.token }, Leases.retry(1, "failed"))
      yield* settle
      assert.deepStrictEqual(Leases.toRenew(book), [], "the batch is no longer renewed")
      const errors = lines.filter((line) => line.level === "Error")
      assert.deepStrictEqual(errors.map(({ annotations, message }) => [message, annotations["jobIds"], annotations["queue"]]), [
        ["settling jobs failed; they run again once their leases run out", ["a"], "q"]
      ])
      assert.include(String(errors[0]!.annotations["error"]), "a bug in counting")
      Leases.endUnheld(book, { id: b!.id, token: b!.token }, Leases.complete)
      yield* settle
      // The retry was told before the count died; the acknowledgement after it too.
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 1, leased: 0, completed: 1, buried: 0 })
      assert.deepStrictEqual(Leases.toRenew(book), [])
    })).pipe(Effect.provide(layer))
  })

  it.effect("a retry and a burial the store took are counted and logged as such", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { counted, lines } = yield* settled(store, () => Effect.void)
      assert.deepStrictEqual(counted, { retried: 1, deadLettered: 1, retryNotTaken: 0, buryNotTaken: 0, renewalLost: 0 })
      assert.deepStrictEqual(lines.map(({ annotations, level, message }) => [level, message, annotations["jobId"]]), [
        ["Info", "job attempt failed; retrying", "a"],
        ["Warn", "job dead-lettered", "b"]
      ])
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 1, leased: 0, completed: 0, buried: 1 })
    }))

  it.effect("a retry and a burial of leases no longer held (cancelled, or claimed again) are logged as not taken and counted as leases lost, not as done", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { counted, lines } = yield* settled(store, () =>
        Effect.gen(function*() {
          yield* store.cancel("q", "a")
          yield* TestClock.adjust(Duration.seconds(2))
          assert.deepStrictEqual((yield* store.claim("q", 2, minute)).map((job) => job.id), ["b"], "b's lease ran out")
        }))
      assert.deepStrictEqual(counted, { retried: 0, deadLettered: 0, retryNotTaken: 1, buryNotTaken: 1, renewalLost: 0 })
      assert.deepStrictEqual(lines.map(({ annotations, level, message }) => [level, message, annotations["jobId"], annotations["error"]]), [
        ["Info", "job attempt failed; its lease was no longer held, so the store left the job as it was", "a", "Boom: a"],
        ["Info", "job attempt failed; its lease was no longer held, so the store left the job as it was", "b", "Boom: b"]
      ])
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 1, completed: 0, buried: 0 })
    }))

  it.effect("endings the store keeps refusing are given up, logged with the attempt's error, and counted nowhere", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const refusal = (operation: string) => Effect.fail(new StoreError({ operation, reason: "no room", retryable: false }))
      const store: Store = { ...memory, retry: () => refusal("retry"), bury: () => refusal("bury") }
      const { counted, lines } = yield* settled(store, () => Effect.void)
      assert.deepStrictEqual(counted, { retried: 0, deadLettered: 0, retryNotTaken: 0, buryNotTaken: 0, renewalLost: 0 })
      assert.deepStrictEqual(
        lines.map(({ annotations, level, message }) => [
          level,
          message,
          annotations["jobId"],
          annotations["attempt"],
          annotations["attemptError"]
        ]),
        [
          ["Error", "retrying a job failed: the job store failed to schedule a retry: no room; its lease will run out instead", "a", 1, "Boom: a"],
          [
            "Error",
            "dead-lettering a job failed: the job store failed to dead-letter a job: no room; its lease will run out instead",
            "b",
            3,
            "Boom: b"
          ]
        ]
      )
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 0, leased: 2, completed: 0, buried: 0 })
    }))

  it.effect("a store of one's own whose retry and burial answer nothing is taken at its word: counted as taken", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const store: Store = {
        ...memory,
        retry: (queue, lease, delay) => Effect.asVoid(memory.retry(queue, lease, delay)),
        bury: (queue, lease, error) => Effect.asVoid(memory.bury(queue, lease, error))
      }
      const { counted } = yield* settled(store, () => Effect.void)
      assert.deepStrictEqual(counted, { retried: 1, deadLettered: 1, retryNotTaken: 0, buryNotTaken: 0, renewalLost: 0 })
    }))

  it.effect("a no after a try whose answer was lost (a timeout after the store took it) is logged as unknown, and counted nowhere", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const lost = (operation: string) => new StoreError({ operation, reason: "no answer within 5000 ms" })
      let tries = 0
      // Each ending is carried out, and its first answer lost.
      const store: Store = {
        ...memory,
        retry: (queue, lease, delay) =>
          Effect.flatMap(memory.retry(queue, lease, delay), (taken) => ++tries === 1 ? Effect.fail(lost("retry")) : Effect.succeed(taken)),
        bury: (queue, lease, error) =>
          Effect.flatMap(memory.bury(queue, lease, error), (taken) => ++tries === 3 ? Effect.fail(lost("bury")) : Effect.succeed(taken))
      }
      const { counted, lines } = yield* settled(store, () => Effect.void, 1_000)
      assert.deepStrictEqual(counted, { retried: 0, deadLettered: 0, retryNotTaken: 0, buryNotTaken: 0, renewalLost: 0 })
      const unknown = "job attempt failed; the store's answer to telling it was lost, and a second try found its lease no longer held: the first try may have taken it"
      assert.deepStrictEqual(lines.filter((line) => line.level === "Info").map(({ annotations, message }) => [message, annotations["jobId"]]), [
        [unknown, "a"],
        [unknown, "b"]
      ])
      assert.deepStrictEqual(yield* store.counts("q"), { ready: 1, leased: 0, completed: 0, buried: 1 })
    }))

  it.effect("a retry the store has not answered when the pool stops still logs the attempt's failure", () => {
    const { layer, lines } = capture()
    return Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      const store: Store = { ...memory, retry: () => Effect.never }
      yield* store.offer("q", [{ id: "a", payload: 1 }])
      const [a] = yield* store.claim("q", 1, minute)
      const book = yield* Leases.make({ capacity: 1, maxAttempts: 3, retryable: () => true })
      const scope = yield* Scope.make()
      yield* Settler.start({ store, queue: "q", retry: Schedule.spaced("1 second"), book }, scope)
      Leases.endUnheld(book, { id: "a", token: a!.token }, Leases.retry(1, "Boom: a"))
      yield* settle
      assert.deepStrictEqual(lines, [])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(lines.map(({ annotations, level, message }) => [level, message, annotations["jobId"], annotations["error"]]), [
        ["Info", "job attempt failed; the pool stopped before the store answered its ending", "a", "Boom: a"]
      ])
    }).pipe(Effect.provide(layer))
  })
})
