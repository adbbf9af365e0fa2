/**
 * A failed delivery as text (`src/durable/failures.ts`): what a dead letter's
 * `error`, and the log lines of failed attempts, say. It is the handler's
 * own failure, for each kind a handler can fail or die with, never the
 * library's stack trace around it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Schema } from "effect"
import * as Failures from "../src/durable/failures.ts"
import { JobTimeoutError } from "../src/Job.ts"
import { revokedProxy, throwingProxy } from "./support/hostileValues.ts"

class Bounced extends Schema.TaggedError<Bounced>()("Bounced", { to: Schema.String, code: Schema.Number }) {}

/** The cause `effect` ends with, as a handler's delivery would: annotated by the runtime (spans, stack frames). */
const causeOf = (effect: Effect.Effect<unknown, unknown>): Cause.Cause<unknown> => {
  const exit = Effect.runSyncExit(effect.pipe(Effect.withSpan("handler")))
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return exit.cause
}

describe("Failures.describe", () => {
  it("a string failure is the string as it is, without the stack trace the runtime would make for it", () => {
    assert.strictEqual(Failures.describe(causeOf(Effect.fail("no @ in nobody"))), "no @ in nobody")
  })

  it("a tagged error is its tag, then its fields, as JSON", () => {
    assert.strictEqual(
      Failures.describe(causeOf(Effect.fail(new Bounced({ to: "ada@example.com", code: 550 })))),
      `{"_tag":"Bounced","to":"ada@example.com","code":550}`
    )
    assert.strictEqual(Failures.describe(Cause.fail({ code: 7, _tag: "Plain" })), `{"_tag":"Plain","code":7}`)
  })

  it("an Error is its own stack: its name and message, then where the handler made it", () => {
    const error = new TypeError("bad address")
    const text = Failures.describe(causeOf(Effect.fail(error)))
    assert.strictEqual(text, error.stack)
    assert.match(text, /^TypeError: bad address\n\s+at .*Failures\.test\.ts/)
  })

  it("an Error without a stack is its name and message", () => {
    const error = new RangeError("too far")
    delete error.stack
    assert.strictEqual(Failures.describe(Cause.fail(error)), "RangeError: too far")
  })

  it("anything else is its rendering", () => {
    assert.strictEqual(Failures.describe(Cause.fail(42)), "42")
    assert.strictEqual(Failures.describe(Cause.fail({ reason: "full" })), `{"reason":"full"}`)
    assert.strictEqual(Failures.describe(Cause.fail(undefined)), "undefined")
    assert.strictEqual(Failures.describe(Cause.fail(null)), "null")
  })

  it("a defect says the handler died, and what with", () => {
    const error = new Error("boom")
    assert.strictEqual(Failures.describe(causeOf(Effect.die(error))), `died: ${error.stack}`)
    assert.strictEqual(Failures.describe(causeOf(Effect.die("gone"))), "died: gone")
    const thrown = new SyntaxError("not JSON")
    assert.strictEqual(Failures.describe(causeOf(Effect.sync(() => { throw thrown }))), `died: ${thrown.stack}`)
  })

  it("a timeout says which job timed out, and after how long", () => {
    const timeout = new JobTimeoutError({ jobId: "j1", timeout: Duration.seconds(5) })
    assert.strictEqual(Failures.describe(causeOf(Effect.fail(timeout))), "JobTimeoutError: job j1 timed out after 5s")
  })

  it("a payload that did not decode says what did not decode", () => {
    const decoded = Schema.decodeUnknownExit(Schema.Struct({ to: Schema.String }))({ to: 42 })
    assert.isTrue(Exit.isFailure(decoded))
    const text = Exit.isFailure(decoded) ? Failures.describe(decoded.cause) : ""
    assert.strictEqual(text, `SchemaError: Expected string\n  at ["to"]`)
  })

  it("a handler that interrupted itself says so", () => {
    assert.strictEqual(Failures.describe(causeOf(Effect.interrupt)), "interrupted")
  })

  it("the text has no NUL (PostgreSQL cannot keep it) and is bounded", () => {
    const text = Failures.describe(Cause.fail(`a\u0000b${"x".repeat(20_000)}`))
    assert.notInclude(text, "\u0000")
    assert.isTrue(text.startsWith("abx"))
    assert.strictEqual(text.length, Failures.maxLength)
  })

  it("half a surrogate pair is U+FFFD, as the server stores would keep it; the cut never splits a pair", () => {
    assert.strictEqual(Failures.describe(Cause.fail("a\ud800b\udc00c😀")), "a\ufffdb\ufffdc😀")
    const emojiAtTheCut = Failures.describe(Cause.fail(`${"x".repeat(Failures.maxLength - 1)}😀`))
    assert.strictEqual(emojiAtTheCut, "x".repeat(Failures.maxLength - 1))
    const emojiBeforeTheCut = Failures.describe(Cause.fail(`${"x".repeat(Failures.maxLength - 2)}😀yy`))
    assert.strictEqual(emojiBeforeTheCut, `${"x".repeat(Failures.maxLength - 2)}😀`)
  })

  it("a failure that throws when read (a Proxy's traps, a revoked Proxy, a getter) is said to be unreadable, never thrown", () => {
    const getter = { _tag: "Tagged", get field(): never { throw new Error("getter") } }
    for (const value of [throwingProxy(), revokedProxy(), getter]) {
      assert.match(Failures.describe(Cause.fail(value)), /^a failure that could not be read \((Error|TypeError): /)
      assert.match(Failures.describe(Cause.die(value)), /^a failure that could not be read \(/)
    }
  })
})
