/**
 * What the pool's per-job path assumes about Effect's runtime
 * (`src/internal/runtime.ts`), pinned one assumption at a time: an upgrade
 * of Effect that breaks one fails here, by name, rather than somewhere in
 * the pool (or nowhere: a wrong `isExit` would only make the pool slower, or
 * settle a job that has not ended).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Option, Result, Scheduler } from "effect"
import { callbackOnScheduler, internalKeys, isEffect, isExit, Submission } from "../src/internal/runtime.ts"

/** One of every kind of Effect the pool may meet, Exits included. */
const effects: Record<string, Effect.Effect<unknown, unknown, unknown>> = {
  "Exit.succeed": Exit.succeed(1),
  "Exit.void": Exit.void,
  "Exit.fail": Exit.fail("boom"),
  "Exit.die": Exit.die(new Error("boom")),
  "Exit.interrupt": Exit.interrupt(1),
  "Exit.failCause": Exit.failCause(Cause.fail("boom")),
  "Effect.succeed": Effect.succeed(1),
  "Effect.succeedNone": Effect.succeedNone,
  "Effect.void": Effect.void,
  "Effect.fail": Effect.fail("boom"),
  "Effect.die": Effect.die("boom"),
  "Effect.sync": Effect.sync(() => 1),
  "Effect.suspend": Effect.suspend(() => Effect.void),
  "Effect.gen": Effect.gen(function*() {}),
  "Effect.fn": Effect.fn(function*() {})(),
  "Effect.map": Effect.map(Effect.sync(() => 1), (n) => n + 1),
  "Effect.promise": Effect.promise(async () => 1),
  "Effect.callback": Effect.callback<void>(() => {}),
  "Effect.never": Effect.never,
  "Effect.yieldNow": Effect.yieldNow,
  "Effect.forkChild": Effect.forkChild(Effect.void),
  "Context.Reference": Context.Reference("test/Runtime", { defaultValue: () => 1 }),
  "Submission": new Submission(() => Effect.void, undefined, undefined, undefined)
}

/** Values that are not Effects, some of them close to one. */
const others: Record<string, unknown> = {
  undefined,
  null: null,
  number: 1,
  string: "effect",
  object: {},
  "object with _tag Success": { _tag: "Success", value: 1 },
  "object with _tag Failure": { _tag: "Failure", cause: Cause.fail(1) },
  function: () => Effect.void,
  Promise: Promise.resolve(Effect.void),
  "Option.some": Option.some(1),
  "Option.none": Option.none(),
  "Result.succeed": Result.succeed(1),
  "Result.fail": Result.fail(1),
  Deferred: Deferred.makeUnsafe<number>(),
  "Object.create(null)": Object.create(null)
}

describe("Runtime", () => {
  describe("isExit: an Exit carries Exit's type id", () => {
    it("Exit.isExit asks for the key isExit looks up, and every kind of Exit has it", () => {
      assert.isTrue(Exit.isExit({ "~effect/Exit": "~effect/Exit" }))
      for (const exit of [Exit.succeed(1), Exit.void, Exit.fail(1), Exit.die(1), Exit.interrupt(1)]) {
        assert.isTrue("~effect/Exit" in exit)
      }
    })

    for (const [name, effect] of Object.entries(effects)) {
      it(`agrees with Exit.isExit on ${name}`, () => {
        assert.strictEqual(isExit(effect), Exit.isExit(effect))
      })
    }

    it("an Exit it recognizes reads as one: a Success has its value, a Failure its cause", () => {
      const success = Effect.succeed(42)
      const failure = Effect.fail("boom")
      assert.isTrue(isExit(success) && success._tag === "Success" && success.value === 42)
      assert.isTrue(isExit(failure) && failure._tag === "Failure" && Cause.hasFails(failure.cause))
    })
  })

  describe("isEffect: every Effect carries Effect.TypeId", () => {
    for (const [name, effect] of Object.entries(effects)) {
      it(`sees ${name} as an Effect, as Effect.isEffect does`, () => {
        assert.isTrue(Effect.TypeId in effect)
        assert.isTrue(isEffect(effect))
        assert.isTrue(Effect.isEffect(effect))
      })
    }

    for (const [name, value] of Object.entries(others)) {
      it(`agrees with Effect.isEffect on ${name}`, () => {
        assert.strictEqual(isEffect(value), Effect.isEffect(value))
      })
    }

    it("agrees with Effect.isEffect on a running fiber", () => {
      const fiber = Effect.runFork(Effect.never)
      assert.strictEqual(isEffect(fiber), Effect.isEffect(fiber))
      Effect.runFork(Fiber.interrupt(fiber))
    })
  })

  describe("callbackOnScheduler: a callback runs with its fiber's scheduler as `this`", () => {
    it("hands the scheduler of the fiber that waits, which makes dispatchers", async () => {
      const scheduler = new Scheduler.MixedScheduler()
      let seen: unknown
      await Effect.runPromise(
        callbackOnScheduler<void>((given, resume) => {
          seen = given
          resume(Effect.void)
        }).pipe(Effect.provideService(Scheduler.Scheduler, scheduler))
      )
      assert.strictEqual(seen, scheduler)
      assert.strictEqual(typeof scheduler.makeDispatcher, "function")
    })

    it("a dispatcher's scheduleTask runs the task later, and the task can resume the fiber", async () => {
      const order: Array<string> = []
      const value = await Effect.runPromise(callbackOnScheduler<number>((scheduler, resume) => {
        scheduler.makeDispatcher().scheduleTask(() => {
          order.push("task")
          resume(Effect.succeed(42))
        }, 0)
        order.push("registered")
      }))
      assert.strictEqual(value, 42)
      assert.deepStrictEqual(order, ["registered", "task"])
    })

    it("runs the canceller it returns when the fiber is interrupted while waiting", async () => {
      let cancelled = false
      const fiber = Effect.runFork(callbackOnScheduler<void>(() =>
        Effect.sync(() => {
          cancelled = true
        })
      ))
      await Effect.runPromise(Fiber.interrupt(fiber))
      assert.isTrue(cancelled)
    })
  })

  describe("Submission: an Effectable.Class runs its asEffect", () => {
    it("calls accept only when run, each time it runs, with its state, payload and options", () => {
      const calls: Array<[string, number, string]> = []
      const submission = new Submission((state: string, payload: number, options: string) => {
        calls.push([state, payload, options])
        return Effect.succeed(payload * 2)
      }, "state", 21, "options")
      assert.deepStrictEqual(calls, [])
      assert.strictEqual(Effect.runSync(submission), 42)
      assert.strictEqual(Effect.runSync(submission), 42)
      assert.deepStrictEqual(calls, [["state", 21, "options"], ["state", 21, "options"]])
    })

    it("yields its asEffect's result in Effect.gen, and its failure", () => {
      const ok = new Submission((_: undefined, n: number) => Effect.succeed(n + 1), undefined, 1, undefined)
      const failing = new Submission((_: undefined, n: number) => Effect.fail(`no ${n}`), undefined, 2, undefined)
      const exit = Effect.runSyncExit(Effect.gen(function*() {
        const value = yield* ok
        assert.strictEqual(value, 2)
        return yield* failing
      }))
      assert.deepStrictEqual(exit, Exit.fail("no 2"))
    })

    it("runs an asynchronous asEffect to its end", async () => {
      const later = new Submission((_: undefined, n: number) => Effect.promise(async () => n), undefined, 7, undefined)
      assert.strictEqual(await Effect.runPromise(later), 7)
    })
  })

  describe("Submission: a value accept answers goes to the fiber's next continuation, in the submission's step", () => {
    const value = (n: number) => new Submission((_: undefined, m: number) => ({ m }), undefined, n, undefined)

    it("Effect's primitives keep their step and their success continuation under the keys it uses", () => {
      const keyed = (effect: unknown, key: string): unknown => (effect as Record<string, unknown>)[key]
      const evaluate = keyed(Effect.void, internalKeys.evaluate)
      const successCont = keyed(Effect.map(Effect.sync(() => 1), (n) => n), internalKeys.successCont)
      assert.strictEqual(typeof evaluate, "function")
      assert.strictEqual(typeof successCont, "function")
      assert.strictEqual(typeof Object.getOwnPropertyDescriptor(Submission.prototype, internalKeys.evaluate)?.value, "function")
    })

    it("is the fiber's result with no continuation, and what asEffect succeeds with", () => {
      assert.deepStrictEqual(Effect.runSync(value(1)), { m: 1 })
      assert.deepStrictEqual(Effect.runSync(value(2).asEffect()), { m: 2 })
      assert.deepStrictEqual(Effect.runSyncExit(value(3)), Exit.succeed({ m: 3 }))
    })

    it("reaches yield* in Effect.gen, map, flatMap, exit, match, and past ensuring and uninterruptible", () => {
      const finalized: Array<number> = []
      const result = Effect.runSync(Effect.gen(function*() {
        const a = yield* value(1)
        const b = yield* Effect.map(value(2), ({ m }) => m * 10)
        const c = yield* Effect.flatMap(value(3), ({ m }) => Effect.succeed(m + 1))
        const d = yield* Effect.exit(value(4))
        const e = yield* Effect.match(value(5), { onFailure: () => -1, onSuccess: ({ m }) => m })
        const f = yield* Effect.ensuring(value(6), Effect.sync(() => finalized.push(6)))
        const g = yield* Effect.uninterruptible(value(7))
        return [a.m, b, c, d, e, f.m, g.m]
      }))
      assert.deepStrictEqual(result, [1, 20, 4, Exit.succeed({ m: 4 }), 5, 6, 7])
      assert.deepStrictEqual(finalized, [6])
    })

    it("each run calls accept again, in a loop of many (Effect.forEach, repeat)", () => {
      let calls = 0
      const counted = new Submission(() => ({ call: ++calls }), undefined, undefined, undefined)
      Effect.runSync(Effect.forEach(Array.from({ length: 5_000 }, (_, i) => i), () => counted, { discard: true }))
      assert.strictEqual(calls, 5_000)
      assert.deepStrictEqual(Effect.runSync(Effect.repeat(counted, { times: 2 })), { call: 5_003 })
    })

    it("an interruption that came while accept ran interrupts the fiber: accepted, the value is not handed on", () => {
      let calls = 0
      let after = false
      const interrupting = new Submission(() => {
        calls++
        // Its own fiber is interrupted while it runs, as a producer's peer could do.
        Fiber.getCurrent()!.interruptUnsafe()
        return { ok: true }
      }, undefined, undefined, undefined)
      const exit = Effect.runSyncExit(Effect.andThen(interrupting, Effect.sync(() => (after = true))))
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.strictEqual(calls, 1)
      assert.isFalse(after)
    })
  })
})
