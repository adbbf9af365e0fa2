/**
 * The vocabulary every entry point checks its input with
 * (`src/internal/options.ts`), rule by rule: what each accepts, what it
 * refuses and how it says so, and that hostile input (Proxies whose traps
 * throw, getters that throw, revoked Proxies) is a refusal naming the
 * option, never an exception that escapes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Redacted } from "effect"
import * as Options from "../src/internal/options.ts"
import { boom, revokedProxy, throwingProxy } from "./support/hostileValues.ts"
import { textOfBytes } from "./support/keepableText.ts"

/** The refusal `check` ends with; fails the test if it accepts. */
const refusal = (check: () => unknown): Options.Invalid => {
  const result = Options.checked("options", check)
  if (!Options.isInvalid(result)) assert.fail(`accepted: ${Options.describe(result)}`)
  return result
}

/** Asserts that `check` is refused for `option`, with a reason that matches `reason`. */
const refuses = (check: () => unknown, option: string, reason: RegExp) => {
  const { option: named, reason: why } = refusal(check)
  assert.strictEqual(named, option, why)
  assert.match(why, reason)
}

describe("refusals", () => {
  it("checked returns what the check returns, or the Invalid it refused with", () => {
    assert.strictEqual(Options.checked("options", () => 42), 42)
    const refused = refusal(() => Options.refuse("workers", "must be more"))
    assert.deepStrictEqual([refused.option, refused.reason], ["workers", "must be more"])
  })

  it("checked reports anything else a check throws against its option, never throwing itself", () => {
    refuses(boom, "options", /could not be read \(it threw Error: hostile\)/)
    refuses(() => {
      throw 42
    }, "options", /it threw 42/)
  })

  it("isInvalid knows a refusal from a value shaped like one, and never runs a Proxy's trap", () => {
    assert.isTrue(Options.isInvalid(new Options.Invalid("id", "bad")))
    assert.isFalse(Options.isInvalid({ option: "id", reason: "bad" }))
    assert.isFalse(Options.isInvalid(throwingProxy()))
    assert.isFalse(Options.isInvalid(new Proxy([], { has: boom, get: boom })))
  })

  it("a refusal spreads into a PoolConfigError's fields: its option and reason", () => {
    assert.deepStrictEqual({ ...new Options.Invalid("id", "bad") }, { option: "id", reason: "bad" })
  })

  it("orRefuse passes a value through and refuses with an Invalid", () => {
    assert.strictEqual(Options.orRefuse(7), 7)
    const refused = new Options.Invalid("lease", "too short")
    assert.throws(() => Options.orRefuse(refused))
    assert.strictEqual(Options.checked("options", () => Options.orRefuse(refused)), refused)
  })

  it("invalidOf keeps a refusal and names the option for anything else", () => {
    const refused = new Options.Invalid("queue", "empty")
    assert.strictEqual(Options.invalidOf("options", refused), refused)
    assert.strictEqual(Options.invalidOf("options", new Error("x")).option, "options")
  })
})

describe("reading user-given objects", () => {
  it("record accepts objects, a prototype or not, and a Proxy it does not look into", () => {
    const plain = {}
    assert.strictEqual(Options.record("options", plain), plain)
    const bare = Object.create(null)
    assert.strictEqual(Options.record("options", bare), bare)
    const proxy = throwingProxy()
    assert.strictEqual(Options.record("options", proxy), proxy)
  })

  it("record refuses what is not an object, naming the bag and what it got", () => {
    refuses(() => Options.record("shutdown", null), "shutdown", /must be an object, got null$/)
    refuses(() => Options.record("shutdown", 42), "shutdown", /got 42$/)
    refuses(() => Options.record("shutdown", "fast"), "shutdown", /got "fast"$/)
    refuses(() => Options.record("shutdown", undefined), "shutdown", /got undefined$/)
    refuses(() => Options.record("shutdown", boom), "shutdown", /got a function$/)
    refuses(() => Options.record("shutdown", []), "shutdown", /got an array$/)
    refuses(() => Options.record("shutdown", revokedProxy()), "shutdown", /got an object that cannot be read/)
  })

  it("field reads a field once, and a getter that throws is a refusal naming the field", () => {
    let reads = 0
    const source = Object.defineProperty({}, "workers", { get: () => ++reads })
    assert.strictEqual(Options.field(source, "workers", "workers"), 1)
    assert.strictEqual(reads, 1)
    refuses(() => Options.field(throwingProxy(), "timeout", "shutdown.timeout"), "shutdown.timeout", /could not be read/)
  })

  it("holds answers the predicate, and one that throws is a refusal naming the option", () => {
    assert.isTrue(Options.holds("schema", () => true))
    refuses(() => Options.holds("schema", boom), "schema", /could not be read \(it threw Error: hostile\)/)
  })

  it("orDefault stands in for undefined only: null is a value, to be checked", () => {
    assert.strictEqual(Options.orDefault(undefined, 5), 5)
    assert.strictEqual(Options.orDefault(null, 5), null)
    assert.strictEqual(Options.orDefault(0, 5), 0)
  })
})

describe("rules for values", () => {
  it("must accepts what the predicate holds of, and says what was expected and what came", () => {
    const f = () => undefined
    assert.strictEqual(Options.must("handler", f, Options.isFunction, Options.effectFunction), f)
    refuses(
      () => Options.must("handler", 42, Options.isFunction, Options.effectFunction),
      "handler",
      /^must be a function returning an Effect, got 42$/
    )
  })

  it("a Date is shown as its instant, an invalid one as such (as JSON it would be null)", () => {
    assert.strictEqual(Options.describe(new Date(0)), "1970-01-01T00:00:00.000Z")
    assert.strictEqual(Options.describe(new Date(Number.NaN)), "an invalid Date")
  })

  it("a long value is shown by its head and its length, never half a surrogate pair", () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `id-${i}`)
    const shown = Options.describe(ids)
    assert.isAtMost(shown.length, Options.shownAtMost + 30)
    assert.match(shown, /^id-0,id-1,.*… \(\d+ characters\)$/)
    assert.match(Options.describe("x".repeat(10_000)), /^"x+… \(10002 characters\)$/)
    // A pair whose halves would fall on either side of the cut is left out whole.
    const paired = Options.describe("a".repeat(Options.shownAtMost - 2) + "😀".repeat(10))
    assert.isFalse(/\p{Cs}/u.test(paired), paired)
    assert.strictEqual(Options.describe("short"), '"short"')
  })

  it("must refuses a value its predicate cannot look at, naming the option", () => {
    const isThing = (u: unknown): u is object => "thing" in (u as object)
    refuses(() => Options.must("retry", throwingProxy(), isThing, "a thing"), "retry", /could not be read/)
  })

  it("positiveInteger takes integers from 1, safe ones only", () => {
    assert.strictEqual(Options.positiveInteger("workers", 1), 1)
    assert.strictEqual(Options.positiveInteger("workers", Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)
    for (const [bad, shown] of [[0, "0"], [-1, "-1"], [1.5, "1.5"], [NaN, "NaN"], [Infinity, "Infinity"], [2 ** 53, "9007199254740992"], ["2", "\"2\""]]) {
      refuses(() => Options.positiveInteger("workers", bad), "workers", new RegExp(`^must be an integer >= 1, got ${shown}$`))
    }
  })

  it("oneOf takes one of the choices, and lists them when refusing", () => {
    assert.strictEqual(Options.oneOf("shutdown.backlog", "drain", ["drain", "return"]), "drain")
    refuses(
      () => Options.oneOf("shutdown.backlog", "keep", ["drain", "return"]),
      "shutdown.backlog",
      /^must be "drain" or "return", got "keep"$/
    )
  })

  it("nonEmptyString takes a string with something in it", () => {
    assert.strictEqual(Options.nonEmptyString("queue", "q"), "q")
    refuses(() => Options.nonEmptyString("queue", ""), "queue", /^must be a non-empty string, got ""$/)
    refuses(() => Options.nonEmptyString("queue", 7), "queue", /got 7$/)
  })

  it("refuseUnknown refuses the first key that is not an option, with a hint where there is one", () => {
    const known = new Set(["workers", "prefetch"])
    const hints = { capacity: " (use `prefetch`)" }
    Options.refuseUnknown({ workers: 1, prefetch: 2 }, known, "the pool", hints)
    refuses(
      () => Options.refuseUnknown({ workers: 1, capacity: 3 }, known, "the pool", hints),
      "capacity",
      /^is not an option of the pool \(use `prefetch`\)$/
    )
    // A key that names something every object has is no hint.
    refuses(
      () => Options.refuseUnknown({ constructor: 1 }, known, "the pool", hints),
      "constructor",
      /^is not an option of the pool$/
    )
  })
})

describe("durations", () => {
  const millis = (input: unknown, rule = Options.positive) => Duration.toMillis(Options.duration("lease", input, rule))

  it("takes what Duration takes: numbers of millis, strings, objects of its units, Durations, Infinity", () => {
    assert.strictEqual(millis(250), 250)
    assert.strictEqual(millis("2 seconds"), 2_000)
    assert.strictEqual(millis({ seconds: 1, milliseconds: 5 }), 1_005)
    assert.strictEqual(millis(Duration.minutes(1)), 60_000)
    assert.strictEqual(millis("Infinity"), Infinity)
  })

  it("refuses what is not a duration, an object with a typo included", () => {
    refuses(() => millis("soon"), "lease", /^is not a duration: "soon"$/)
    refuses(() => millis(NaN), "lease", /^is not a duration: NaN$/)
    // A `[seconds, nanos]` pair is a duration, but `Duration` reads a NaN inside one as zero.
    refuses(() => millis([NaN, 0]), "lease", /^is not a duration: NaN,0$/)
    refuses(() => millis([1, NaN]), "lease", /^is not a duration: 1,NaN$/)
    assert.strictEqual(millis([1, 500_000_000]), 1_500)
    refuses(() => millis({ second: 30 }), "lease", /^is not a duration: \{"second":30\}$/)
    refuses(() => millis({}), "lease", /^is not a duration/)
    refuses(() => millis(null), "lease", /^is not a duration/)
  })

  it("refuses negative durations, and zero unless the rule allows it", () => {
    refuses(() => millis(-5), "lease", /^must not be negative, got -5ms$/)
    refuses(() => millis(0), "lease", /^must be greater than zero$/)
    // Positive, but under a nanosecond: zero once a Duration, and said so.
    refuses(() => millis(1e-9), "lease", /^must be at least 1 nanosecond, got 1e-9 ms$/)
    assert.strictEqual(millis(0, { allowZero: true }), 0)
  })

  it("refuses a value that throws when looked at, naming the option", () => {
    refuses(() => millis(throwingProxy()), "lease", /^is not a duration \(it threw/)
  })

  it("timeoutOption is its fallback when absent, else a duration greater than zero", () => {
    const fallback = Duration.seconds(5)
    assert.strictEqual(Options.timeoutOption("commandTimeout", undefined, fallback), fallback)
    assert.strictEqual(Duration.toMillis(Options.timeoutOption("commandTimeout", 10, fallback)), 10)
    refuses(() => Options.timeoutOption("commandTimeout", 0, fallback), "commandTimeout", /greater than zero/)
  })
})

describe("a shutdown policy", () => {
  it("is read once into a plain object of the fields given", () => {
    let reads = 0
    const given = Object.defineProperty({ backlog: "return" }, "timeout", { get: () => (reads++, "1 second") })
    assert.deepStrictEqual(Options.policy("shutdown", given), { timeout: "1 second", backlog: "return" })
    assert.strictEqual(reads, 1)
    assert.deepStrictEqual(Options.policy("shutdown", {}), {})
    assert.isUndefined(Options.policy("shutdown", undefined))
  })

  it("null or a field that throws is a refusal naming it", () => {
    refuses(() => Options.policy("shutdown", null), "shutdown", /must be an object, got null/)
    const hostile = Object.defineProperty({}, "backlog", { get: boom })
    refuses(() => Options.policy("shutdown", hostile), "shutdown.backlog", /could not be read/)
  })
})

describe("submitAll's payloads", () => {
  it("an array is taken as it is, not copied", () => {
    const payloads = ["a", "b"]
    assert.strictEqual(Options.payloadList(payloads), payloads)
  })

  it("a string and any other iterable are read in full, Symbol.iterator once", () => {
    assert.deepStrictEqual(Options.payloadList("ab"), ["a", "b"])
    let reads = 0
    const set = new Set(["c", "d"])
    const counted = Object.defineProperty({}, Symbol.iterator, { get: () => (reads++, () => set.values()) })
    assert.deepStrictEqual(Options.payloadList(counted as Iterable<string>), ["c", "d"])
    assert.strictEqual(reads, 1)
  })

  it("what is not an iterable, or throws when read, is a refusal naming payloads", () => {
    for (const [bad, shown] of [[42, "42"], [null, "null"], [undefined, "undefined"], [{ length: 1 }, "an object"]] as const) {
      refuses(() => Options.payloadList(bad as unknown as Iterable<unknown>), "payloads", new RegExp(`^must be an iterable, got ${shown}$`))
    }
    refuses(() => Options.payloadList({ [Symbol.iterator]: boom }), "payloads", /could not be read/)
    refuses(() => Options.payloadList(revokedProxy() as Iterable<unknown>), "payloads", /could not be read/)
  })
})

describe("durable job ids", () => {
  it("is the id given, or none (the producer makes one)", () => {
    assert.strictEqual(Options.givenJobId({ id: "welcome-ada" }), "welcome-ada")
    assert.isUndefined(Options.givenJobId(undefined))
    assert.isUndefined(Options.givenJobId({}))
    assert.isUndefined(Options.givenJobId({ priority: 1 }))
  })

  it("refuses an id that is not a string, or that not every store can keep, naming id", () => {
    refuses(() => Options.givenJobId({ id: 42 }), "id", /^must be a string, got 42$/)
    refuses(() => Options.givenJobId({ id: "a\u0000b" }), "id", /NUL/)
    refuses(() => Options.givenJobId({ id: "a\ud800b" }), "id", /surrogate/)
    refuses(() => Options.givenJobId(null), "options", /must be an object/)
  })

  it("takes an id up to 1,024 bytes of UTF-8, counted in bytes, and refuses one byte more, naming id", () => {
    assert.strictEqual(Options.maxJobIdBytes, 1_024)
    // Each of these is exactly 1,024 bytes: 1, 2, 3 and 4 bytes a character, and all mixed.
    const atLimit = ["a".repeat(1_024), "é".repeat(512), "€".repeat(341) + "a", "😀".repeat(256), textOfBytes(1_024)]
    for (const id of atLimit) {
      assert.strictEqual(Options.givenJobId({ id }), id)
      assert.strictEqual(Options.keepableJobId(id, "ids"), id)
      refuses(() => Options.givenJobId({ id: id + "a" }), "id", /^must be at most 1024 bytes of UTF-8, got 1025$/)
      refuses(() => Options.keepableJobId(id + "a", "ids"), "ids", /^must be at most 1024 bytes of UTF-8, got 1025$/)
    }
    // 512 characters, but 1,026 bytes: the limit is in bytes.
    refuses(() => Options.givenJobId({ id: "é".repeat(513) }), "id", /got 1026$/)
    refuses(() => Options.givenJobId({ id: "😀".repeat(257) }), "id", /got 1028$/)
  })

  it("unkeepableJobId says which batch a store cannot take", () => {
    assert.isUndefined(Options.unkeepableJobId([{ id: "a" }]))
    assert.strictEqual(Options.unkeepableJobId([{ id: "a" }, { id: 7 }]), "a job id must be a string, got 7")
    assert.match(Options.unkeepableJobId([{ id: "a" }, { id: "b\u0000" }])!, /^the job id "b\\u0000" must not contain the NUL character/)
    assert.match(Options.unkeepableJobId([{ id: "\udc00" }])!, /^the job id "\\udc00" must not contain half of a UTF-16 surrogate pair/)
    const long = Options.unkeepableJobId([{ id: "x".repeat(Options.maxJobIdBytes + 1) }])!
    assert.strictEqual(long, `the job id "${"x".repeat(64)}"... must be at most ${Options.maxJobIdBytes} bytes of UTF-8, got ${Options.maxJobIdBytes + 1}`)
    assert.isUndefined(Options.unkeepableJobId([{ id: "x".repeat(Options.maxJobIdBytes) }]))
  })
})

describe("store URLs", () => {
  const schemes = ["redis", "rediss"]

  it("takes a URL of the engine's schemes, as a string or Redacted", () => {
    assert.strictEqual(Options.storeUrl("redis://127.0.0.1:6379", schemes), "redis://127.0.0.1:6379")
    assert.strictEqual(Options.storeUrl(Redacted.make("rediss://h"), schemes), "rediss://h")
  })

  it("refuses another scheme, a bad port, a non-string, never repeating the URL", () => {
    refuses(() => Options.storeUrl("ftp://h", schemes), "url", /^must be a redis:\/\/ or rediss:\/\/ URL, got ftp:$/)
    refuses(() => Options.storeUrl("redis://user:hunter2@h:0", schemes), "url", /^has port "0": a port is a number/)
    refuses(() => Options.storeUrl("redis://user:hunter2@h:abc", schemes), "url", /^has port "abc"/)
    refuses(() => Options.storeUrl(42, schemes), "url", /URL, got 42$/)
    refuses(() => Options.storeUrl("not a url", schemes), "url", /got no scheme$/)
    assert.notInclude(refusal(() => Options.storeUrl("redis://user:hunter2@h:99999", schemes)).reason, "hunter2")
  })
})

describe("describe", () => {
  it("renders any value, never throwing", () => {
    assert.strictEqual(Options.describe("x"), "\"x\"")
    assert.strictEqual(Options.describe(-1n), "-1n")
    assert.strictEqual(Options.describe(boom), "a function")
    assert.strictEqual(Options.describe({ a: 1 }), "{\"a\":1}")
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    assert.strictEqual(Options.describe(cycle), "[object Object]")
    assert.strictEqual(Options.describe(throwingProxy()), "a value that cannot be shown")
    assert.strictEqual(Options.describe(revokedProxy()), "a value that cannot be shown")
  })
})

describe("queue names", () => {
  it("takes a non-empty name up to 512 bytes of UTF-8, counted in bytes, naming queue when it refuses", () => {
    assert.strictEqual(Options.maxQueueBytes, 512)
    const atLimit = ["q".repeat(512), "é".repeat(256), "€".repeat(170) + "ab", "😀".repeat(128), textOfBytes(512)]
    for (const queue of atLimit) {
      assert.strictEqual(Options.keepableQueue(queue), queue)
      assert.isUndefined(Options.unkeepableQueue(queue))
      refuses(() => Options.keepableQueue(queue + "q"), "queue", /^must be at most 512 bytes of UTF-8, got 513$/)
      assert.strictEqual(Options.unkeepableQueue(queue + "q"), "the queue's name must be at most 512 bytes of UTF-8, got 513")
    }
    refuses(() => Options.keepableQueue("é".repeat(257)), "queue", /got 514$/)
    assert.strictEqual(Options.keepableQueue("orders"), "orders")
  })

  it("refuses what an id may not hold, and an empty name or one that is not a string", () => {
    refuses(() => Options.keepableQueue("a\u0000b"), "queue", /NUL/)
    refuses(() => Options.keepableQueue("X\ud800"), "queue", /surrogate/)
    refuses(() => Options.keepableQueue("X\udbff"), "queue", /surrogate/)
    refuses(() => Options.keepableQueue(""), "queue", /^must be a non-empty string, got ""$/)
    refuses(() => Options.keepableQueue(7), "queue", /^must be a non-empty string, got 7$/)
    refuses(() => Options.keepableQueue("a\u0000", "source"), "source", /NUL/)
  })

  it("unkeepableQueue says why a store cannot take a queue's name, of the queue's name", () => {
    assert.match(Options.unkeepableQueue("a\u0000b")!, /^the queue's name must not contain the NUL character/)
    assert.match(Options.unkeepableQueue("X\ud800")!, /^the queue's name must not contain half of a UTF-16 surrogate pair/)
    assert.strictEqual(Options.unkeepableQueue(""), "the queue's name must be a non-empty string, got \"\"")
    assert.strictEqual(Options.unkeepableQueue(7), "the queue's name must be a non-empty string, got 7")
    assert.strictEqual(Options.unkeepableQueue(undefined), "the queue's name must be a non-empty string, got undefined")
  })
})
