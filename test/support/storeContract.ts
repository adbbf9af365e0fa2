/**
 * The rules every `Store` keeps (see `src/durable/Store.ts`), as one suite
 * that each engine runs: in memory under the TestClock, on Redis and on
 * PostgreSQL against real servers in real time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Config, ConfigProvider, Context, Duration, Effect, Exit, Layer, Redacted, Schema, type Scope } from "effect"
import { type Lease, newIdsOffer, readyOnlyClaim, Store as StoreService, type Store, type StoreError } from "../../src/durable/Store.ts"
import { Durable } from "../../src/index.ts"
import type { PoolConfigError } from "../../src/Pool.ts"
import { latestRunAt, maxDelay } from "../../src/durable/times.ts"
import { maxJobIdBytes, maxQueueBytes } from "../../src/internal/options.ts"
import { textOfBytes } from "./keepableText.ts"

/**
 * `make` on options that are valid: its `PoolConfigError` would be a bug in
 * the test, so only its `StoreError` (the server's doing) is left to check.
 */
export const connecting = <A, E, R>(make: Effect.Effect<A, E | PoolConfigError, R>): Effect.Effect<A, Exclude<E, PoolConfigError>, R> =>
  Effect.catchIf(make, (error): error is PoolConfigError => (error as { _tag?: unknown })._tag === "PoolConfigError", Effect.die) as never

export interface ContractOptions {
  /** A fresh store; queues are named per test, so one server can serve all tests. */
  readonly make: Effect.Effect<Store, StoreError | PoolConfigError, Scope.Scope>
  /** Lets `ms` milliseconds pass: `TestClock.adjust` in memory, a real sleep on a server. */
  readonly elapse: (ms: number) => Effect.Effect<void>
  /** `it.effect` (TestClock) or `it.live` (real servers). */
  readonly test: typeof it.effect
}

let lastQueue = 0
const queueName = () => `contract-${process.pid}-${Date.now()}-${++lastQueue}`
/**
 * A fresh queue's name of exactly `maxQueueBytes` (512) bytes of UTF-8,
 * random text of every width after its prefix. The limits are read from the
 * source: raised past what an engine keeps, the tests at the limit fail on it.
 */
const longestQueueName = () => textOfBytes(maxQueueBytes, `${queueName()}-`)
/** Queue names no store can keep, each with what its refusal says. */
const unkeepableQueues = (): ReadonlyArray<readonly [string, RegExp]> => [
  [`${queueName()}\ud800`, /surrogate/],
  [`${queueName()}\udbff`, /surrogate/],
  [`${queueName()}\u0000`, /NUL/],
  [textOfBytes(maxQueueBytes + 1, `${queueName()}-`), new RegExp(`at most ${maxQueueBytes} bytes of UTF-8, got ${maxQueueBytes + 1}$`)],
  // Fewer characters than the limit, more bytes.
  [`${queueName()}-${"é".repeat(maxQueueBytes / 2)}`, /at most \d+ bytes of UTF-8/],
  ["", /non-empty/]
]
const jobs = (n: number, prefix = "j") => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, payload: { n: i } }))
const minute = Duration.minutes(1)
const empty = { ready: 0, leased: 0, completed: 0, buried: 0 }

const throwing = () => {
  throw new Error("a hostile getter")
}
/** A Proxy whose every trap throws. */
const hostile = new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing })

/**
 * Per-job options a durable pool must refuse, on every store alike, with a
 * `PoolConfigError` naming what is wrong, before the store is asked: an id
 * that is not a string, or that holds text not every store can keep.
 */
export const badJobOptions: ReadonlyArray<readonly [string, unknown, string]> = [
  ["a number id", { id: 42 }, "id"],
  ["a null id", { id: null }, "id"],
  ["an object id", { id: {} }, "id"],
  ["an array id", { id: ["a"] }, "id"],
  ["an id with NUL", { id: "a\u0000b" }, "id"],
  ["an id with half a surrogate pair", { id: "a\ud800" }, "id"],
  ["an id one byte over 1,024 bytes of UTF-8", { id: textOfBytes(maxJobIdBytes + 1) }, "id"],
  ["an id of 513 two-byte characters (1,026 bytes)", { id: "é".repeat(maxJobIdBytes / 2 + 1) }, "id"],
  ["an id whose getter throws", Object.defineProperty({}, "id", { get: throwing }), "id"],
  ["options a Proxy whose traps throw", hostile, "id"],
  ["options null", null, "options"],
  ["options a number", 42, "options"],
  ["options a string", "id", "options"],
  ["options an array", ["id"], "options"]
]

/** Payloads for `submitAll` that are no list of payloads. */
export const badPayloadLists: ReadonlyArray<readonly [string, unknown]> = [
  ["null", null],
  ["a number", 42],
  ["an object", {}],
  ["an iterable that throws", { [Symbol.iterator]: throwing }],
  ["a Proxy whose traps throw", hostile]
]

/**
 * Milliseconds since `start` on the test's clock: what a reading of a delay
 * may have lost meanwhile, however loaded the machine (the 50 ms the
 * assertions allow more are the engines' rounding of times).
 */
const sinceMillis = (start: number) => Effect.map(Clock.currentTimeMillis, (now) => now - start)

export const storeContract = (name: string, { elapse, make, test }: ContractOptions) =>
  describe(`${name} store contract`, () => {
    test("offer stores each id once; claim leases in order, counting attempts from 1", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(3))
        yield* store.offer(queue, [{ id: "j1", payload: { n: 99 } }]) // a duplicate id: ignored
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 3, leased: 0, completed: 0, buried: 0 })
        const claimed = yield* store.claim(queue, 2, minute)
        assert.deepStrictEqual(claimed.map(({ attempt, id, payload }) => ({ id, payload, attempt })), [
          { id: "j0", payload: { n: 0 }, attempt: 1 },
          { id: "j1", payload: { n: 1 }, attempt: 1 }
        ])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 2, completed: 0, buried: 0 })
        assert.strictEqual((yield* store.claim(queue, 10, minute)).length, 1)
        assert.strictEqual((yield* store.claim(queue, 10, minute)).length, 0, "nothing is ready: an empty claim")
      })))

    test("a delay or run-at of the smallest number is taken, and ready within a millisecond", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, [{ id: "d", payload: 0, delay: Number.MIN_VALUE }, { id: "r", payload: 0, runAt: Number.MIN_VALUE }])
        yield* elapse(1)
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id).sort(), ["d", "r"])
      })))

    test("complete acknowledges for good: never claimed again, and its id is not stored again", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(2))
        const claimed = yield* store.claim(queue, 2, Duration.millis(100))
        yield* store.complete(queue, claimed)
        yield* elapse(200)
        yield* store.offer(queue, jobs(1))
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 2, buried: 0 })
      })))

    test("complete without keeping deletes the jobs at once: counted, unknown to lookup and cancel, their ids new again; a stale lease is left alone", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const drop = { keep: false }
        // A priority and settings of its own, which must go with it.
        yield* store.offer(queue, [{ id: "j0", payload: { n: 0 }, priority: -5, settings: "own" }, ...jobs(3).slice(1)])
        const [done, slow] = yield* store.claim(queue, 2, Duration.millis(200))
        assert.deepStrictEqual([done?.id, done?.settings, slow?.id], ["j0", "own", "j1"])
        // The same lease twice in one call, and the call repeated (its reply lost): completed once.
        yield* store.complete(queue, [done!, done!], drop)
        yield* store.complete(queue, [done!], drop)
        assert.strictEqual(yield* store.lookup(queue, done!.id), undefined, "a completed job not to be kept was kept")
        assert.strictEqual(yield* store.cancel(queue, done!.id), undefined)
        // Its lease is no longer held: answered, and nothing renewed.
        assert.deepStrictEqual(yield* store.extend(queue, [done!], minute), [done!.id])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 1, completed: 1, buried: 0 })
        // The slow holder's lease runs out and passes to another: its completion must not delete the new holder's job.
        yield* elapse(300)
        const [again] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(again?.id, slow!.id)
        yield* store.complete(queue, [slow!], drop)
        assert.strictEqual((yield* store.lookup(queue, slow!.id))?.state, "leased", "a stale lease deleted the job")
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 1, completed: 1, buried: 0 })
        yield* store.complete(queue, [again!], drop)
        assert.strictEqual(yield* store.lookup(queue, slow!.id), undefined)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 0, completed: 2, buried: 0 })
        // Their ids are free: offered again, they are new jobs (the one still ready is not stored twice).
        assert.deepStrictEqual(yield* store.offer(queue, jobs(3, "j").map((job) => ({ ...job, payload: { again: job.id } }))), [])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 3, leased: 0, completed: 2, buried: 0 })
        assert.strictEqual((yield* store.lookup(queue, "j0"))?.priority, 0, "the deleted job's priority stayed")
        const claimed = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual(
          claimed.map(({ attempt, id, payload, settings }) => ({ id, payload, attempt, ...(settings === undefined ? {} : { settings }) })),
          [
            { id: "j2", payload: { n: 2 }, attempt: 1 },
            { id: "j0", payload: { again: "j0" }, attempt: 1 },
            { id: "j1", payload: { again: "j1" }, attempt: 1 }
          ]
        )
      })))

    test("retry makes a job ready again after its delay, as the next attempt", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        const [first] = yield* store.claim(queue, 1, minute)
        assert.isTrue(yield* store.retry(queue, first!, Duration.millis(300)), "a held lease is taken")
        assert.deepStrictEqual(yield* store.claim(queue, 1, minute), [], "claimed before its delay")
        yield* elapse(400)
        const [second] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(second?.attempt, 2)
        assert.notStrictEqual(second?.token, first!.token)
      })))

    test("retry with the attempt given back (a snooze): ready again after its delay, as the same attempt", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        const [first] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(first?.attempt, 1)
        const retrying = { attemptGivenBack: true }
        assert.isTrue(yield* store.retry(queue, first!, Duration.millis(300), retrying), "a held lease is taken")
        assert.strictEqual((yield* store.lookup(queue, first!.id))?.attempts, 0)
        // Waiting for its time as a retry does: counted ready, listed upcoming with its attempt given back, due.
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 1 })
        if (store.upcoming !== undefined) {
          assert.deepStrictEqual((yield* store.upcoming(queue, 10)).map((job) => [job.id, job.attempts]), [[first!.id, 0]])
        }
        if (store.due !== undefined) assert.isAbove((yield* store.due(queue)) ?? 0, 0, "due: it waits")
        assert.deepStrictEqual(yield* store.claim(queue, 1, minute), [], "claimed before its delay")
        yield* elapse(400)
        const [second] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(second?.attempt, 1, "the same attempt")
        // Again at once, then a plain retry: that one counts.
        assert.isTrue(yield* store.retry(queue, second!, Duration.zero, retrying))
        const [third] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(third?.attempt, 1)
        assert.isFalse(yield* store.retry(queue, second!, Duration.zero, retrying), "a stale snooze is not taken")
        assert.strictEqual((yield* store.lookup(queue, first!.id))?.attempts, 1, "a stale snooze gives nothing back")
        assert.isTrue(yield* store.retry(queue, third!, Duration.zero))
        const [fourth] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(fourth?.attempt, 2)
        // Not given back when the option says false: a plain retry.
        assert.isTrue(yield* store.retry(queue, fourth!, Duration.zero, { attemptGivenBack: false }))
        const [fifth] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(fifth?.attempt, 3)
      })))

    test("bury dead-letters a job: counted, listed with its error and attempts, never claimed", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(2))
        const claimed = yield* store.claim(queue, 2, minute)
        assert.isTrue(yield* store.bury(queue, claimed[0]!, "BadPayload: no"), "a held lease is taken")
        yield* store.complete(queue, [claimed[1]!])
        const [{ cursor, ...letter }, ...others] = yield* store.buried(queue, 10)
        assert.deepStrictEqual([letter, ...others], [{ id: "j0", payload: { n: 0 }, attempts: 1, error: "BadPayload: no" }])
        assert.isString(cursor)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 1 })
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])
      })))

    test("dead letters are listed in the order they were buried: one redriven and buried again comes last", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(3))
        const byId = new Map((yield* store.claim(queue, 3, minute)).map((lease) => [lease.id, lease]))
        for (const id of ["j2", "j0", "j1"]) yield* store.bury(queue, byId.get(id)!, "no")
        const listed = Effect.map(store.buried(queue, 10), (all) => all.map((job) => job.id))
        assert.deepStrictEqual(yield* listed, ["j2", "j0", "j1"])
        yield* store.redrive(queue, ["j2"])
        const [again] = yield* store.claim(queue, 1, minute)
        yield* store.bury(queue, again!, "no again")
        assert.deepStrictEqual(yield* listed, ["j0", "j1", "j2"])
      })))

    test("dead letters are listed a page at a time after a cursor, from a place redriven since", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(7))
        for (const lease of yield* store.claim(queue, 7, minute)) yield* store.bury(queue, lease, "no")
        const all = (yield* store.buried(queue, 10)).map((job) => job.id)
        assert.strictEqual(all.length, 7)
        /** Every page of `size` from the first, each after the previous page's last cursor. */
        const pages = (size: number) =>
          Effect.gen(function*() {
            const out: Array<ReadonlyArray<string>> = []
            let after: string | undefined
            for (;;) {
              const page = yield* store.buried(queue, size, undefined, after)
              if (page.length === 0) return out
              out.push(page.map((job) => job.id))
              after = page.at(-1)!.cursor
            }
          })
        for (const size of [1, 2, 3, 7]) assert.deepStrictEqual((yield* pages(size)).flat(), all, `pages of ${size}`)
        assert.deepStrictEqual((yield* pages(3)).map((page) => page.length), [3, 3, 1])
        // The place holds once its dead letter is gone, and one buried again comes after every other.
        const [, second] = yield* store.buried(queue, 2)
        yield* store.redrive(queue, [second!.id])
        const [again] = yield* store.claim(queue, 1, minute)
        yield* store.bury(queue, again!, "no again")
        const rest = (yield* store.buried(queue, 10, undefined, second!.cursor)).map((job) => job.id)
        assert.deepStrictEqual(rest, [...all.slice(2), second!.id])
      })))

    /** Texts of no cursor's form (`cursor.ts`): each store refuses them alike. */
    const notCursors = [
      "", "x", "1.2.3", "-1", "1e5", " 1", "5.", ".5", "1".repeat(20), `1.${"1".repeat(19)}`,
      ":", ":QQ", "1:+/", "1:QQ=", `1:${"A".repeat(1367)}`, "1:QQ:QQ"
    ]
    /** Cursors of the form, of every store and listing, and the extremes of each part. */
    const cursorsOfEveryKind = [
      "0", "9".repeat(19), `0.${"9".repeat(18)}`, "1765051234567.1001", "8640000000000000000.1",
      "1765051234567:", "1765051234567:8J-YgA", "1765051234567.5:_w", `0:${"_".repeat(1366)}`
    ]

    test("buried refuses an after that is no cursor, on every store alike", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        for (const after of notCursors) {
          const error = yield* Effect.flip(store.buried(queue, 10, undefined, after))
          assert.include(error.reason, "a `cursor` a listing gave", JSON.stringify(after))
          assert.isFalse(error.retryable)
        }
        // Any cursor of the form is read, whichever store or listing wrote it: a place before or after every dead letter.
        for (const after of cursorsOfEveryKind) assert.isArray(yield* store.buried(queue, 10, undefined, after), after)
      })))

    test("buried with maxPayloadBytes gives no payload whose JSON text is larger, in bytes of UTF-8", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        // JSON texts of 12, 12 and 13 bytes: two-byte characters count twice.
        const payloads = ["a".repeat(10), "é".repeat(5), "a".repeat(11)]
        yield* store.offer(queue, payloads.map((payload, i) => ({ id: `j${i}`, payload })))
        for (const lease of yield* store.claim(queue, 3, minute)) yield* store.bury(queue, lease, "no")
        const listed = (most?: number) => Effect.map(store.buried(queue, 10, most), (all) => all.map((job) => job.payload))
        assert.deepStrictEqual(yield* listed(12), [payloads[0], payloads[1], undefined])
        assert.deepStrictEqual(yield* listed(11), [undefined, undefined, undefined])
        assert.deepStrictEqual(yield* listed(), payloads)
      })))

    test("release gives a job back at once, without counting the attempt", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        yield* store.release(queue, yield* store.claim(queue, 1, minute))
        const [again] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(again?.attempt, 1)
      })))

    test("a lease that runs out is claimed again; the old holder can no longer end it", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        const [first] = yield* store.claim(queue, 1, Duration.millis(200))
        assert.deepStrictEqual(yield* store.claim(queue, 1, minute), [], "claimed while leased")
        yield* elapse(300)
        const [second] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(second?.attempt, 2)
        // The presumed-dead holder wakes up: its acknowledgement must not count.
        yield* store.complete(queue, [first!])
        assert.isFalse(yield* store.retry(queue, first!, Duration.zero), "a stale retry is not taken")
        assert.isFalse(yield* store.bury(queue, first!, "stale"), "a stale burial is not taken")
        yield* store.release(queue, [first!])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
        yield* store.complete(queue, [second!])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
      })))

    test("a lease that ran out but was not claimed again still belongs to its holder", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(2))
        const first = yield* store.claim(queue, 2, Duration.millis(200))
        yield* elapse(300)
        // Both leases ran out; a claim for one takes one of them (either: order is the engine's).
        const taken = yield* store.claim(queue, 1, minute)
        assert.strictEqual(taken.length, 1)
        const other = first.find((job) => job.id !== taken[0]!.id)!
        // Its holder was slow, not dead: its acknowledgement still counts.
        yield* store.complete(queue, [other])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 1, completed: 1, buried: 0 })
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [], "an acknowledged job was claimed again")
      })))

    test("extend keeps a running job's lease from running out", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        const claimed = yield* store.claim(queue, 1, Duration.millis(300))
        yield* elapse(150)
        yield* store.extend(queue, claimed, Duration.millis(600))
        yield* elapse(300)
        assert.deepStrictEqual(yield* store.claim(queue, 1, minute), [], "an extended lease ran out")
      })))

    test("concurrent claimers never get the same job", () =>
      Effect.scoped(Effect.gen(function*() {
        const [a, b] = [yield* make, yield* make]
        const queue = queueName()
        yield* a.offer(queue, jobs(200))
        const drain = (store: Store) =>
          Effect.gen(function*() {
            const ids: Array<string> = []
            while (true) {
              const claimed = yield* store.claim(queue, 7, minute)
              if (claimed.length === 0) return ids
              ids.push(...claimed.map((job) => job.id))
              yield* store.complete(queue, claimed)
            }
          })
        const [fromA, fromB] = yield* Effect.all([drain(a), drain(b)], { concurrency: 2 })
        const all = [...fromA, ...fromB]
        assert.strictEqual(new Set(all).size, all.length, "a job was claimed twice")
        assert.strictEqual(all.length, 200)
        assert.strictEqual((yield* a.counts(queue)).completed, 200)
      })))

    test("a job id that is not a string is refused by offer with a StoreError, and nothing of the batch is stored", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const jobs = [{ id: "fine", payload: 1 }, { id: 42 as unknown as string, payload: 2 }]
        const exit = yield* Effect.exit(store.offer(queue, jobs))
        assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error.operation, "offer")
        assert.include(error.reason, "42")
        assert.isFalse(error.retryable, "the same batch would be refused again")
        assert.deepStrictEqual(yield* store.counts(queue), empty)
      })))

    test("the longest id (1,024 bytes of UTF-8) on the longest queue name (512), random text of every width, is stored, claimed, dead-lettered, redriven and completed", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = longestQueueName()
        const id = textOfBytes(maxJobIdBytes)
        const other = textOfBytes(maxJobIdBytes, "", 7)
        assert.deepStrictEqual(yield* store.offer(queue, [{ id, payload: { n: 1 } }, { id: other, payload: { n: 2 } }]), [])
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 2 })
        const [first, second] = yield* store.claim(queue, 2, minute)
        assert.deepStrictEqual([first?.id, first?.payload, second?.id], [id, { n: 1 }, other])
        yield* store.bury(queue, first!, "no")
        assert.deepStrictEqual((yield* store.buried(queue, 10)).map((job) => job.id), [id])
        assert.strictEqual(yield* store.redrive(queue, [id]), 1)
        const [again] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(again?.id, id)
        yield* store.complete(queue, [again!, second!])
        assert.strictEqual((yield* store.lookup(queue, id))?.state, "completed")
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, completed: 2 })
      })))

    test("a queue name no store can keep is refused by each operation with a StoreError, not retryable; nothing is stored", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        for (const [queue, reason] of unkeepableQueues()) {
          for (
            const [operation, effect] of [
              ["offer", store.offer(queue, jobs(1))],
              ["claim", store.claim(queue, 1, minute)],
              ["counts", store.counts(queue)],
              ["lookup", store.lookup(queue, "j0")]
            ] as const
          ) {
            const exit = yield* Effect.exit(effect as Effect.Effect<unknown, StoreError>)
            assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
            const error = yield* Effect.flip(exit)
            assert.deepStrictEqual([error.operation, error.retryable], [operation, false], error.reason)
            assert.match(error.reason, reason)
          }
        }
        // Half a surrogate pair is not read as U+FFFD (PostgreSQL's reading): nothing went to that queue.
        const base = queueName()
        assert.strictEqual((yield* Effect.flip(store.offer(`${base}\ud800`, jobs(1)))).retryable, false)
        assert.deepStrictEqual(yield* store.counts(`${base}\ufffd`), empty)
      })))

    test("an id no store can keep is refused alike by each operation that names ids, not retryable; nothing is stored or touched", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        // The job PostgreSQL would find for half a surrogate pair, were it asked.
        yield* store.offer(queue, [{ id: "order-\ufffd", payload: { n: 0 } }])
        const bad: ReadonlyArray<readonly [string, RegExp]> = [
          ["order-\ud800", /^the job id "order-\\ud800" must not contain half of a UTF-16 surrogate pair/],
          ["a\u0000", /^the job id "a\\u0000" must not contain the NUL character/],
          ["x".repeat(maxJobIdBytes + 1), new RegExp(`\\.\\.\\. must be at most ${maxJobIdBytes} bytes of UTF-8, got ${maxJobIdBytes + 1}$`)]
        ]
        for (const [id, reason] of bad) {
          for (
            const [operation, effect] of [
              ["offer", store.offer(queue, [{ id: "fine", payload: { n: 1 } }, { id, payload: { n: 2 } }])],
              ["lookup", store.lookup(queue, id)],
              ["cancel", store.cancel(queue, id)],
              ["redrive", store.redrive(queue, [id])],
              ["remove", store.remove(queue, [id])]
            ] as const
          ) {
            const error = yield* Effect.flip(effect as Effect.Effect<unknown, StoreError>)
            assert.deepStrictEqual([error.operation, error.retryable], [operation, false], error.reason)
            assert.match(error.reason, reason)
          }
        }
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 1 })
        assert.strictEqual((yield* store.lookup(queue, "order-\ufffd"))?.state, "ready")
        assert.isUndefined(yield* store.lookup(queue, "fine"))
      })))

    test("max and limit count whole jobs, at most 2^31-1; below 1 or NaN they ask for nothing", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(5))
        for (const max of [0, -1, 0.5, Number.NaN, -Infinity]) {
          assert.deepStrictEqual(yield* store.claim(queue, max, minute), [], `claim(${max})`)
        }
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, ready: 5 })
        assert.deepStrictEqual((yield* store.claim(queue, 1.9, minute)).map((job) => job.id), ["j0"])
        const rest = yield* store.claim(queue, Infinity, minute)
        assert.deepStrictEqual(rest.map((job) => job.id), ["j1", "j2", "j3", "j4"])
        for (const job of rest.slice(0, 3)) yield* store.bury(queue, job, "no")
        for (const limit of [0, -1, 0.5, Number.NaN]) {
          assert.deepStrictEqual(yield* store.buried(queue, limit), [], `buried(${limit})`)
        }
        assert.deepStrictEqual((yield* store.buried(queue, 2.5)).map((job) => job.id), ["j1", "j2"])
        assert.strictEqual((yield* store.buried(queue, 2 ** 40)).length, 3)
      })))

    test("an empty batch does nothing and succeeds", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        assert.deepStrictEqual(yield* store.offer(queue, []), [])
        yield* store.complete(queue, [])
        yield* store.release(queue, [])
        assert.deepStrictEqual(yield* store.extend(queue, [], minute), [])
        assert.strictEqual(yield* store.redrive(queue, []), 0)
        assert.strictEqual(yield* store.remove(queue, []), 0)
        assert.deepStrictEqual(yield* store.counts(queue), empty)
      })))

    test("lookup tells a job's state, attempts, run-at and error; undefined for an unknown id", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        assert.strictEqual(yield* store.lookup(queue, "nobody"), undefined)
        yield* store.offer(queue, jobs(4))
        const ready = yield* store.lookup(queue, "j0")
        assert.deepStrictEqual([ready?.id, ready?.state, ready?.attempts, ready?.error], ["j0", "ready", 0, undefined])
        assert.instanceOf(ready?.runAt, Date)
        const [a, b, c] = yield* store.claim(queue, 3, minute)
        const leased = yield* store.lookup(queue, a!.id)
        assert.deepStrictEqual([leased?.state, leased?.attempts], ["leased", 1])
        assert.isAbove(leased!.runAt!.getTime(), ready!.runAt!.getTime() + 30_000, "a lease runs out a minute on")
        yield* store.retry(queue, b!, minute)
        const waiting = yield* store.lookup(queue, b!.id)
        assert.deepStrictEqual([waiting?.state, waiting?.attempts], ["ready", 1])
        assert.isAbove(waiting!.runAt!.getTime(), ready!.runAt!.getTime() + 30_000, "a retry runs after its delay")
        yield* store.bury(queue, c!, "Boom: no")
        assert.deepStrictEqual(yield* store.lookup(queue, c!.id), {
          id: c!.id,
          state: "buried",
          attempts: 1,
          runAt: undefined,
          priority: 0,
          error: "Boom: no"
        })
        yield* store.complete(queue, [a!])
        assert.deepStrictEqual(yield* store.lookup(queue, a!.id), {
          id: a!.id,
          state: "completed",
          attempts: 1,
          runAt: undefined,
          priority: 0,
          error: undefined
        })
      })))

    test("a delayed job is not claimed before its delay, then is; lookup shows its run-at, due how long is left", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        assert.strictEqual(yield* store.due!(queue), undefined, "an empty queue: nothing is due")
        const before = yield* Clock.currentTimeMillis
        yield* store.offer(queue, [{ id: "later", payload: 1, delay: 1_000 }, { id: "now", payload: 2 }])
        const left = yield* store.due!(queue)
        assert.isDefined(left)
        assert.isAtMost(left!, 1_000)
        assert.isAtLeast(left!, 1_000 - (yield* sinceMillis(before)) - 50, "the delay left, less what passed since the offer")
        const info = yield* store.lookup(queue, "later")
        assert.strictEqual(info?.state, "ready")
        assert.isAtLeast(info!.runAt!.getTime(), before + 1_000 - 50, "lookup shows when it runs")
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["now"])
        yield* elapse(1_200)
        assert.strictEqual(yield* store.due!(queue), 0, "its time has come: due now, until claimed")
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["later"])
        assert.strictEqual(yield* store.due!(queue), undefined, "claimed: nothing waits")
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 2, completed: 0, buried: 0 })
      })))

    test("a claim that comes back short says what due says then (not as one of its keys); a full one says nothing", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const none = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual([none.length, none.due], [0, { untilDue: undefined }], "an empty queue: nothing waits")
        // The reading is not one of the answer's keys: it compares and serializes as the plain array it was.
        assert.deepStrictEqual(Object.keys(none), [])
        assert.strictEqual(JSON.stringify(none), "[]")
        const before = yield* Clock.currentTimeMillis
        yield* store.offer(queue, [{ id: "later", payload: 1, delay: 1_000 }, { id: "now", payload: 2 }])
        const short = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual(short.map((job) => job.id), ["now"])
        const left = short.due?.untilDue
        assert.isDefined(left, "a job waits: the short claim says when it is due")
        assert.isAtMost(left!, 1_000)
        assert.isAtLeast(left!, 1_000 - (yield* sinceMillis(before)) - 50, "the delay left, less what passed since the offer")
        yield* elapse(1_200)
        const late = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual([late.map((job) => job.id), late.due], [["later"], { untilDue: undefined }], "claimed: nothing waits")
        const full = queueName()
        yield* store.offer(full, [...jobs(2), { id: "waiting", payload: 3, delay: 60_000 }])
        const claimed = yield* store.claim(full, 2, minute)
        assert.deepStrictEqual([claimed.length, claimed.due], [2, undefined], "full: the claim did not read due")
      })))

    test("a ready-only claim takes the ready jobs by priority and, short, reads due; what it may leave (a lease that ran out, a job whose time came) the next full claim takes", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, [{ id: "expired", payload: 0 }])
        yield* store.claim(queue, 1, Duration.millis(1))
        yield* store.offer(queue, [
          { id: "due", payload: 1, delay: 1 },
          { id: "later", payload: 2, delay: 60_000 },
          { id: "low", payload: 3, priority: 5 },
          { id: "high", payload: 4 }
        ])
        yield* elapse(50)
        const first = yield* store.claim(queue, 10, minute, { readyOnly: true })
        const ids = first.map((job) => job.id)
        assert.deepStrictEqual(ids.filter((id) => id === "high" || id === "low"), ["high", "low"])
        assert.isDefined(first.due, "a short claim says what due says")
        const second = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual([...ids, ...second.map((job) => job.id)].sort(), ["due", "expired", "high", "low"], "each once")
      })))

    test("a job ready when stored (a delay of 0, a run-at past) is claimed in its order of offer; due does not count it", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const now = yield* Clock.currentTimeMillis
        yield* store.offer(queue, [{ id: "a", payload: 1, delay: 0 }, { id: "b", payload: 2, runAt: now - 1_000 }, { id: "c", payload: 3 }])
        assert.strictEqual(yield* store.due!(queue), undefined)
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["a", "b", "c"])
      })))

    test("runAt: a job waits for an instant by the store's clock; one in the past is ready now", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const now = yield* Clock.currentTimeMillis
        yield* store.offer(queue, [
          { id: "soon", payload: 1, runAt: now + 1_000 },
          { id: "past", payload: 2, runAt: now - 60_000 }
        ])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 2, leased: 0, completed: 0, buried: 0 }, "a waiting job counts as ready")
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["past"])
        yield* elapse(1_200)
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["soon"])
      })))

    test("upcoming lists the jobs that wait for their time, soonest first, with run-at and attempts; not the ready ones", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        assert.deepStrictEqual(yield* store.upcoming!(queue, 10), [], "an empty queue: nothing waits")
        const now = yield* Clock.currentTimeMillis
        yield* store.offer(queue, [
          { id: "later", payload: 1, delay: 60_000 },
          { id: "sooner", payload: 2, runAt: now + 30_000 },
          { id: "now", payload: 3 },
          { id: "failing", payload: 4 },
          { id: "idle", payload: 5 }
        ])
        const claimed = yield* store.claim(queue, 2, minute)
        assert.deepStrictEqual(claimed.map((job) => job.id), ["now", "failing"])
        yield* store.retry(queue, claimed[1]!, Duration.seconds(45))
        const listed = yield* store.upcoming!(queue, 10)
        assert.deepStrictEqual(listed.map((job) => [job.id, job.attempts]), [["sooner", 0], ["failing", 1], ["later", 0]])
        assert.approximately(listed[0]!.runAt.getTime(), now + 30_000, 5_000)
        assert.approximately(listed[1]!.runAt.getTime(), now + 45_000, 5_000)
        assert.approximately(listed[2]!.runAt.getTime(), now + 60_000, 5_000)
        assert.deepStrictEqual((yield* store.upcoming!(queue, 2)).map((job) => job.id), ["sooner", "failing"])
        assert.deepStrictEqual(yield* store.upcoming!(queue, 0), [], "a limit below 1 asks for nothing")
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["idle"], "ready now: claimed, not listed")
        assert.deepStrictEqual(yield* store.upcoming!(queueName(), 10), [], "another queue's jobs are not listed")
      })))

    /**
     * Whether `runAt` is a real date `maxDelay` after the store's now at
     * some instant from `before` to `after` (the test's clock around the
     * call; 50 ms more for the engines' rounding of times).
     */
    const atTheBound = (runAt: Date | undefined, before: number, after: number, what: string) => {
      assert.instanceOf(runAt, Date, `${what}: no run-at`)
      assert.isFalse(Number.isNaN(runAt!.getTime()), `${what}: an Invalid Date`)
      assert.isAtLeast(runAt!.getTime(), before + maxDelay - 50, `${what}: before the bound (${runAt!.toISOString()})`)
      assert.isAtMost(runAt!.getTime(), after + maxDelay + 50, `${what}: past the bound (${runAt!.toISOString()})`)
    }

    test("a delay past the bound (a thousand years) is the bound: lookup and upcoming show a real date maxDelay from now", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const before = yield* Clock.currentTimeMillis
        yield* store.offer(queue, [
          { id: "huge", payload: 1, delay: 1e20 },
          { id: "past-date", payload: 2, delay: 8.64e15 },
          { id: "just", payload: 3, delay: maxDelay + 1 }
        ])
        const listed = yield* store.upcoming!(queue, 10)
        const after = yield* Clock.currentTimeMillis
        for (const id of ["huge", "past-date", "just"]) {
          atTheBound((yield* store.lookup(queue, id))?.runAt, before, after, `lookup ${id}`)
          atTheBound(listed.find((job) => job.id === id)?.runAt, before, after, `upcoming ${id}`)
        }
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [], "a job a thousand years off was claimed")
      })))

    test("a run-at past the last instant a Date holds is that instant; a far one within it is kept as given", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const now = yield* Clock.currentTimeMillis
        const farWithin = now + maxDelay + 60_000
        yield* store.offer(queue, [
          { id: "huge", payload: 1, runAt: 1e17 },
          { id: "last-date", payload: 2, runAt: latestRunAt },
          { id: "far", payload: 3, runAt: farWithin }
        ])
        const listed = yield* store.upcoming!(queue, 10)
        for (const [id, runAt] of [["huge", latestRunAt], ["last-date", latestRunAt], ["far", farWithin]] as const) {
          assert.strictEqual((yield* store.lookup(queue, id))?.runAt?.getTime(), runAt, `lookup ${id}`)
          assert.strictEqual(listed.find((job) => job.id === id)?.runAt.getTime(), runAt, `upcoming ${id}`)
        }
        assert.deepStrictEqual(listed.map((job) => job.id).slice(0, 1), ["far"])
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [], "a job thousands of years off was claimed")
      })))

    test("a retry's delay or a lease past the bound (a huge backoff, an endless schedule) is the bound", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(3))
        const before = yield* Clock.currentTimeMillis
        const [a, b] = yield* store.claim(queue, 2, minute)
        const [c] = yield* store.claim(queue, 1, Duration.millis(1e17))
        yield* store.retry(queue, a!, Duration.millis(1e17))
        yield* store.retry(queue, b!, Duration.infinity)
        const listed = yield* store.upcoming!(queue, 10)
        const after = yield* Clock.currentTimeMillis
        for (const job of [a!, b!, c!]) atTheBound((yield* store.lookup(queue, job.id))?.runAt, before, after, `lookup ${job.id}`)
        assert.deepStrictEqual(listed.map((job) => job.id), [a!.id, b!.id])
        for (const job of listed) atTheBound(job.runAt, before, after, `upcoming ${job.id}`)
      })))

    test("a durable job's own retry with a huge base waits the bound, a real date on lookup and upcoming", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const pool = yield* Durable.make({
          store,
          queue,
          schema: Schema.String,
          workers: 1,
          pollInterval: "20 millis",
          handler: () => Effect.fail("no")
        })
        const before = yield* Clock.currentTimeMillis
        yield* pool.submit("x", { id: "huge", retry: { base: 1e17, max: 1e17 } })
        const retried = Effect.map(pool.lookup("huge"), (info) => info?.state === "ready" && info.attempts === 1)
        for (let i = 0; i < 250 && !(yield* retried); i++) yield* elapse(20)
        const info = yield* pool.lookup("huge")
        const listed = yield* pool.upcoming()
        const after = yield* Clock.currentTimeMillis
        assert.deepStrictEqual([info?.state, info?.attempts], ["ready", 1], "not retried")
        atTheBound(info?.runAt, before, after, "lookup")
        atTheBound(listed?.[0]?.runAt, before, after, "upcoming")
        yield* pool.shutdown({ timeout: 0 })
      })))

    test("a paused queue leases nothing and reads no due; offers and endings go on, other queues too; resumed, it is claimed again", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const other = queueName()
        assert.isFalse(yield* store.paused!(queue), "a queue runs until paused")
        yield* store.offer(queue, [{ id: "a", payload: 1 }, { id: "b", payload: 2 }, { id: "soon", payload: 3, delay: 40 }])
        const [a] = yield* store.claim(queue, 1, minute)
        // "b"'s lease runs out while the queue is paused: not taken over either.
        yield* store.claim(queue, 1, Duration.millis(20))
        assert.isTrue(yield* store.pause!(queue, true))
        assert.isFalse(yield* store.pause!(queue, true), "paused already")
        assert.isTrue(yield* store.paused!(queue))
        // "soon" is due now (a reading of due would have a worker claim back to back), and "b"'s lease ran out.
        yield* elapse(100)
        const none = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual([...none], [])
        assert.isUndefined(none.due?.untilDue, "a paused claim reads no due")
        assert.deepStrictEqual([...(yield* store.claim(queue, 10, minute, readyOnlyClaim))], [])
        assert.isUndefined(yield* store.due!(queue), "due says nothing waits")
        // Offers, the endings of leases held, and other queues go on.
        yield* store.offer(queue, [{ id: "c", payload: 4 }])
        assert.notStrictEqual(yield* store.retry(queue, a!, Duration.zero), false, "a lease held before the pause ends as usual")
        // Ready jobs now ("c", and "a" again): neither the full claim nor the ready-only one leases them.
        assert.deepStrictEqual([...(yield* store.claim(queue, 10, minute))], [], "a paused claim leases no ready job")
        assert.deepStrictEqual([...(yield* store.claim(queue, 10, minute, readyOnlyClaim))], [], "nor a paused ready-only claim")
        yield* store.offer(other, [{ id: "elsewhere", payload: 5 }])
        assert.deepStrictEqual((yield* store.claim(other, 10, minute)).map((job) => job.id), ["elsewhere"])
        assert.isFalse(yield* store.paused!(other))
        assert.isTrue(yield* store.pause!(queue, false))
        assert.isFalse(yield* store.pause!(queue, false), "running already")
        assert.isFalse(yield* store.paused!(queue))
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id).sort(), ["a", "b", "c", "soon"])
      })))

    test("a pool on a paused queue starts no job until resumed, then at once: the resume wakes it", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const started: Array<string> = []
        assert.isTrue(yield* store.pause!(queue, true))
        // An idle wait of an hour: only a notification ends it within the test.
        const handler = (job: { readonly payload: string }) => Effect.sync(() => started.push(job.payload))
        const pool = yield* Durable.make({ store, queue, schema: Schema.String, workers: 1, pollInterval: "1 hour", handler })
        assert.isTrue(yield* pool.isPaused)
        yield* pool.submit("x")
        for (let i = 0; i < 10; i++) yield* elapse(20)
        assert.deepStrictEqual(started, [], "paused: not started")
        assert.isTrue(yield* pool.resume)
        for (let i = 0; i < 500 && started.length === 0; i++) yield* elapse(20)
        assert.deepStrictEqual(started, ["x"])
        assert.isFalse(yield* pool.isPaused)
        yield* pool.shutdown({ timeout: 0 })
      })))

    test("upcoming lists far-future jobs by their bounded times: soonest, then the far delays, then the far run-ats", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        // One batch: one now for all, on every store.
        yield* store.offer(queue, [
          { id: "far-b", payload: 1, delay: 1e20 },
          { id: "far-\u{1f600}", payload: 2, delay: 1e20 },
          { id: "last-a", payload: 3, runAt: 1e17 },
          { id: "soon", payload: 4, delay: 60_000 },
          { id: "last-c", payload: 5, runAt: latestRunAt },
          { id: "last-\uff21", payload: 6, runAt: 1e17 }
        ])
        const listed = yield* store.upcoming!(queue, 10)
        assert.strictEqual(listed[0]?.id, "soon")
        // Tied, they come in the order each engine keeps them (offer order, or id order on Redis): any.
        assert.deepStrictEqual(listed.slice(1, 3).map((job) => job.id).sort(), ["far-b", "far-\u{1f600}"].sort())
        assert.deepStrictEqual(listed.slice(3).map((job) => job.id).sort(), ["last-a", "last-c", "last-\uff21"].sort())
        assert.strictEqual(new Set(listed.slice(1, 3).map((job) => job.runAt.getTime())).size, 1, "far delays of one batch: one instant")
        assert.deepStrictEqual([...new Set(listed.slice(3).map((job) => job.runAt.getTime()))], [latestRunAt])
      })))

    test("upcoming jobs are listed a page at a time after a cursor, through ties, from a place cancelled since", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        // One batch: one now for all, so each delay is a tie, its ids of every width of UTF-8.
        const tied = (prefix: string, delay: number) =>
          ["b", "\u{1f600}", "a", "\uff21", "\u00e9", "aa"].map((tail) => ({
            id: `${prefix}-${tail}`,
            payload: 0,
            delay
          }))
        yield* store.offer(queue, [
          ...tied("min", 60_000),
          { id: "soon", payload: 1, delay: 30_000 },
          ...tied("far", 1e20),
          // A time whose µs a double does not hold (8,639,999,999,999,999,000 is not a multiple of 1,024).
          { id: "last-1", payload: 2, runAt: latestRunAt - 1 },
          { id: "last-0", payload: 3, runAt: latestRunAt - 1 },
          { id: "ready", payload: 4 }
        ])
        const all = (yield* store.upcoming!(queue, 100)).map((job) => job.id)
        assert.strictEqual(all.length, 15)
        assert.strictEqual(all[0], "soon")
        /** Every page of `size` from the first, each after the previous page's last cursor. */
        const pages = (size: number) =>
          Effect.gen(function*() {
            const out: Array<ReadonlyArray<string>> = []
            let after: string | undefined
            // At most a page a job: one that began before its cursor would be read again for ever.
            for (let n = 0; n <= 15; n++) {
              const page = yield* store.upcoming!(queue, size, after)
              if (page.length === 0) return out
              out.push(page.map((job) => job.id))
              after = page.at(-1)!.cursor
            }
            return out
          })
        for (const size of [1, 2, 4, 15]) assert.deepStrictEqual((yield* pages(size)).flat(), all, `pages of ${size}`)
        assert.deepStrictEqual((yield* pages(4)).map((page) => page.length), [4, 4, 4, 3])
        // The place holds once its job has left: cancel the third of a tie, then page after it.
        const listed = yield* store.upcoming!(queue, 100)
        for (const at of [3, 9, 13]) {
          yield* store.cancel(queue, listed[at]!.id)
          const rest = (yield* store.upcoming!(queue, 100, listed[at]!.cursor)).map((job) => job.id)
          assert.deepStrictEqual(rest, all.slice(at + 1), `after the cancelled ${listed[at]!.id}`)
        }
      })))

    test("upcoming refuses an after that is no cursor, on every store alike, and reads any cursor of the form", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        // The last run-at a job may have: a number past every one is still a place after it.
        yield* store.offer(queue, [{ id: "later", payload: 0, delay: 60_000 }, { id: "latest", payload: 0, runAt: latestRunAt }])
        for (const after of notCursors) {
          const error = yield* Effect.flip(store.upcoming!(queue, 10, after))
          assert.include(error.reason, "a `cursor` a listing gave", JSON.stringify(after))
          assert.isFalse(error.retryable)
        }
        for (const after of cursorsOfEveryKind) assert.isArray(yield* store.upcoming!(queue, 10, after), after)
        assert.deepStrictEqual((yield* store.upcoming!(queue, 10, "0")).map((job) => job.id), ["later", "latest"], "a place before every job")
        for (const after of ["9".repeat(19), `${"9".repeat(19)}.0`, `${"9".repeat(19)}:`]) {
          assert.deepStrictEqual(yield* store.upcoming!(queue, 10, after), [], `${after}: a place after every job`)
        }
      })))

    test("claim takes lower priorities first, equal ones in order of offer, and a job whose time came by its priority", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, [
          { id: "p5", payload: 0, priority: 5 },
          { id: "p0-a", payload: 0 },
          { id: "p-3", payload: 0, priority: -3 },
          { id: "p0-b", payload: 0, priority: 0 },
          { id: "p-1-delayed", payload: 0, priority: -1, delay: 100 },
          { id: "p1000", payload: 0, priority: 1000 },
          { id: "p-1000", payload: 0, priority: -1000 }
        ])
        yield* elapse(300)
        const first = yield* store.claim(queue, 3, minute)
        assert.deepStrictEqual(first.map((job) => job.id), ["p-1000", "p-3", "p-1-delayed"])
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["p0-a", "p0-b", "p5", "p1000"])
        assert.strictEqual((yield* store.lookup(queue, "p-3"))?.priority, -3, "lookup shows the priority")
      })))

    test("a lease that ran out is claimed before ready jobs of any priority, and a retry keeps its priority", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, [{ id: "slow", payload: 0, priority: 9 }])
        const [slow] = yield* store.claim(queue, 1, Duration.millis(200))
        yield* store.offer(queue, [{ id: "urgent", payload: 0, priority: -9 }, { id: "failing", payload: 0, priority: -5 }])
        yield* elapse(400)
        assert.deepStrictEqual((yield* store.claim(queue, 1, minute)).map((job) => job.id), ["slow"], "its worker presumed dead")
        const [urgent] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(urgent?.id, "urgent")
        const [failing] = yield* store.claim(queue, 1, minute)
        yield* store.offer(queue, [{ id: "late", payload: 0, priority: 0 }])
        yield* store.retry(queue, failing!, Duration.zero)
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => job.id), ["failing", "late"])
        assert.isDefined(slow)
      })))

    test("settings are kept with a job and given back with each claim, retries too; a job without has none", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const settings = JSON.stringify({ maxAttempts: 2, note: "é\u0000" })
        yield* store.offer(queue, [{ id: "own", payload: 1, settings }, { id: "plain", payload: 2 }])
        const claimed = yield* store.claim(queue, 2, minute)
        assert.deepStrictEqual(claimed.map((job) => [job.id, job.settings]), [["own", settings], ["plain", undefined]])
        yield* store.retry(queue, claimed[0]!, Duration.zero)
        const [again] = yield* store.claim(queue, 1, minute)
        assert.deepStrictEqual([again?.id, again?.attempt, again?.settings], ["own", 2, settings])
      })))

    test("an offer with a wrong delay, runAt, priority or settings is refused whole with a StoreError naming the job", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const wrong: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
          [{ delay: 10, runAt: 0 }, "both a delay and a runAt"],
          [{ delay: -1 }, "delay of -1"],
          [{ delay: Number.NaN }, "delay of NaN"],
          [{ delay: Number.POSITIVE_INFINITY }, "delay of Infinity"],
          [{ delay: "10" }, "delay of 10"],
          [{ runAt: Number.NaN }, "runAt of NaN"],
          [{ runAt: new Date(0) }, "runAt of"],
          [{ priority: 1.5 }, "priority of 1.5"],
          [{ priority: 1001 }, "priority of 1001"],
          [{ priority: -1001 }, "priority of -1001"],
          [{ priority: null }, "priority of null"],
          [{ settings: 42 }, "settings"],
          [{ settings: "x".repeat(1025) }, "settings"],
          [{ settings: "a\u0000b" }, "settings that must not contain the NUL character"],
          [{ settings: "a\ud800" }, "settings that must not contain half of a UTF-16 surrogate pair"]
        ]
        for (const [fields, says] of wrong) {
          const exit = yield* Effect.exit(store.offer(queue, [{ id: "fine", payload: 1 }, { id: "bad", payload: 2, ...fields }]))
          assert.isTrue(Exit.isFailure(exit), says)
          const error = Cause.squash((exit as Exit.Failure<unknown, StoreError>).cause) as StoreError
          assert.strictEqual(error._tag, "StoreError")
          assert.isFalse(error.retryable)
          assert.include(error.message, `job "bad" has`)
          assert.include(error.message, says)
        }
        assert.deepStrictEqual(yield* store.counts(queue), empty, "nothing of a refused batch is stored")
      })))

    test("leases that are not leases are refused alike by each operation that takes them back, not retryable; nothing is ended", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        const [held] = yield* store.claim(queue, 1, minute)
        const notLeases: ReadonlyArray<readonly [unknown, RegExp]> = [
          [null, /^the lease (at \[1\] )?is not a lease/],
          [{ id: 7, token: held!.token }, /^the lease (at \[1\] )?has an id that is not a string: 7$/],
          [{ id: held!.id, token: null }, /^the lease (at \[1\] )?has a token that is not a string: null$/],
          // An id no claim gives, which PostgreSQL cannot even read (the other stores would find no such lease).
          // (A token is opaque: one no claim gave, NUL included, is a lease not held on every store.)
          [{ id: `${held!.id}\u0000`, token: held!.token }, /^the lease (at \[1\] )?has an id with the NUL character/]
        ]
        for (const [bad, reason] of notLeases) {
          const batch = [held!, bad] as unknown as ReadonlyArray<Lease>
          for (
            const [operation, effect] of [
              ["complete", store.complete(queue, batch)],
              ["release", store.release(queue, batch)],
              ["extend", store.extend(queue, batch, minute)],
              ["retry", store.retry(queue, bad as Lease, Duration.zero)],
              ["bury", store.bury(queue, bad as Lease, "no")]
            ] as const
          ) {
            const error = yield* Effect.flip(effect as Effect.Effect<unknown, StoreError>)
            assert.deepStrictEqual([error.operation, error.retryable], [operation, false], error.reason)
            assert.match(error.reason, reason)
          }
        }
        const notArray = yield* Effect.flip(store.complete(queue, "leases" as unknown as ReadonlyArray<Lease>))
        assert.deepStrictEqual([notArray.retryable, notArray.reason], [false, `the leases must be an array, got "leases"`])
        const notText = yield* Effect.flip(store.bury(queue, held!, 42 as unknown as string))
        assert.deepStrictEqual([notText.retryable, notText.reason], [false, "the error must be a string, got 42"])
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, leased: 1 }, "a refused batch ends no lease")
      })))

    test("a negative retry delay is none, as on every store: the retried job goes behind those ready before it; a lease not longer than zero is refused", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, [{ id: "a", payload: 1 }, { id: "b", payload: 2 }])
        const [a] = yield* store.claim(queue, 1, minute)
        // Later than the offer, on every store's clock.
        yield* elapse(5)
        yield* store.retry(queue, a!, Duration.seconds(-60))
        assert.deepStrictEqual((yield* store.claim(queue, 2, minute)).map((job) => job.id), ["b", "a"])
        yield* store.offer(queue, [{ id: "c", payload: 3 }])
        for (const lease of [Duration.millis(-5), Duration.zero]) {
          const refused = yield* Effect.flip(store.claim(queue, 1, lease))
          assert.deepStrictEqual([refused.operation, refused.retryable], ["claim", false])
          assert.match(refused.reason, /^the lease must be longer than zero, got /)
        }
        const [c] = yield* store.claim(queue, 1, minute)
        const notRenewed = yield* Effect.flip(store.extend(queue, [c!], Duration.seconds(-1)))
        assert.deepStrictEqual([notRenewed.operation, notRenewed.retryable], ["extend", false])
        assert.deepStrictEqual(yield* store.counts(queue), { ...empty, leased: 3 }, "a refused renewal changes nothing")
      })))

    test("a dead letter's error is kept as every store keeps it: without NUL, half a surrogate pair as U+FFFD", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        const [held] = yield* store.claim(queue, 1, minute)
        yield* store.bury(queue, held!, "a\u0000b\ud800c")
        const [dead] = yield* store.buried(queue, 1)
        assert.strictEqual(dead?.error, "ab\ufffdc")
      })))

    test("an id offered twice in one batch and refused is answered once", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, [{ id: "c", payload: 1 }])
        yield* store.cancel(queue, "c")
        const refused = yield* store.offer(queue, [{ id: "c", payload: 2 }, { id: "c", payload: 3 }])
        assert.deepStrictEqual(refused, [{ id: "c", state: "cancelled" }])
      })))

    test("offer answers which ids it skipped as dead letters or cancelled; other known ids are skipped silently", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(4))
        const [dead, done] = yield* store.claim(queue, 2, minute)
        yield* store.bury(queue, dead!, "no")
        yield* store.complete(queue, [done!])
        yield* store.cancel(queue, "j2")
        const refused = yield* store.offer(queue, [...jobs(5), { id: "new", payload: 1 }])
        assert.deepStrictEqual([...refused].sort((x, y) => x.id.localeCompare(y.id)), [
          { id: "j0", state: "buried" },
          { id: "j2", state: "cancelled" }
        ])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 3, leased: 0, completed: 1, buried: 1 })
      })))

    test("an offer that says its ids are new answers as any other when some are stored after all (a batch sent twice)", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(4), newIdsOffer)
        const [dead, done] = yield* store.claim(queue, 2, minute)
        yield* store.bury(queue, dead!, "no")
        yield* store.complete(queue, [done!])
        yield* store.cancel(queue, "j2")
        const again = [...jobs(4).map((job) => ({ ...job, payload: { n: -1 } })), { id: "new", payload: 1 }]
        const refused = yield* store.offer(queue, again, newIdsOffer)
        assert.deepStrictEqual([...refused].sort((x, y) => x.id.localeCompare(y.id)), [
          { id: "j0", state: "buried" },
          { id: "j2", state: "cancelled" }
        ])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 2, leased: 0, completed: 1, buried: 1 })
        const claimed = yield* store.claim(queue, 10, minute)
        // j3 once, with the payload it was first offered with.
        assert.deepStrictEqual(claimed.map(({ id, payload }) => ({ id, payload })), [
          { id: "j3", payload: { n: 3 } },
          { id: "new", payload: 1 }
        ])
      })))

    test("redrive makes dead letters and cancelled jobs ready with fresh attempts (each once, however often named); other ids are left", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(4))
        const [dead, done, running] = yield* store.claim(queue, 3, minute)
        yield* store.bury(queue, dead!, "no")
        yield* store.complete(queue, [done!])
        yield* store.cancel(queue, "j3")
        assert.strictEqual(yield* store.redrive(queue, ["j0", "j0", "j1", "j2", "j3", "nobody"]), 2)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 2, leased: 1, completed: 1, buried: 0 })
        assert.deepStrictEqual(yield* store.lookup(queue, "j0").pipe(Effect.map((job) => [job?.state, job?.attempts, job?.error])), [
          "ready",
          0,
          undefined
        ])
        const again = yield* store.claim(queue, 10, minute)
        assert.deepStrictEqual(again.map((job) => [job.id, job.payload, job.attempt]), [
          ["j0", { n: 0 }, 1],
          ["j3", { n: 3 }, 1]
        ])
        // The running job was left alone: its holder still ends it.
        yield* store.complete(queue, [running!, ...again])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 4, buried: 0 })
      })))

    test("remove deletes dead letters and cancelled jobs (each once, however often named); other ids are left", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(3))
        const [dead] = yield* store.claim(queue, 1, minute)
        yield* store.bury(queue, dead!, "no")
        yield* store.cancel(queue, "j1")
        assert.strictEqual(yield* store.remove(queue, ["j0", "j1", "j0", "j2", "nobody"]), 2)
        assert.strictEqual(yield* store.lookup(queue, "j0"), undefined)
        assert.strictEqual(yield* store.lookup(queue, "j1"), undefined)
        assert.deepStrictEqual(yield* store.buried(queue, 10), [])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 1, leased: 0, completed: 0, buried: 0 })
        // A removed id is a new job when offered again.
        assert.deepStrictEqual(yield* store.offer(queue, jobs(1)), [])
        assert.strictEqual((yield* store.lookup(queue, "j0"))?.state, "ready")
      })))

    test("cancel stops a ready or delayed job at once; a leased one's holder learns it from extend, and cannot end it", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(4))
        const [delayed, running, done] = yield* store.claim(queue, 3, Duration.millis(300))
        yield* store.retry(queue, delayed!, Duration.millis(100))
        yield* store.complete(queue, [done!])
        assert.strictEqual(yield* store.cancel(queue, "j3"), "ready")
        assert.strictEqual(yield* store.cancel(queue, delayed!.id), "ready")
        assert.strictEqual(yield* store.cancel(queue, running!.id), "leased")
        assert.strictEqual(yield* store.cancel(queue, done!.id), "completed", "an ended job is left as it is")
        assert.strictEqual(yield* store.cancel(queue, running!.id), "cancelled")
        assert.strictEqual(yield* store.cancel(queue, "nobody"), undefined)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
        assert.strictEqual((yield* store.lookup(queue, running!.id))?.state, "cancelled")
        assert.deepStrictEqual(yield* store.extend(queue, [running!, done!], minute), [running!.id, done!.id])
        // Its holder's ending does nothing now, whatever it is.
        yield* store.complete(queue, [running!])
        assert.isFalse(yield* store.retry(queue, running!, Duration.zero), "a cancelled job's retry is not taken")
        yield* store.release(queue, [running!])
        assert.isFalse(yield* store.bury(queue, running!, "late"), "a cancelled job's burial is not taken")
        yield* elapse(400)
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [], "a cancelled job was claimed")
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
        for (const id of ["j0", "j1", "j3"]) assert.strictEqual((yield* store.lookup(queue, id))?.state, "cancelled")
      })))

    test("cancelWaiting cancels up to its limit of the jobs that wait, ready now or later; leased jobs run on", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const cancelWaiting = store.cancelWaiting!
        const queue = queueName()
        yield* store.offer(queue, [...jobs(4), { id: "later", payload: 4, delay: 60_000 }])
        const [running] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(running?.id, "j0")
        // Waiting: j1, j2, j3 ready, "later" for its time; two of them (the store chooses which).
        const waiting = ["j1", "j2", "j3", "later"]
        const stateOf = (id: string) => Effect.map(store.lookup(queue, id), (job) => job?.state)
        assert.strictEqual(yield* cancelWaiting(queue, 2), 2)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 2, leased: 1, completed: 0, buried: 0 })
        assert.deepStrictEqual((yield* Effect.forEach(waiting, stateOf)).sort(), ["cancelled", "cancelled", "ready", "ready"])
        assert.strictEqual(yield* cancelWaiting(queue, 5), 2, "the rest, fewer than asked")
        assert.strictEqual(yield* cancelWaiting(queue, 5), 0)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 1, completed: 0, buried: 0 })
        assert.deepStrictEqual(yield* Effect.forEach(waiting, stateOf), ["cancelled", "cancelled", "cancelled", "cancelled"])
        assert.strictEqual(yield* stateOf("j0"), "leased")
        assert.deepStrictEqual(yield* store.upcoming!(queue, 10), [], "no job waits for its time")
        // The running job ends as usual; the cancelled ones are kept, their ids not stored again.
        yield* store.complete(queue, [running!])
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 0, completed: 1, buried: 0 })
        const refused = yield* store.offer(queue, jobs(2, "j").slice(1))
        assert.deepStrictEqual(refused, [{ id: "j1", state: "cancelled" }])
        assert.deepStrictEqual(yield* store.claim(queue, 10, minute), [])
        // Any whole limit is taken, however large: the store cancels what waits.
        assert.strictEqual(yield* cancelWaiting(queue, Number.MAX_SAFE_INTEGER), 0)
        // A redrive brings one back as a new job; the others ended when cancelled, so a purge takes them past the retention.
        assert.strictEqual(yield* store.redrive(queue, ["j2"]), 1)
        assert.deepStrictEqual((yield* store.claim(queue, 10, minute)).map((job) => [job.id, job.attempt]), [["j2", 1]])
        yield* elapse(300)
        const short = { completed: Duration.millis(200), buried: minute }
        assert.strictEqual(yield* store.purge(queue, short, 100), 4, "j0 completed; j1, j3 and later cancelled")
        for (const id of ["j1", "j3", "later"]) assert.strictEqual(yield* stateOf(id), undefined, id)
        const error = yield* Effect.flip(cancelWaiting(queue, 0))
        assert.deepStrictEqual([error.operation, error.retryable], ["cancelWaiting", false])
      })))

    test("extend renews the leases held and answers every other: cancelled then removed or redriven, or taken over", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(4))
        const [removed, redriven, held, overtaken] = yield* store.claim(queue, 4, Duration.millis(300))
        for (const lease of [removed!, redriven!]) assert.strictEqual(yield* store.cancel(queue, lease.id), "leased")
        assert.strictEqual(yield* store.remove(queue, [removed!.id]), 1)
        assert.strictEqual(yield* store.redrive(queue, [redriven!.id]), 1)
        // The redriven job is claimed anew, and so is the job whose lease runs out.
        const [again] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(again?.id, redriven!.id)
        yield* store.extend(queue, [held!], minute)
        yield* elapse(400)
        const [takeover] = yield* store.claim(queue, 1, minute)
        assert.strictEqual(takeover?.id, overtaken!.id)
        const answered = yield* store.extend(queue, [removed!, redriven!, held!, overtaken!], minute)
        assert.deepStrictEqual([...answered].sort(), [removed!.id, redriven!.id, overtaken!.id].sort())
        // The new holders' leases are theirs: renewed, not answered.
        assert.deepStrictEqual(yield* store.extend(queue, [again!, takeover!, held!], minute), [])
        // An id is answered only if none of its leases is held, and once.
        assert.deepStrictEqual(yield* store.extend(queue, [overtaken!, takeover!], minute), [])
        assert.deepStrictEqual(yield* store.extend(queue, [removed!, removed!], minute), [removed!.id])
      })))

    test("purge deletes ended jobs past their retention, at most limit per call; the completed count stays", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        yield* store.offer(queue, jobs(6))
        const claimed = yield* store.claim(queue, 5, minute)
        yield* store.complete(queue, claimed.slice(0, 3))
        yield* store.bury(queue, claimed[3]!, "no")
        yield* store.cancel(queue, "j5")
        const short = { completed: Duration.millis(200), buried: Duration.minutes(10) }
        assert.strictEqual(yield* store.purge(queue, short, 100), 0, "nothing is past its retention yet")
        yield* elapse(300)
        assert.strictEqual(yield* store.purge(queue, short, 2), 2, "limit")
        assert.strictEqual(yield* store.purge(queue, short, 100), 2, "the other completed one, and the cancelled one")
        assert.strictEqual(yield* store.purge(queue, short, 100), 0)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 1, completed: 3, buried: 1 })
        for (const id of ["j0", "j1", "j2", "j5"]) assert.strictEqual(yield* store.lookup(queue, id), undefined, id)
        assert.strictEqual((yield* store.lookup(queue, "j3"))?.state, "buried", "a dead letter has its own retention")
        assert.strictEqual(yield* store.purge(queue, { ...short, buried: Duration.millis(200) }, 100), 1)
        assert.deepStrictEqual(yield* store.counts(queue), { ready: 0, leased: 1, completed: 3, buried: 0 })
        assert.deepStrictEqual(yield* store.buried(queue, 10), [])
        // A purged id is a new job when offered again.
        assert.deepStrictEqual(yield* store.offer(queue, jobs(1)), [])
        assert.deepStrictEqual((yield* store.claim(queue, 1, minute)).map((job) => [job.id, job.attempt]), [["j0", 1]])
      })))

    test("purges from several processes at once delete each job once", () =>
      Effect.scoped(Effect.gen(function*() {
        const [a, b] = [yield* make, yield* make]
        const queue = queueName()
        yield* a.offer(queue, jobs(50))
        yield* a.complete(queue, yield* a.claim(queue, 50, minute))
        yield* elapse(50)
        const retention = { completed: Duration.zero, buried: Duration.zero }
        const drain = (store: Store) =>
          Effect.gen(function*() {
            let total = 0
            while (true) {
              const n = yield* store.purge(queue, retention, 7)
              if (n === 0) return total
              total += n
            }
          })
        const [fromA, fromB] = yield* Effect.all([drain(a), drain(b)], { concurrency: 2 })
        assert.strictEqual(fromA + fromB, 50)
        assert.strictEqual((yield* a.counts(queue)).completed, 50)
      })))

    test("a durable pool's running job cancelled from an admin handle is stopped at a heartbeat, ends cancelled, runs no more", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* make
        const queue = queueName()
        const events: Array<string> = []
        const pool = yield* Durable.make({
          store,
          queue,
          schema: Schema.String,
          workers: 1,
          lease: "300 millis",
          pollInterval: "20 millis",
          handler: (job) =>
            Effect.sync(() => events.push(`start ${job.id}`)).pipe(
              Effect.andThen(Effect.sleep("1 hour")),
              Effect.onInterrupt(() => Effect.sync(() => events.push(`stopped ${job.id}`)))
            )
        })
        const admin = Durable.admin({ store, queue })
        yield* pool.submit("x", { id: "long" })
        for (let i = 0; i < 100 && events.length === 0; i++) yield* elapse(20)
        assert.deepStrictEqual(events, ["start long"])
        assert.strictEqual(yield* admin.cancel("long"), "leased")
        // The heartbeat renews every 100 ms (a third of the lease).
        for (let i = 0; i < 100 && events.length === 1; i++) yield* elapse(20)
        assert.deepStrictEqual(events, ["start long", "stopped long"])
        yield* elapse(500)
        assert.deepStrictEqual(events, ["start long", "stopped long"], "a cancelled job ran again")
        assert.strictEqual((yield* pool.stats).cancelled, 1)
        assert.strictEqual((yield* admin.lookup("long"))?.state, "cancelled")
        assert.deepStrictEqual(yield* store.counts(queue), empty)
        yield* pool.shutdown({ timeout: 0 })
      })))

    describe("a durable pool on it refuses bad input with the same PoolConfigError, before the store is asked", () => {
      const pool = (store: Store, queue: string) =>
        Durable.make({ store, queue, schema: Schema.Number, workers: 1, handler: () => Effect.void })

      for (const [what, options, option] of badJobOptions) {
        test(`submit with ${what}: names ${option}`, () =>
          Effect.scoped(Effect.gen(function*() {
            const store = yield* make
            const queue = queueName()
            const durable = yield* pool(store, queue)
            const producer = Durable.producer({ store, queue, schema: Schema.Number })
            for (const submitter of [durable, producer]) {
              const exit = yield* Effect.exit(submitter.submit(1, options as { readonly id?: string }))
              assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `not a typed failure: ${String(exit)}`)
              const error = yield* Effect.flip(exit)
              assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], [
                "PoolConfigError",
                option
              ])
            }
            assert.deepStrictEqual(yield* store.counts(queue), empty)
            // Nothing is lost or stuck: the next good job goes through.
            assert.strictEqual(yield* producer.submit(2, { id: "good" }), "good")
            // One snapshot: the pool, woken by the offer, may have claimed or even completed it already.
            const { completed, leased, ready } = yield* store.counts(queue)
            assert.strictEqual(ready + leased + completed, 1)
            yield* durable.shutdown({ timeout: 0 })
          })))
      }

      test("a pool, a producer and an admin handle on a queue name no store can keep: names queue, the store unasked", () =>
        Effect.scoped(Effect.gen(function*() {
          const store = yield* make
          for (const [queue] of unkeepableQueues()) {
            const refusals = [
              yield* Effect.flip(pool(store, queue)),
              yield* Effect.flip(Durable.producer({ store, queue, schema: Schema.Number }).submit(1)),
              yield* Effect.flip(Durable.admin({ store, queue }).counts)
            ]
            for (const error of refusals) {
              assert.deepStrictEqual([error._tag, error._tag === "PoolConfigError" && error.option], ["PoolConfigError", "queue"])
            }
          }
        })))

      test("a pool on the longest queue name runs a job with the longest id", () =>
        Effect.scoped(Effect.gen(function*() {
          const store = yield* make
          const queue = longestQueueName()
          const id = textOfBytes(maxJobIdBytes, "", 11)
          const ran: Array<string> = []
          const durable = yield* Durable.make({
            store,
            queue,
            schema: Schema.Number,
            workers: 1,
            pollInterval: "20 millis",
            handler: (job) => Effect.sync(() => ran.push(job.id))
          })
          assert.strictEqual(yield* durable.submit(1, { id }), id)
          for (let i = 0; i < 250 && (yield* store.counts(queue)).completed === 0; i++) yield* elapse(20)
          assert.deepStrictEqual(ran, [id])
          assert.strictEqual((yield* Durable.admin({ store, queue }).lookup(id))?.state, "completed")
          yield* durable.shutdown({ timeout: 0 })
        })))

      test("submitAll with anything but an iterable of payloads: names payloads", () =>
        Effect.scoped(Effect.gen(function*() {
          const store = yield* make
          const queue = queueName()
          const durable = yield* pool(store, queue)
          for (const [what, payloads] of badPayloadLists) {
            const exit = yield* Effect.exit(durable.submitAll(payloads as Iterable<number>))
            assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `${what}: not a typed failure: ${String(exit)}`)
            const error = yield* Effect.flip(exit)
            assert.strictEqual(error._tag === "PoolConfigError" && error.option, "payloads", what)
          }
          assert.deepStrictEqual(yield* store.counts(queue), empty)
          yield* durable.shutdown({ timeout: 0 })
        })))
    })
  })

/**
 * A durable pool on `store` runs `n` jobs (every 50th fails, and is a dead
 * letter at once) with retentions of 200 ms and a purge every 50 ms of at
 * most 100 jobs; waits until they have all ended, then until `footprint`
 * (what the engine holds for the queue, counted behind the store's back)
 * is down to `floor`. Returns the counts then, and the largest footprint
 * seen while the jobs ran.
 */
export const retentionRun = (
  store: Store,
  queue: string,
  n: number,
  footprint: Effect.Effect<number>,
  floor: number
) =>
  Effect.scoped(Effect.gen(function*() {
    const pool = yield* Durable.make({
      store,
      queue,
      schema: Schema.Number,
      workers: 8,
      pollInterval: "20 millis",
      maxAttempts: 1,
      completedRetention: "200 millis",
      deadLetterRetention: "200 millis",
      maintenanceInterval: "50 millis",
      maintenanceBatch: 100,
      handler: (job) => job.payload % 50 === 0 ? Effect.fail("no") : Effect.void
    })
    yield* pool.submitAll(Array.from({ length: n }, (_, i) => i))
    // The most the engine held meanwhile: ended jobs are purged while others still run.
    let peak = 0
    while (true) {
      peak = Math.max(peak, yield* footprint)
      const { leased, ready } = yield* pool.counts
      if (ready + leased === 0) break
      yield* Effect.sleep("20 millis")
    }
    while ((yield* footprint) > floor) yield* Effect.sleep("50 millis")
    const counts = yield* pool.counts
    yield* pool.shutdown()
    return { peak, counts }
  })).pipe(Effect.timeout("30 seconds"))

export interface LayerContractOptions {
  /** The engine's URL for a running server. */
  readonly url: () => string
  readonly layer: (
    options: {
      readonly url: Redacted.Redacted<string>
      readonly commandTimeout?: Duration.Input
      readonly connectTimeout?: Duration.Input
    }
  ) => Layer.Layer<Store, StoreError | PoolConfigError>
  readonly layerConfig: (
    config: { readonly url: Config.Config<Redacted.Redacted<string>>; readonly connectTimeout: Config.Config<Duration.Duration> }
  ) => Layer.Layer<Store, StoreError | PoolConfigError | Config.ConfigError>
}

class Emails extends Context.Service<Emails, Durable.DurablePool<string, string, never>>()("test/contract/Emails") {}

/**
 * An engine's layers: the `Store` service from a `Redacted` URL, or from
 * `Config` (`ConfigProvider.fromUnknown` and `fromEnv`), and a durable pool
 * wired on it with `Durable.layer`, as an application wires `PgClient`.
 */
export const storeLayerContract = (name: string, { layer, layerConfig, url }: LayerContractOptions) =>
  describe(`${name} store layers`, () => {
    const config = {
      url: Config.Redacted("STORE_URL"),
      connectTimeout: Config.Duration("STORE_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5)))
    }
    const offerOne = (store: Store) =>
      Effect.gen(function*() {
        const queue = queueName()
        yield* store.offer(queue, jobs(1))
        assert.strictEqual((yield* store.counts(queue)).ready, 1)
      })

    it.live("layer({ url: Redacted }) provides the Store service", () =>
      Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(layer({ url: Redacted.make(url()) }))
        yield* offerOne(Context.get(context, StoreService))
      })))

    it.live("an infinite commandTimeout is accepted (no bound), an infinite connectTimeout is not", () =>
      Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(layer({ url: Redacted.make(url()), commandTimeout: "Infinity" }))
        yield* offerOne(Context.get(context, StoreService))
        const error = yield* Effect.flip(Layer.build(layer({ url: Redacted.make(url()), connectTimeout: "Infinity" })))
        assert.strictEqual(error._tag === "PoolConfigError" && error.option, "connectTimeout")
      })))

    it.live("layerConfig reads its options from Config: ConfigProvider.fromUnknown and fromEnv", () =>
      Effect.gen(function*() {
        for (
          const provider of [
            ConfigProvider.fromUnknown({ STORE_URL: url() }),
            ConfigProvider.fromEnv({ env: { STORE_URL: url(), STORE_CONNECT_TIMEOUT: "2 seconds" } })
          ]
        ) {
          yield* Effect.scoped(Effect.gen(function*() {
            const context = yield* Layer.build(layerConfig(config))
            yield* offerOne(Context.get(context, StoreService))
          })).pipe(Effect.provideService(ConfigProvider.ConfigProvider, provider))
        }
      }))

    it.live("layerConfig without the URL is a ConfigError; with a malformed one, a PoolConfigError naming url", () =>
      Effect.gen(function*() {
        const missing = yield* Effect.flip(Effect.scoped(Layer.build(layerConfig(config)))).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({}))
        )
        assert.strictEqual(missing._tag, "ConfigError")
        const malformed = yield* Effect.flip(Effect.scoped(Layer.build(layerConfig(config)))).pipe(
          Effect.provideService(
            ConfigProvider.ConfigProvider,
            ConfigProvider.fromUnknown({ STORE_URL: url().replace(/:\d+/, ":99999") })
          )
        )
        assert.deepStrictEqual([malformed._tag, malformed._tag === "PoolConfigError" && malformed.option], [
          "PoolConfigError",
          "url"
        ])
      }))

    it.live("Durable.layer runs a pool on the store layerConfig provides", () =>
      Effect.gen(function*() {
        const queue = queueName()
        const ran: Array<string> = []
        const EmailsLive = Durable.layer(Emails, {
          queue,
          schema: Schema.String,
          workers: 2,
          pollInterval: "20 millis",
          handler: (job) => Effect.sync(() => ran.push(job.payload)).pipe(Effect.as(job.payload))
        }).pipe(Layer.provide(layerConfig(config)))
        yield* Effect.scoped(Effect.gen(function*() {
          const emails = Context.get(yield* Layer.build(EmailsLive), Emails)
          yield* emails.submitAll(["ada@example.com", "grace@example.com"])
          while ((yield* emails.counts).completed < 2) yield* Effect.sleep("20 millis")
        })).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({ STORE_URL: url() })),
          Effect.timeout("10 seconds")
        )
        assert.deepStrictEqual(ran.sort(), ["ada@example.com", "grace@example.com"])
      }))
  })
