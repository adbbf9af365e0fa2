/**
 * How the durable pool's background work retries the store
 * (`src/durable/outage.ts`), under the TestClock: an ending of one job is
 * tried ten times in all, then given up; an operation through an outage is
 * tried until it succeeds; a failure the store marks as not retryable is
 * given up at once, by both. A warning for each failure tried again, an
 * error for the one given up; the answer, or none once given up.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { persistently, throughOutage } from "../src/durable/outage.ts"
import { StoreError } from "../src/durable/Store.ts"
import { capture } from "./support/logLines.ts"

/** An operation that fails its first `failures` tries (for ever if omitted), counting them. */
const operation = (error: StoreError, failures = Number.POSITIVE_INFINITY) => {
  let tries = 0
  const effect = Effect.suspend(() => ++tries <= failures ? Effect.fail(error) : Effect.void)
  return { effect, tries: () => tries }
}

const refused = new StoreError({ operation: "bury", reason: "value too long" })
/** A failure that retrying cannot cure, as the store will be able to say. */
const final = new StoreError({ operation: "bury", reason: "value too long", retryable: false })

/** How many times `retried` tries an operation that fails its first `failures` tries, the TestClock run for `ms`. */
const triesOf = (
  retried: (what: string, effect: Effect.Effect<void, StoreError>) => Effect.Effect<unknown>,
  error: StoreError,
  failures: number,
  ms: number
) =>
  Effect.gen(function*() {
    const { effect, tries } = operation(error, failures)
    const fiber = yield* Effect.forkChild(retried("dead-lettering a job", effect))
    for (let t = 0; t < ms; t += 100) yield* TestClock.adjust(100)
    yield* Fiber.join(fiber)
    return tries()
  })

describe("outage", () => {
  it.effect("persistently: ten tries in all, then given up", () =>
    Effect.map(triesOf(persistently, refused, Number.POSITIVE_INFINITY, 60_000), (tries) => assert.strictEqual(tries, 10)))

  it.effect("throughOutage: tried until it succeeds", () =>
    Effect.map(triesOf(throughOutage, refused, 30, 200_000), (tries) => assert.strictEqual(tries, 31)))

  it.effect("a failure marked not retryable is given up at once", () =>
    Effect.gen(function*() {
      for (const retried of [persistently, throughOutage]) {
        const { effect, tries } = operation(final)
        yield* retried("dead-lettering a job", effect)
        assert.strictEqual(tries(), 1)
      }
    }))

  it.effect("a warning for each failure that will be tried again, an error for the one given up; the answer, or none", () => {
    const { layer, lines } = capture()
    return Effect.gen(function*() {
      const taken = () => lines.splice(0)
      const levels = () => taken().map((line) => line.level)
      const given = yield* Effect.forkChild(persistently("dead-lettering a job", operation(refused).effect))
      for (let t = 0; t < 60_000; t += 100) yield* TestClock.adjust(100)
      assert.isTrue(Option.isNone(yield* Fiber.join(given)))
      const afterOutage = taken()
      assert.deepStrictEqual(afterOutage.map((line) => line.level), [...Array(9).fill("Warn"), "Error"])
      // Tries that failed as an outage does may still be carried out: the error does not promise the lease runs out.
      assert.strictEqual(
        afterOutage.at(-1)!.message,
        "dead-lettering a job failed: the job store failed to dead-letter a job: value too long; its lease will run out instead, unless a try left unanswered still reaches the store"
      )
      assert.isTrue(Option.isNone(yield* persistently("dead-lettering a job", operation(final).effect)))
      assert.deepStrictEqual(
        taken().map((line) => [line.level, line.message]),
        [["Error", "dead-lettering a job failed: the job store failed to dead-letter a job: value too long; its lease will run out instead"]],
        "no warning saying it retries a failure it gives up at once, nor a try that may come late"
      )
      const answered = yield* Effect.forkChild(persistently("retrying a job", Effect.as(operation(refused, 2).effect, false)))
      for (let t = 0; t < 1_000; t += 100) yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.join(answered), Option.some({ value: false, afterUnanswered: true }))
      assert.deepStrictEqual(levels(), ["Warn", "Warn"])
    }).pipe(Effect.provide(layer))
  })
})
