/**
 * Hostile input at every entry point of the in-memory pool: `null`, values of
 * the wrong kind, arrays, objects without a prototype, Proxies whose traps
 * throw, revoked Proxies, getters and conversions that throw. Each is a typed
 * `PoolConfigError` naming the option (or is accepted, where it is a valid
 * value), never a defect; and a refusal accepts, starts or stops nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Scope } from "effect"
import fc from "fast-check"
import { Job, Pool, type Shutdown } from "../src/index.ts"

const boom = (): never => {
  throw new Error("hostile")
}

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
  "attempt"
]

const throwingProxy = (): object =>
  new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom })

const revokedProxy = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

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
  { name: "42", value: () => 42, asBag: "refused", validFor: ["workers", "capacity", "jobTimeout", "timeout", "attempt"] },
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
  fields: ["id", "timeout", "attempt"],
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
        // Job options that are valid are accepted; the refused ones must leave no trace.
        const bag = jobOptions((options) =>
          Effect.tap(
            pool[entry]("payload", options as Job.Options) as Effect.Effect<unknown, unknown>,
            () => Effect.sync(() => void accepted++)
          )
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
        const bags = [
          poolOptions(make),
          shutdownOption,
          outcomesOption,
          subscription,
          jobOptions((o) => pool.run("x", o as Job.Options)),
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
                  namesOf(bag).includes(error.value.option),
                `${where} at ${target ?? bag.name}: not a PoolConfigError naming it`
              )
            }
          }
        }
      }))
    }))
})

