/**
 * A durable job's own id, when its producer gives none: a UUID of version 7,
 * the time of the offer first (so that PostgreSQL's primary key keeps the
 * ids of consecutive offers side by side), then 74 random bits.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { afterEach, vi } from "vitest"
import { newJobId } from "../src/durable/jobIds.ts"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import type { Offered, OfferOptions } from "../src/durable/Store.ts"
import { Durable } from "../src/index.ts"

const version7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The milliseconds an id says it was made at: its first 48 bits. */
const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16)

/** The largest time a version 7 UUID holds: 48 bits of milliseconds (the year 10889). */
const maxTime = 2 ** 48 - 1

afterEach(() => {
  vi.restoreAllMocks()
})

describe("a durable job's own id", () => {
  it.effect("submit and submitAll without an id give each job a version 7 UUID made at the time of the offer", () =>
    Effect.gen(function*() {
      const producer = Durable.producer({ store: yield* MemoryStore.make, queue: "ids", schema: Schema.Number })
      const before = Date.now()
      const one = yield* producer.submit(1)
      const withOptions = yield* producer.submit(3, { priority: 1 })
      const many = yield* producer.submitAll(Array.from({ length: 1_000 }, (_, n) => n))
      const after = Date.now()
      for (const id of [one, withOptions, ...many]) {
        assert.match(id, version7)
        assert.isTrue(before <= timeOf(id) && timeOf(id) <= after, `${id} says ${timeOf(id)}, not in [${before}, ${after}]`)
      }
      assert.strictEqual(new Set([one, withOptions, ...many]).size, 1_002)
      assert.deepStrictEqual(yield* producer.submit(2, { id: "mine" }), "mine")
    }))

  it.effect("the producer tells the store when it made every id of an offer (newIds), and not when the caller gave one", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const told: Array<unknown> = []
      const watched = { ...store, offer: (queue: string, jobs: ReadonlyArray<Offered>, options?: OfferOptions) => {
        told.push(options?.newIds)
        return store.offer(queue, jobs, options)
      } }
      const producer = Durable.producer({ store: watched, queue: "ids", schema: Schema.Number })
      yield* producer.submit(1)
      yield* producer.submit(2, { priority: 1 })
      yield* producer.submitAll([3, 4])
      yield* producer.submit(5, { id: "mine" })
      // The caller's id offered again: stored once, as without the hint.
      yield* producer.submit(6, { id: "mine" })
      assert.deepStrictEqual(told, [true, true, true, undefined, undefined])
      assert.strictEqual((yield* store.counts("ids")).ready, 5)
    }))

  it("an id made later sorts after one made earlier, as text, whatever the two times", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: maxTime - 1 }), fc.integer({ min: 1, max: maxTime }), (earlier, gap) => {
      const later = Math.min(maxTime, earlier + gap)
      const now = vi.spyOn(Date, "now").mockReturnValueOnce(earlier).mockReturnValueOnce(later)
      const [first, second] = [newJobId(), newJobId()]
      now.mockRestore()
      assert.match(first, version7)
      assert.match(second, version7)
      assert.strictEqual(timeOf(first), earlier)
      assert.strictEqual(timeOf(second), later)
      assert.isTrue(first < second, `${first} made at ${earlier} should sort before ${second} made at ${later}`)
    }))
  })

  it("a clock that says something odd (a fraction, before 1970, past 48 bits, not a number) still gives well-formed ids", () => {
    fc.assert(fc.property(fc.oneof(fc.double(), fc.integer()), (odd) => {
      const now = vi.spyOn(Date, "now").mockReturnValue(odd)
      const id = newJobId()
      now.mockRestore()
      assert.match(id, version7)
      const expected = Number.isNaN(odd) || odd < 0 ? 0 : Math.min(Math.trunc(odd), maxTime)
      assert.strictEqual(timeOf(id), expected, `Date.now() = ${odd}`)
    }))
  })

  it("ids made in the same millisecond differ in their 74 random bits", () => {
    vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_000)
    const ids = Array.from({ length: 10_000 }, newJobId)
    assert.strictEqual(new Set(ids).size, ids.length)
    assert.isTrue(ids.every((id) => timeOf(id) === 1_700_000_000_000 && version7.test(id)))
  })
})
