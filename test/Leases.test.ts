/**
 * The durable pool's lease book (`src/durable/leases.ts`): each stage of a
 * lease (held, ended, settling, stored) and the moves between them, what a
 * delivery's ending tells the store, the re-claim of a job whose delivery
 * still runs, the room left for claims, and which leases are renewed. The
 * durable pool's tests reach these through the store; here each rule is
 * pinned down on its own.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import * as Leases from "../src/durable/leases.ts"
import type { Claimed } from "../src/durable/Store.ts"

const claimed = (id: string, token: string, attempt = 1): Claimed => ({ id, token, attempt, payload: id })

const always = () => true
const book = (capacity = 3, maxAttempts = 3) => Leases.make({ capacity, maxAttempts, retryable: always })
/** The book's settings `decide` reads. */
const pool = (maxAttempts: number, retryable: (cause: Cause.Cause<unknown>) => boolean = always) => ({
  maxAttempts,
  retryable
})

const tokens = (book: Leases.Book) => Leases.toRenew(book).map((lease) => `${lease.id}/${lease.token}`).sort()

/** Where the lease `id`/`token` is in its life, as the book records it. */
const stageOf = (book: Leases.Book, id: string, token: string): string => {
  const held = book.held.get(id)
  if (held?.lease.token === token) return held._tag
  for (const [lease, life] of book.leaving) if (lease.id === id && lease.token === token) return life._tag
  return "not ours"
}

const failed = (error: string) => ({ _tag: "Failed", cause: Cause.fail(error) }) as const

describe("Leases", () => {
  describe("decide", () => {
    it("a success completes, a failure below maxAttempts retries on its attempt, the last one is buried with its error and attempts", () => {
      assert.deepStrictEqual(Leases.decide(pool(3), { _tag: "Succeeded" }, 1, undefined), Leases.complete)
      assert.deepStrictEqual(Leases.decide(pool(3), failed("boom"), 2, undefined), Leases.retry(2, "boom"))
      assert.deepStrictEqual(Leases.decide(pool(3), failed("boom"), 3, undefined), Leases.bury("boom", 3))
    })

    it("a job's own maxAttempts and retry override the pool's", () => {
      const backoff = { base: 10, factor: 3, max: 50 }
      assert.deepStrictEqual(Leases.decide(pool(3), failed("boom"), 3, { maxAttempts: 4, retry: backoff }), Leases.retry(3, "boom", backoff))
      assert.deepStrictEqual(Leases.decide(pool(3), failed("boom"), 1, { maxAttempts: 1 }), Leases.bury("boom", 1))
    })

    it("a failure the pool says is not retryable is buried at once, whatever attempts are left", () => {
      assert.deepStrictEqual(Leases.decide(pool(5, () => false), failed("boom"), 1, undefined), Leases.bury("boom", 1))
    })

    it("cut off, never started or cancelled is released: not the job's fault", () => {
      for (const _tag of ["CutOff", "Abandoned", "Cancelled"] as const) {
        assert.deepStrictEqual(Leases.decide(pool(3), { _tag }, 3, undefined), Leases.release, _tag)
      }
    })
  })

  it.effect("a held lease the store cancelled ends with nothing to tell the store: no longer renewed, its room freed", () =>
    Effect.gen(function*() {
      const leases = yield* book(2)
      Leases.hold(leases, claimed("a", "t1"))
      Leases.hold(leases, claimed("b", "t2"))
      assert.isFalse(Leases.cancelHeld(leases, "nobody"), "a lease not held")
      assert.isTrue(Leases.cancelHeld(leases, "a"))
      assert.isFalse(Leases.cancelHeld(leases, "a"), "marked twice")
      // The pool stops the delivery; its ending comes back through the hook.
      Leases.endDelivery(leases, { id: "a", attempt: 1 }, { _tag: "Cancelled" })
      Leases.endDelivery(leases, { id: "b", attempt: 1 }, { _tag: "Succeeded" })
      assert.strictEqual(stageOf(leases, "a", "t1"), "not ours")
      assert.strictEqual(stageOf(leases, "b", "t2"), "Ended")
      assert.deepStrictEqual(tokens(leases), ["b/t2"])
      assert.strictEqual(Leases.free(leases), 2)
      const settling = yield* Leases.takeEnded(leases)
      assert.deepStrictEqual(settling.map((one) => `${one.lease.id} ${one.ending._tag}`), ["b complete"])
      assert.strictEqual(leases.cancelled.size, 0, "nothing is kept of a cancelled lease")
    }))

  it.effect("a claimed lease is held: delivered, renewed, and it takes room", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      assert.isTrue(Leases.hold(leases, claimed("a", "t1")))
      assert.strictEqual(stageOf(leases, "a", "t1"), "Held")
      assert.deepStrictEqual(tokens(leases), ["a/t1"])
      assert.strictEqual(Leases.free(leases), 2)
    }))

  it.effect("a job claimed again while its delivery runs is not delivered twice: one delivery, under the new lease, counting the store's attempt", () =>
    Effect.gen(function*() {
      const leases = yield* book(3, 2)
      Leases.hold(leases, claimed("a", "t1", 1))
      assert.isFalse(Leases.hold(leases, claimed("a", "t2", 2)), "delivered twice")
      assert.deepStrictEqual(tokens(leases), ["a/t2"], "the stale lease is still renewed")
      assert.strictEqual(Leases.free(leases), 2, "one job takes room once")
      // The handler was started as attempt 1, but the store counted 2: the last of maxAttempts.
      Leases.endDelivery(leases, { id: "a", attempt: 1 }, failed("boom"))
      const [ended] = yield* Leases.takeEnded(leases)
      assert.strictEqual(ended?.lease.token, "t2")
      assert.strictEqual(ended?.ending._tag, "bury")
    }))

  it.effect("a delivery's ending moves its lease from held to ended, on its way to the settler, and makes room", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      Leases.hold(leases, claimed("a", "t1", 1))
      Leases.endDelivery(leases, { id: "a", attempt: 1 }, failed("boom"))
      assert.strictEqual(stageOf(leases, "a", "t1"), "Ended")
      assert.strictEqual(Leases.free(leases), 3)
      assert.deepStrictEqual(tokens(leases), ["a/t1"], "an ending not yet in the store is renewed")
      const batch = yield* Leases.takeEnded(leases)
      assert.deepStrictEqual(batch.map((one) => [one.lease.token, one.ending]), [["t1", Leases.retry(1, "boom")]])
    }))

  it.effect("an ending for a job that holds no lease changes nothing", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      Leases.endDelivery(leases, { id: "ghost", attempt: 1 }, { _tag: "Succeeded" })
      Leases.end(leases, "ghost", Leases.release)
      assert.deepStrictEqual(tokens(leases), [])
      assert.strictEqual(Leases.free(leases), 3)
    }))

  it.effect("a lease ended without being held (its payload does not decode) goes to the settler and takes no room", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      Leases.endUnheld(leases, { id: "bad", token: "t1" }, Leases.bury("does not decode", 1))
      assert.strictEqual(stageOf(leases, "bad", "t1"), "Ended")
      assert.strictEqual(Leases.free(leases), 3)
      const [ended] = yield* Leases.takeEnded(leases)
      assert.deepStrictEqual(ended?.ending, Leases.bury("does not decode", 1))
    }))

  it.effect("the settler takes ended leases in the order they ended, as settling, still renewed; stored, they are no longer ours", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      for (const id of ["a", "b", "c"]) Leases.hold(leases, claimed(id, "t1"))
      Leases.end(leases, "b", Leases.complete)
      Leases.end(leases, "a", Leases.release)
      const batch = yield* Leases.takeEnded(leases)
      assert.deepStrictEqual(batch.map((one) => one.lease.id), ["b", "a"])
      assert.deepStrictEqual(batch.map((one) => stageOf(leases, one.lease.id, "t1")), ["Settling", "Settling"])
      assert.deepStrictEqual(tokens(leases), ["a/t1", "b/t1", "c/t1"])
      const stored = Leases.stored(leases, batch[0]!)
      assert.strictEqual(stored._tag, "Stored")
      assert.strictEqual(stageOf(leases, "b", "t1"), "not ours")
      assert.deepStrictEqual(tokens(leases), ["a/t1", "c/t1"])
    }))

  it.effect("a job ended here and claimed again before its ending is stored keeps both leases renewed, and is delivered again", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      Leases.hold(leases, claimed("a", "t1", 1))
      Leases.end(leases, "a", Leases.complete)
      assert.isTrue(Leases.hold(leases, claimed("a", "t2", 2)), "not delivered again")
      assert.deepStrictEqual(tokens(leases), ["a/t1", "a/t2"])
      const [settling] = yield* Leases.takeEnded(leases)
      Leases.stored(leases, settling!)
      assert.deepStrictEqual(tokens(leases), ["a/t2"])
    }))

  it.effect("waits for ended leases; once there will be no more, hands out the last ones, then fails with Done", () =>
    Effect.gen(function*() {
      const leases = yield* book(3)
      const taking = yield* Effect.forkChild(Leases.takeEnded(leases), { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(taking.pollUnsafe(), "took before anything ended")
      Leases.endUnheld(leases, { id: "a", token: "t1" }, Leases.complete)
      assert.deepStrictEqual((yield* Fiber.join(taking)).map((one) => one.lease.id), ["a"])
      Leases.endUnheld(leases, { id: "b", token: "t1" }, Leases.complete)
      Leases.noMoreEndings(leases)
      assert.deepStrictEqual((yield* Leases.takeEnded(leases)).map((one) => one.lease.id), ["b"])
      const done = yield* Effect.exit(Leases.takeEnded(leases))
      assert.isTrue(Exit.isFailure(done) && Cause.hasFails(done.cause))
    }))

  it.effect("room: as many as are not held; when full, the fetcher waits until a lease ends", () =>
    Effect.gen(function*() {
      const leases = yield* book(2)
      assert.strictEqual(yield* Leases.room(leases), 2)
      Leases.hold(leases, claimed("a", "t1"))
      Leases.hold(leases, claimed("b", "t1"))
      const waiting = yield* Effect.forkChild(Leases.room(leases), { startImmediately: true })
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe(), "room while full")
      // An ending that leaves the book full (a lease never held) wakes nobody for good.
      Leases.endUnheld(leases, { id: "x", token: "t1" }, Leases.complete)
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe(), "room while full")
      Leases.end(leases, "a", Leases.complete)
      assert.strictEqual(yield* Fiber.join(waiting), 1)
    }))
})
