/**
 * Hostile input at every entry point of the in-memory pool: `null`, values of
 * the wrong kind, arrays, objects without a prototype, Proxies whose traps
 * throw, revoked Proxies, getters and conversions that throw. Each is a typed
 * `PoolConfigError` naming the option (or is accepted, where it is a valid
 * value), never a defect; and a refusal accepts, starts or stops nothing.
 * `submitAll`'s payloads are the one place where a refusal can come after
 * some jobs were accepted: an array read in place whose element throws. Its
 * error says how many, and those run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { Job, Pool, type Shutdown } from "../src/index.ts"
import { boom, revokedProxy, throwingProxy } from "./support/hostileValues.ts"
import { settle } from "./support/workload.ts"

/** Every field a bag of options of this library can have. */
const fieldNames = [
  "workers",
  "capacity",
  "handler",
  "jobTimeout",
  "shutdown",
  "outcomes",
  "onShutdown",
  "timeout",
  "backlog",
  "strategy",
  "id",
  "attempt",
  "delay"
]

/** An object whose every field, and every way of turning it into a string or number, throws. */
const getterBomb = (): object => {
  const bomb = {}
  for (const key of [...fieldNames, "toString", "toJSON", "valueOf", Symbol.toPrimitive]) {
    Object.defineProperty(bomb, key, { get: boom, enumerable: true })
  }
  return bomb
}

/** How a hostile value fares where a bag of options is expected. */
type AsBag =
  | "refused" // not an object: the bag itself is named
  | "unreadable" // reading its first field throws: that field is named
  | "empty" // an object with no fields: as `{}` would be

interface Hostile {
  readonly name: string
  readonly value: () => unknown
  readonly asBag: AsBag
  /** Fields where this value is valid (a string is a fine `id`). */
  readonly validFor?: ReadonlyArray<string>
}

const hostiles: ReadonlyArray<Hostile> = [
  { name: "null", value: () => null, asBag: "refused" },
  { name: "-1", value: () => -1, asBag: "refused" },
  { name: "NaN", value: () => NaN, asBag: "refused" },
  { name: "42", value: () => 42, asBag: "refused", validFor: ["workers", "capacity", "jobTimeout", "timeout", "attempt", "delay"] },
  { name: "a string", value: () => "soon", asBag: "refused", validFor: ["id"] },
  { name: "a symbol", value: () => Symbol("hostile"), asBag: "refused" },
  { name: "-1n", value: () => -1n, asBag: "refused" },
  { name: "a function that throws", value: () => boom, asBag: "refused", validFor: ["handler", "onShutdown"] },
  { name: "an array", value: () => [Object.create(null)], asBag: "refused" },
  { name: "a revoked Proxy", value: revokedProxy, asBag: "refused" },
  { name: "a Proxy whose traps throw", value: throwingProxy, asBag: "unreadable" },
  { name: "an object whose getters and conversions throw", value: getterBomb, asBag: "unreadable" },
  { name: "an object without a prototype", value: () => Object.create(null), asBag: "empty" }
]

/** A bag of options: its name in errors, its fields in reading order, and what it needs to be valid. */
interface Bag {
  readonly name: string
  readonly fields: ReadonlyArray<string>
  /** A valid bag; a field set to a hostile value is tried on top of it. */
  readonly valid: () => Record<string, unknown>
  /** The option named when the bag has no fields at all, or `undefined` if that is valid. */
  readonly whenEmpty: string | undefined
  /** Tries the bag where the entry point takes it. */
  readonly attempt: (bag: unknown) => Effect.Effect<unknown, unknown>
}

class Service extends Context.Service<Service, Pool.WorkerPool<string, string, never>>()("test/Hostile") {}

const handler = (job: Job.Job<string>) => Effect.succeed(`job-${job.payload}`)

/** `Pool.make` in a scope of its own: a refusal must leave nothing in it. */
const make = (options: unknown) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const exit = yield* Effect.exit(Scope.provide(Pool.make(options as Pool.Options<string, string, never, never>), scope))
    if (exit._tag === "Failure") assert.strictEqual(scope.state._tag, "Empty", "a refused pool left something started")
    yield* Scope.close(scope, Exit.void)
    return yield* exit
  })

const layer = (options: unknown) =>
  Effect.scoped(Layer.build(Pool.layer(Service, options as Pool.Options<string, string, never, never>)))

const poolOptions = (attempt: Bag["attempt"]): Bag => ({
  name: "options",
  fields: ["workers", "capacity", "handler", "jobTimeout", "shutdown", "outcomes", "onShutdown"],
  valid: () => ({ workers: 1, handler }),
  whenEmpty: "workers",
  attempt
})

const shutdownOption: Bag = {
  name: "shutdown",
  fields: ["shutdown.timeout", "shutdown.backlog"],
  valid: () => ({}),
  whenEmpty: undefined,
  attempt: (bag) => make({ workers: 1, handler, shutdown: bag })
}

const outcomesOption: Bag = {
  name: "outcomes",
  fields: ["outcomes.capacity", "outcomes.strategy"],
  valid: () => ({}),
  whenEmpty: undefined,
  attempt: (bag) => make({ workers: 1, handler, outcomes: bag })
}

/** `subscribe(buffer)` on a pool of its own. */
const subscription: Bag = {
  ...outcomesOption,
  attempt: (bag) =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler })
      return yield* pool.subscribe(bag as Pool.OutcomeBuffer)
    }))
}

/** The options of the pool that are bags of their own. */
const nested: Record<string, Bag> = { shutdown: shutdownOption, outcomes: outcomesOption }

const jobOptions = (attempt: Bag["attempt"]): Bag => ({
  name: "options",
  fields: ["id", "timeout", "attempt", "delay"],
  valid: () => ({}),
  whenEmpty: undefined,
  attempt
})

/** `shutdown(policy)` on a pool of its own: a refused policy must leave it running. */
const policy: Bag = {
  name: "shutdown",
  fields: ["shutdown.timeout", "shutdown.backlog"],
  valid: () => ({}),
  whenEmpty: undefined,
  attempt: (bag) =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Pool.make({ workers: 1, handler })
      const exit = yield* Effect.exit(pool.shutdown(bag as Partial<Shutdown.Policy>))
      if (exit._tag === "Failure") assert.strictEqual(yield* pool.run("after"), "job-after", "a refused policy stopped the pool")
      return yield* exit
    }))
}

/** What an attempt must end with: success, or a `PoolConfigError` naming `option`. Never a defect. */
const expectOutcome = (exit: Exit.Exit<unknown, unknown>, option: string | undefined, where: string) => {
  if (exit._tag === "Success") {
    assert.isUndefined(option, `${where}: accepted, expected a PoolConfigError on ${option}`)
    return
  }
  assert.isFalse(Cause.hasDies(exit.cause), `${where}: a defect: ${Cause.pretty(exit.cause)}`)
  const error = Cause.findErrorOption(exit.cause)
  assert.isTrue(error._tag === "Some" && error.value instanceof Pool.PoolConfigError, `${where}: not a PoolConfigError`)
  const configError = (error as { value: Pool.PoolConfigError }).value
  assert.strictEqual(configError.option, option, `${where}: ${configError.message}`)
  assert.include(configError.message, configError.option)
}

/** The option a hostile value at the place of the whole bag is refused for (undefined: accepted). */
const expectedForBag = (bag: Bag, hostile: Hostile): string | undefined =>
  hostile.asBag === "refused" ? bag.name : hostile.asBag === "unreadable" ? bag.fields[0] : bag.whenEmpty

const fieldKey = (field: string) => field.slice(field.lastIndexOf(".") + 1)

/** Every hostile value as the bag, in each field, and as a getter that throws in each field. */
const sweep = (bag: Bag, where: string) =>
  Effect.gen(function*() {
    for (const hostile of hostiles) {
      const exit = yield* Effect.exit(bag.attempt(hostile.value()))
      expectOutcome(exit, expectedForBag(bag, hostile), `${where}(${hostile.name})`)
      for (const field of bag.fields) {
        const key = fieldKey(field)
        const options = { ...bag.valid(), [key]: hostile.value() }
        const valid = hostile.validFor?.includes(key) ?? false
        const fieldExit = yield* Effect.exit(bag.attempt(options))
        const inner = nested[field]
        const expected = inner !== undefined ? expectedForBag(inner, hostile) : valid ? undefined : field
        expectOutcome(fieldExit, expected, `${where}({ ${key}: ${hostile.name} })`)
      }
    }
    for (const field of bag.fields) {
      const key = fieldKey(field)
      const options = Object.defineProperty(bag.valid(), key, { get: boom, enumerable: true })
      const exit = yield* Effect.exit(bag.attempt(options))
      expectOutcome(exit, field, `${where}({ get ${key}() { throw } })`)
      assert.match((exit as Exit.Failure<unknown, Pool.PoolConfigError>).cause.toString(), /could not be read/)
    }
  })

/** The options a bag's errors may name: itself, its fields, and those of the bags in it. */
const namesOf = (bag: Bag): ReadonlyArray<string> => [
  bag.name,
  ...bag.fields.flatMap((field) => nested[field] === undefined ? [field] : [field, ...nested[field]!.fields])
]

/**
 * The keys of `value`, given as `bag` (none: not a bag), that are none of
 * its fields, as an error names them: refused as options of no one
 * (`refuseUnknown`).
 */
const unknownKeysOf = (value: unknown, bag: Bag | undefined): ReadonlyArray<string> => {
  if (bag === undefined || typeof value !== "object" || value === null) return []
  const prefix = bag.fields[0]!.includes(".") ? `${bag.name}.` : ""
  return Object.keys(value).map((key) => prefix + key).filter((key) => !bag.fields.includes(key))
}

describe("hostile input", () => {
  it.effect("Pool.make: a PoolConfigError naming the option, nothing started", () => sweep(poolOptions(make), "make"))

  it.effect("Pool.layer: a PoolConfigError naming the option", () => sweep(poolOptions(layer), "layer"))

  it.effect("the pool's shutdown option: a PoolConfigError naming the field", () => sweep(shutdownOption, "make"))

  it.effect("the pool's outcomes option: a PoolConfigError naming the field", () => sweep(outcomesOption, "make"))

  it.effect("subscribe(buffer): a PoolConfigError naming the field", () => sweep(subscription, "subscribe"))

  for (const entry of ["submit", "trySubmit", "run"] as const) {
    it.effect(`${entry}: a PoolConfigError naming the option, nothing accepted or started`, () =>
      Effect.scoped(Effect.gen(function*() {
        let started = 0
        const pool = yield* Pool.make({ workers: 1, handler: () => Effect.sync(() => void started++) })
        let accepted = 0
        // Job options that are valid are accepted; the refused ones must leave no trace. The clock
        // moves past a valid delay (42 ms), so that a delayed job runs, and its `run` returns.
        const bag = jobOptions((options) =>
          Effect.gen(function*() {
            const attempt = yield* Effect.forkChild(pool[entry]("payload", options as Job.Options), {
              startImmediately: true
            })
            yield* TestClock.adjust("42 millis")
            yield* Fiber.join(attempt as Fiber.Fiber<unknown, unknown>)
            accepted++
          })
        )
        yield* sweep(bag, entry)
        yield* pool.shutdown()
        assert.strictEqual((yield* pool.stats).submitted, accepted, "a refused job was accepted")
        assert.strictEqual(started, accepted, "a refused job was started")
      })))
  }

  it.effect("shutdown(policy): a PoolConfigError naming the field, and the pool goes on", () => sweep(policy, "shutdown"))

  it("Job.make: an IllegalArgumentError naming the option, never a TypeError", () => {
    for (const hostile of hostiles) {
      const option = expectedForBag(jobOptions(() => Effect.void), hostile)
      if (option === undefined) {
        Job.make("payload", hostile.value() as Job.Options)
        continue
      }
      assert.throws(
        () => Job.make("payload", hostile.value() as Job.Options),
        Cause.IllegalArgumentError,
        `invalid job option ${option}`,
        hostile.name
      )
    }
  })

  it.effect("any value at all, anywhere: accepted or a PoolConfigError naming the option, never a defect", () =>
    Effect.gen(function*() {
      const anything = fc.anything({
        withNullPrototype: true,
        withBigInt: true,
        withBoxedValues: true,
        withObjectString: true,
        withMap: true,
        withSet: true,
        withDate: true,
        withSparseArray: true
      })
      const samples = fc.sample(anything, { numRuns: 200, seed: 42 })
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* Pool.make({ workers: 1, handler })
        // A valid delay keeps `run` waiting for the TestClock: once the job is accepted, the caller
        // gives up on it (which ends a delayed job at once), and that counts as accepted here.
        const runOrGiveUp = (options: Job.Options) =>
          Effect.gen(function*() {
            const attempt = yield* Effect.forkChild(pool.run("x", options), { startImmediately: true })
            yield* settle
            const exit = attempt.pollUnsafe()
            if (exit === undefined) return yield* Fiber.interrupt(attempt)
            return yield* exit
          })
        const bags = [
          poolOptions(make),
          shutdownOption,
          outcomesOption,
          subscription,
          jobOptions((o) => runOrGiveUp(o as Job.Options)),
          policy
        ]
        for (const value of samples) {
          const where = `value ${fc.stringify(value)}`
          for (const bag of bags) {
            for (const target of [undefined, ...bag.fields]) {
              // A valid but huge number of workers would start them all.
              if (target === "workers" && typeof value === "number" && value > 16) continue
              const options = target === undefined ? value : { ...bag.valid(), [fieldKey(target)]: value }
              const exit = yield* Effect.exit(bag.attempt(options))
              if (exit._tag === "Success") continue
              assert.isFalse(Cause.hasDies(exit.cause), `${where} at ${target ?? bag.name}: a defect`)
              const error = Cause.findErrorOption(exit.cause)
              assert.isTrue(
                error._tag === "Some" && error.value instanceof Pool.PoolConfigError &&
                  [...namesOf(bag), ...unknownKeysOf(value, target === undefined ? bag : nested[target])].includes(error.value.option),
                `${where} at ${target ?? bag.name}: not a PoolConfigError naming it: ${error._tag === "Some" ? String((error.value as { option?: string }).option) : "none"}`
              )
            }
          }
        }
      }))
    }))
})

/** A value where `submitAll` expects its payloads. */
interface Payloads {
  readonly name: string
  readonly value: () => unknown
}

/** A generator that yields `count` payloads and then throws. */
function* throwsAfter(count: number): Generator<string> {
  for (let i = 0; i < count; i++) yield `p${i}`
  boom()
}

/** Not iterables of payloads, or ones that throw before the last payload: each refused, nothing accepted. */
const refusedPayloads: ReadonlyArray<Payloads> = [
  // The hostile values of the options, except the two that are iterables: a string and an array.
  ...hostiles.filter((hostile) => hostile.name !== "a string" && hostile.name !== "an array"),
  { name: "undefined", value: () => undefined },
  { name: "an array-like without an iterator", value: () => ({ length: 2, 0: "a", 1: "b" }) },
  { name: "a non-function Symbol.iterator", value: () => ({ [Symbol.iterator]: 42 }) },
  {
    name: "a Symbol.iterator getter that throws",
    value: () => Object.defineProperty({}, Symbol.iterator, { get: boom })
  },
  { name: "a Symbol.iterator that throws", value: () => ({ [Symbol.iterator]: boom }) },
  { name: "a Symbol.iterator that returns a number", value: () => ({ [Symbol.iterator]: () => 42 }) },
  { name: "an iterator whose next throws", value: () => ({ [Symbol.iterator]: () => ({ next: boom }) }) },
  { name: "an iterator whose next returns null", value: () => ({ [Symbol.iterator]: () => ({ next: () => null }) }) },
  { name: "a generator that throws at once", value: () => throwsAfter(0) },
  { name: "a generator that throws after two payloads", value: () => throwsAfter(2) },
  { name: "a Set whose iterator is a Proxy that throws", value: () => new Proxy(new Set(["a"]), { get: boom }) },
  { name: "an array Proxy whose traps throw", value: () => new Proxy([], { get: boom, has: boom }) },
  {
    name: "an array whose length throws",
    value: () => new Proxy(["a"], { get: (target, key) => key === "length" ? boom() : Reflect.get(target, key) })
  }
]

/** The refusal of a `submitAll`: a `PoolConfigError` naming `payloads`, saying how many were accepted. */
const expectRefusedPayloads = (exit: Exit.Exit<unknown, unknown>, accepted: number, where: string) => {
  assert.isTrue(exit._tag === "Failure", `${where}: accepted`)
  if (exit._tag === "Success") return
  assert.isFalse(Cause.hasDies(exit.cause), `${where}: a defect: ${Cause.pretty(exit.cause)}`)
  const error = Cause.findErrorOption(exit.cause)
  assert.isTrue(error._tag === "Some" && error.value instanceof Pool.PoolConfigError, `${where}: not a PoolConfigError`)
  const configError = (error as { value: Pool.PoolConfigError }).value
  assert.strictEqual(configError.option, "payloads", `${where}: ${configError.message}`)
  assert.strictEqual(configError.accepted, accepted, `${where}: ${configError.message}`)
  assert.include(configError.message, "payloads")
  assert.include(configError.message, `${accepted} of the batch were accepted before`)
}

/** An array of `count` payloads whose element at `count` throws when read. */
const arrayThrowingAt = (count: number): Array<string> => {
  const payloads = Array.from({ length: count + 1 }, (_, i) => `p${i}`)
  return Object.defineProperty(payloads, count, { get: boom })
}

/** The same as a Proxy of an array. */
const proxyThrowingAt = (count: number): Array<string> =>
  new Proxy(Array.from({ length: count + 1 }, (_, i) => `p${i}`), {
    get: (target, key, receiver) => key === String(count) ? boom() : Reflect.get(target, key, receiver)
  })

describe("hostile payloads for submitAll", () => {
  /** A pool whose handler records the payloads it runs. */
  const recording = (capacity?: number) =>
    Effect.gen(function*() {
      const started: Array<unknown> = []
      const gate = yield* Deferred.make<void>()
      const pool = yield* Pool.make({
        workers: 1,
        capacity,
        handler: (job: Job.Job<unknown>) =>
          job.payload === "busy" ? Deferred.await(gate) : Effect.sync(() => void started.push(job.payload))
      })
      return { pool, started, release: Deferred.succeed(gate, undefined) }
    })

  it.effect("not an iterable, or one that throws: a PoolConfigError naming payloads, nothing accepted", () =>
    Effect.scoped(Effect.gen(function*() {
      const { pool, started } = yield* recording()
      for (const payloads of refusedPayloads) {
        const exit = yield* Effect.exit(pool.submitAll(payloads.value() as Iterable<unknown>))
        expectRefusedPayloads(exit, 0, `submitAll(${payloads.name})`)
      }
      yield* pool.shutdown()
      assert.strictEqual((yield* pool.stats).submitted, 0, "a refused batch was accepted")
      assert.deepStrictEqual(started, [], "a refused batch was started")
    })))

  it.effect("a string and an array of odd payloads are iterables: accepted", () =>
    Effect.scoped(Effect.gen(function*() {
      const { pool, started } = yield* recording()
      const odd = Object.create(null)
      assert.strictEqual((yield* pool.submitAll("ab")).length, 2)
      assert.strictEqual((yield* pool.submitAll([odd, undefined, null])).length, 3)
      assert.strictEqual((yield* pool.submitAll(new Set(["c"]))).length, 1)
      yield* pool.shutdown()
      assert.deepStrictEqual(started, ["a", "b", odd, undefined, null, "c"])
    })))

  for (
    const [name, payloads] of [
      ["an array whose third element throws when read", () => arrayThrowingAt(2)],
      ["an array Proxy that throws on the third element", () => proxyThrowingAt(2)]
    ] as const
  ) {
    it.effect(`${name}: the first two are accepted and run, and the error says so`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { pool, started } = yield* recording()
        const exit = yield* Effect.exit(pool.submitAll(payloads()))
        expectRefusedPayloads(exit, 2, `submitAll(${name})`)
        yield* pool.shutdown()
        assert.strictEqual((yield* pool.stats).submitted, 2)
        assert.deepStrictEqual(started, ["p0", "p1"])
      })))
  }

  it.effect("an array element that throws after the batch waited for room: the ones before it run", () =>
    Effect.scoped(Effect.gen(function*() {
      const { pool, release, started } = yield* recording(1)
      yield* pool.submit("busy")
      yield* settle // the worker is busy; the queue has room for one
      const batch = yield* Effect.forkChild(pool.submitAll(arrayThrowingAt(2)))
      yield* settle
      assert.isUndefined(batch.pollUnsafe(), "submitAll returned while its batch did not fit")
      yield* release
      const exit = yield* Effect.exit(Fiber.join(batch))
      expectRefusedPayloads(exit, 2, "submitAll(waited, then threw)")
      yield* pool.shutdown()
      assert.deepStrictEqual(started, ["p0", "p1"])
    })))

  it.effect("any value at all: accepted, or a PoolConfigError naming payloads that says how many; never a defect", () =>
    Effect.scoped(Effect.gen(function*() {
      const { pool } = yield* recording()
      const samples = fc.sample(
        fc.anything({
          withNullPrototype: true,
          withBigInt: true,
          withBoxedValues: true,
          withObjectString: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withSparseArray: true
        }),
        { numRuns: 300, seed: 42 }
      )
      let accepted = 0
      for (const value of samples) {
        const where = `submitAll(${fc.stringify(value)})`
        const exit = yield* Effect.exit(pool.submitAll(value as Iterable<unknown>))
        if (exit._tag === "Success") {
          accepted += exit.value.length
          continue
        }
        assert.isFalse(Cause.hasDies(exit.cause), `${where}: a defect`)
        const error = Cause.findErrorOption(exit.cause)
        assert.isTrue(
          error._tag === "Some" && error.value instanceof Pool.PoolConfigError && error.value.option === "payloads",
          `${where}: not a PoolConfigError naming payloads`
        )
        accepted += (error as { value: Pool.PoolConfigError }).value.accepted ?? Number.NaN
      }
      yield* pool.shutdown()
      assert.strictEqual((yield* pool.stats).submitted, accepted, "the accepted jobs are not what the batches said")
    })))
})
