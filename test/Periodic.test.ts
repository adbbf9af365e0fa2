/**
 * Periodic jobs on the memory store under the TestClock: a day of ticks in
 * milliseconds, one job per tick however many declarations offer it, what a
 * start does about missed ticks (`runOnce`, `skip`, bounded by `catchUp`),
 * payloads made from the tick, cron time zones across DST changes, store
 * outages, ticks already handled, and the refusal of wrong options.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Cron, DateTime, Duration, Effect, Exit, Layer, Ref, Schema, SchemaGetter, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/durable/MemoryStore.ts"
import { type Store, StoreError } from "../src/durable/Store.ts"
import { Durable, Periodic } from "../src/index.ts"
import { throwingProxy } from "./support/hostileValues.ts"
import { capture } from "./support/logLines.ts"
import { attribute, parentId, recordingTracer, traced } from "./support/recordingTracer.ts"
import { settle } from "./support/workload.ts"

const minute = 60_000
const hour = 60 * minute
const day = 24 * hour

/** Lets `ms` of TestClock time pass, a minute at a time, so that every woken fiber runs before the next step. */
const pass = (ms: number, step = minute) =>
  Effect.gen(function*() {
    yield* settle // what was just started (a declaration's first offer) runs at the time it was started
    for (let t = 0; t < ms; t += step) {
      yield* TestClock.adjust(Math.min(step, ms - t))
      yield* settle
    }
  })

/** A durable pool on `queue` that records each job it runs: its id, when (TestClock), its payload. */
const recorder = (store: Store, queue = "reports", options: Partial<Durable.Options<string, string, void, string, never>> = {}) =>
  Effect.gen(function*() {
    const ran = yield* Ref.make<ReadonlyArray<{ readonly id: string; readonly at: number; readonly payload: string }>>([])
    yield* Durable.make({
      store,
      queue,
      schema: Schema.String,
      workers: 4,
      pollInterval: "1 hour",
      ...options,
      handler: (job) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (at) => Ref.update(ran, (all) => [...all, { id: job.id, at, payload: job.payload }])
        )
    })
    yield* settle // the pool waits for jobs before the first tick comes
    return Ref.get(ran)
  })

/** A declaration of `name` on the queue "reports", payload the tick's ISO time; `options` add or override. */
const declaration = (store: Store, options: Partial<Periodic.Options<string, string>> = {}) =>
  ({
    store,
    queue: "reports",
    schema: Schema.String,
    name: "report",
    cron: "* * * * *",
    payload: (tick: DateTime.Utc) => DateTime.formatIso(tick),
    ...options
  }) as Periodic.Options<string, string>

const iso = (millis: number) => new Date(millis).toISOString()

/** Runs `effect` in a scope of its own, closed when it returns. */
const inScope = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.scoped(effect)

/** `store`, whose offers fail with a connection refused while `down` holds. */
const refusingWhile = (store: Store, down: Ref.Ref<boolean>): Store => ({
  ...store,
  offer: (queue, jobs) =>
    Effect.flatMap(Ref.get(down), (isDown) =>
      isDown ? Effect.fail(new StoreError({ operation: "offer", reason: "connection refused" })) : store.offer(queue, jobs))
})

describe("Periodic", () => {
  it.effect("a constant payload with a schema that encodes asynchronously is taken, as submit takes it; each tick offers it", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const suspending = Schema.String.pipe(Schema.decode({
        decode: SchemaGetter.transform((text: string) => text),
        encode: SchemaGetter.transformEffect((text: string) => Effect.as(Effect.sleep("1 millis"), text))
      }))
      yield* Periodic.declare({ ...declaration(store), schema: suspending, payload: "fixed" } as Periodic.Options<string, string>)
      yield* pass(2 * minute)
      const job = yield* Durable.admin({ store, queue: "reports" }).lookup(Periodic.tickId("report", new Date(minute)))
      assert.strictEqual(job?.state, "ready")
    })))

  it.effect("a day of every-minute ticks is 1440 jobs, with the tick's id, run at the tick, its payload made from it", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store)
      yield* Periodic.declare(declaration(store, { missed: "skip" }))
      // Up to just before the next day's first tick is offered (a second ahead).
      yield* pass(day - 1_001)
      const expected = Array.from({ length: 1440 }, (_, i) => i * minute)
      const all = yield* ran
      assert.strictEqual(all.length, 1440)
      assert.deepStrictEqual(all.map((job) => job.id), expected.map((tick) => `periodic:report@${iso(tick)}`))
      assert.deepStrictEqual(all.map((job) => job.at), expected, "each at its tick, by the store's clock")
      assert.deepStrictEqual(all.map((job) => job.payload), expected.map(iso))
      assert.strictEqual(Periodic.tickId("report", new Date(minute)), "periodic:report@1970-01-01T00:01:00.000Z")
      assert.strictEqual(Periodic.tickId("report", DateTime.makeUnsafe(minute)), "periodic:report@1970-01-01T00:01:00.000Z")
      assert.deepStrictEqual(yield* Durable.admin({ store, queue: "reports" }).counts, {
        ready: 0,
        leased: 0,
        completed: 1440,
        buried: 0
      })
    })))

  it.effect("three declarations of one schedule give each tick once", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store)
      for (let i = 0; i < 3; i++) yield* Periodic.declare(declaration(store, { missed: "skip" }))
      yield* pass(10 * minute - 1_001)
      assert.deepStrictEqual(
        (yield* ran).map((job) => [job.id, job.at]),
        Array.from({ length: 10 }, (_, i) => [`periodic:report@${iso(i * minute)}`, i * minute])
      )
    })))

  it.effect("a tick is offered a second ahead, so that the store's clock runs it; a faster cron, half its gap ahead", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const admin = Durable.admin({ store, queue: "reports" })
      yield* TestClock.setTime(30_000)
      yield* Periodic.declare(declaration(store, { missed: "skip" }))
      yield* Periodic.declare(declaration(store, { name: "fast", cron: "*/2 * * * * *", missed: "skip" }))
      yield* pass(28_999, 28_999)
      assert.strictEqual(yield* admin.lookup(Periodic.tickId("report", new Date(minute))), undefined)
      yield* pass(1)
      assert.strictEqual((yield* admin.lookup(Periodic.tickId("report", new Date(minute))))?.runAt?.getTime(), minute)
      // Every 2 seconds: offered 1 s ahead (half the gap); at 59 s, the tick of 60 s is in, and no later one.
      assert.strictEqual((yield* admin.lookup(Periodic.tickId("fast", new Date(minute))))?.state, "ready")
      assert.strictEqual(yield* admin.lookup(Periodic.tickId("fast", new Date(minute + 2_000))), undefined)
    })))

  it.effect("closing a declaration's scope, or releasing its layer, stops its ticks: nothing is offered ahead", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const admin = Durable.admin({ store, queue: "reports" })
      yield* inScope(Effect.gen(function*() {
        yield* Periodic.declare(declaration(store, { missed: "skip" }))
        yield* pass(5 * minute - 2_000)
      }))
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(Periodic.layer(declaration(store, { name: "layered", missed: "skip" })), scope)
      yield* pass(5 * minute)
      yield* Scope.close(scope, Exit.void)
      yield* pass(2 * hour)
      const counts = yield* admin.counts
      // report: ticks 0..4 minutes; layered: from 5 min to 10 min less 2 s: 5..9 (10 min's is offered at 9:59).
      assert.strictEqual(counts.ready, 10)
      assert.strictEqual(yield* admin.lookup(Periodic.tickId("report", new Date(5 * minute))), undefined)
      assert.strictEqual((yield* admin.lookup(Periodic.tickId("layered", new Date(9 * minute))))?.state, "ready")
      assert.strictEqual(yield* admin.lookup(Periodic.tickId("layered", new Date(10 * minute))), undefined)
    })))

  for (const missed of ["runOnce", "skip"] as const) {
    it.effect(`after a gap, ${missed === "runOnce" ? "runOnce runs the most recent missed tick once, late" : "skip runs none"}`, () =>
      Effect.scoped(Effect.gen(function*() {
        yield* TestClock.setTime(10 * hour + 30 * minute)
        const store = yield* MemoryStore.make
        const ran = yield* recorder(store)
        const hourly = declaration(store, { cron: "0 * * * *", missed })
        yield* inScope(Effect.andThen(Periodic.declare(hourly), pass(2 * hour))) // to 12:30
        yield* pass(5 * hour) // to 17:30, with no declaration: 13:00 to 17:00 are missed
        yield* inScope(Effect.andThen(Periodic.declare(hourly), pass(15 * minute)))
        const runs = (yield* ran).map((job) => [job.payload, iso(job.at)])
        const at = (h: number, m = 0) => iso(h * hour + m * minute)
        assert.deepStrictEqual(
          runs,
          missed === "runOnce"
            ? [[at(10), at(10, 30)], [at(11), at(11)], [at(12), at(12)], [at(17), at(17, 30)]]
            : [[at(11), at(11)], [at(12), at(12)]]
        )
      })))
  }

  it.effect("on a queue that keeps no completed job, a restart runs the last tick again: ticks need a retention above zero", () =>
    Effect.gen(function*() {
      const ranAfterRestart = (completedRetention: Durable.Options<string, string, void, string, never>["completedRetention"]) =>
        inScope(Effect.gen(function*() {
          const store = yield* MemoryStore.make
          const ran = yield* recorder(store, "reports", { completedRetention })
          const hourly = declaration(store, { cron: "0 * * * *" })
          yield* TestClock.setTime(30 * minute)
          yield* inScope(Effect.andThen(Periodic.declare(hourly), pass(35 * minute))) // the 01:00 tick runs
          yield* inScope(Effect.andThen(Periodic.declare(hourly), pass(minute))) // a deploy restarts it at 01:05
          return (yield* ran).map((job) => job.id)
        }))
      const once = [Periodic.tickId("report", DateTime.makeUnsafe(0)), Periodic.tickId("report", DateTime.makeUnsafe(hour))]
      assert.deepStrictEqual(yield* ranAfterRestart(undefined), once, "kept a day: each tick once")
      assert.deepStrictEqual(yield* ranAfterRestart(0), [...once, once[1]], "kept none: the restart's catch-up runs 01:00 again")
    }))

  it.effect("runOnce looks back only as far as catchUp", () =>
    Effect.gen(function*() {
      const catchUpAfter = (startMinute: number) =>
        Effect.scoped(Effect.gen(function*() {
          const store = yield* MemoryStore.make
          yield* TestClock.setTime(10 * hour + startMinute * minute)
          yield* Periodic.declare(declaration(store, { cron: "0 * * * *", catchUp: "30 minutes" }))
          yield* pass(minute)
          return yield* Durable.admin({ store, queue: "reports" }).lookup(Periodic.tickId("report", new Date(10 * hour)))
        }))
      assert.strictEqual((yield* catchUpAfter(30))?.state, "ready", "30 minutes late: within catchUp")
      assert.strictEqual(yield* catchUpAfter(31), undefined, "31 minutes late: beyond catchUp, not run")
    }))

  it.effect("a cron at 02:00 Europe/Paris gives the right UTC instants across both DST changes", () =>
    Effect.scoped(Effect.gen(function*() {
      const runs: Array<{ readonly id: string; readonly at: number }> = []
      for (const start of ["2026-03-27T12:00:00Z", "2026-10-23T12:00:00Z"]) {
        yield* TestClock.setTime(Date.parse(start))
        yield* inScope(Effect.gen(function*() {
          const store = yield* MemoryStore.make
          const ran = yield* recorder(store)
          yield* Periodic.declare(
            declaration(store, { name: "nightly", cron: "0 2 * * *", timeZone: "Europe/Paris", missed: "skip" })
          )
          yield* pass(3 * day, hour)
          runs.push(...(yield* ran))
        }))
      }
      assert.deepStrictEqual(runs.map((job) => iso(job.at)), [
        "2026-03-28T01:00:00.000Z", // 02:00 CET
        "2026-03-29T01:00:00.000Z", // 02:00 does not exist that night: 03:00 CEST, the instant after the gap
        "2026-03-30T00:00:00.000Z", // 02:00 CEST
        "2026-10-24T00:00:00.000Z", // 02:00 CEST
        "2026-10-25T00:00:00.000Z", // 02:00 happens twice: the earlier, CEST
        "2026-10-26T01:00:00.000Z" // 02:00 CET
      ])
      assert.deepStrictEqual(runs.map((job) => job.id), runs.map((job) => `periodic:nightly@${iso(job.at)}`))
    })))

  it.effect("every tick in a spring-forward gap runs, shifted by the change, whenever the declaration started", () =>
    Effect.gen(function*() {
      const ranFrom = (start: string, cron: string) =>
        inScope(Effect.gen(function*() {
          yield* TestClock.setTime(Date.parse(start))
          const store = yield* MemoryStore.make
          const ran = yield* recorder(store)
          yield* Periodic.declare(declaration(store, { name: "gap", cron, timeZone: "Europe/Paris", missed: "skip" }))
          yield* pass(Date.parse("2026-03-29T02:00:00Z") - Date.parse(start), 10 * minute)
          return (yield* ran).map((job) => iso(job.at))
        }))
      // 29 March 2026 in Paris: 02:00 CET is 03:00 CEST, so 02:xx is 01:xx UTC, an hour later than the day before.
      assert.deepStrictEqual(yield* ranFrom("2026-03-28T12:00:00Z", "0,30 2 * * *"), [
        "2026-03-29T01:00:00.000Z",
        "2026-03-29T01:30:00.000Z"
      ])
      assert.deepStrictEqual(yield* ranFrom("2026-03-28T12:00:00Z", "*/20 2 * * *"), [
        "2026-03-29T01:00:00.000Z",
        "2026-03-29T01:20:00.000Z",
        "2026-03-29T01:40:00.000Z"
      ])
      // Started inside the gap's shifted hour, before the 02:30 tick's 03:30.
      assert.deepStrictEqual(yield* ranFrom("2026-03-29T01:10:00Z", "30 2 * * *"), ["2026-03-29T01:30:00.000Z"])
    }))

  it.effect("each tick is a trace of its own: a span per tick, its job's span its child, never the span declare ran in", () => {
    const recorded = recordingTracer()
    return traced(
      recorded,
      Effect.scoped(Effect.gen(function*() {
        const store = yield* MemoryStore.make
        yield* recorder(store)
        // Declared during a start-up span that ends at once, as an application's would.
        yield* Periodic.declare(declaration(store, { missed: "skip" })).pipe(Effect.withSpan("startup"))
        yield* pass(3 * minute - 1_001)
        const startup = recorded.named("startup")[0]!
        const ticks = recorded.named("effect-worker-pool.periodic report")
        const jobs = recorded.named("effect-worker-pool.job default")
        assert.deepStrictEqual(ticks.map((span) => attribute(span, "periodic.tick")), [iso(0), iso(minute), iso(2 * minute)])
        assert.deepStrictEqual(ticks.map((span) => parentId(span)), [undefined, undefined, undefined])
        assert.strictEqual(new Set(ticks.map((span) => span.traceId)).size, 3, "one trace per tick")
        assert.deepStrictEqual(jobs.map((span) => parentId(span)), ticks.map((span) => span.spanId))
        assert.isFalse([...ticks, ...jobs].some((span) => span.traceId === startup.traceId), "a tick in the start-up's trace")
      }))
    )
  })

  it.effect("a Cron value works as a string does; one without a time zone is read in UTC", () =>
    Effect.scoped(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-06-01T00:00:00Z"))
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store)
      const localCron = Cron.parseUnsafe("0 2 * * *") // no zone: the host's, for Cron itself
      // A host in New York: the ticks must not move with it.
      const hostZone = process.env.TZ
      process.env.TZ = "America/New_York"
      yield* Effect.ensuring(
        Effect.andThen(Periodic.declare(declaration(store, { cron: localCron, missed: "skip" })), pass(day, hour)),
        Effect.sync(() => {
          if (hostZone === undefined) delete process.env.TZ
          else process.env.TZ = hostZone
        })
      )
      assert.deepStrictEqual((yield* ran).map((job) => iso(job.at)), ["2026-06-01T02:00:00.000Z"])
    })))

  it.effect("a payload function that throws, or returns what the schema refuses, is logged for that tick; the ticks go on", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store)
      yield* Periodic.declare(declaration(store, {
        missed: "skip",
        payload: (tick) => {
          const m = DateTime.getPart(tick, "minute")
          if (m === 1) throw new Error("no data yet")
          // A thrown value that cannot be made a string: its message must not fail too.
          if (m === 4) throw Object.create(null)
          return (m === 2 ? 42 : `minute ${m}`) as string
        }
      }))
      yield* pass(6 * minute - 1_001)
      assert.deepStrictEqual((yield* ran).map((job) => job.payload), ["minute 0", "minute 3", "minute 5"])
      const errors = lines.filter((line) => line.level === "Error")
      assert.deepStrictEqual(errors.map((line) => [line.message, line.annotations.tick]), [
        ["periodic tick's payload function threw; this tick is not offered Error: no data yet", iso(minute)],
        ["periodic tick's payload refused; this tick is not offered Expected string", iso(2 * minute)],
        ["periodic tick's payload function threw; this tick is not offered {}", iso(4 * minute)]
      ])
      assert.deepStrictEqual(errors.map((line) => [line.annotations.queue, line.annotations.periodic]), [
        ["reports", "report"],
        ["reports", "report"],
        ["reports", "report"]
      ])
    })).pipe(Effect.provide(layer))
  })

  it.effect("declarations on clocks that are wrong still offer each tick once, on its id, run by the store's clock", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store)
      const real = yield* Clock.Clock
      /** This process's clock, `skew` milliseconds off. */
      const skewed = (skew: number): Clock.Clock => ({
        currentTimeMillisUnsafe: () => real.currentTimeMillisUnsafe() + skew,
        currentTimeMillis: Effect.map(real.currentTimeMillis, (now) => now + skew),
        currentTimeNanosUnsafe: () => real.currentTimeNanosUnsafe() + BigInt(skew) * 1_000_000n,
        currentTimeNanos: Effect.map(real.currentTimeNanos, (now) => now + BigInt(skew) * 1_000_000n),
        monotonicTimeNanosUnsafe: () => real.monotonicTimeNanosUnsafe(),
        monotonicTimeNanos: real.monotonicTimeNanos,
        sleep: (duration) => real.sleep(duration)
      })
      yield* TestClock.setTime(hour)
      for (const skew of [0, 40_000, -20_000, 7_000]) {
        yield* Effect.provideService(Periodic.declare(declaration(store, { missed: "skip" })), Clock.Clock, skewed(skew))
      }
      yield* pass(10 * minute - 1_001, 1_000)
      assert.deepStrictEqual(
        (yield* ran).map((job) => [job.id, job.at]),
        Array.from({ length: 10 }, (_, i) => [Periodic.tickId("report", new Date(hour + i * minute)), hour + i * minute])
      )
    })))

  it.effect("a wall clock set wrong for five minutes, back a day or ahead two hours, holds the ticks up for those minutes only", () => {
    const { layer, lines } = capture()
    return Effect.gen(function*() {
      for (const step of [-day, 2 * hour]) {
        yield* inScope(Effect.gen(function*() {
          yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00Z"))
          const start = yield* Clock.currentTimeMillis
          const store = yield* MemoryStore.make
          const real = yield* Clock.Clock
          // The process's wall clock, `skew` off; its timers keep the machine's own time, as setTimeout does.
          let skew = 0
          const stepped: Clock.Clock = {
            ...real,
            currentTimeMillisUnsafe: () => real.currentTimeMillisUnsafe() + skew,
            currentTimeMillis: Effect.sync(() => real.currentTimeMillisUnsafe() + skew)
          }
          yield* Effect.provideService(Periodic.declare(declaration(store, { missed: "skip" })), Clock.Clock, stepped)
          yield* pass(10 * minute, 1_000)
          skew = step
          yield* pass(5 * minute, 1_000)
          skew = 0
          yield* pass(20 * minute, 1_000)
          const admin = Durable.admin({ store, queue: "reports" })
          const missing: Array<number> = []
          for (let m = 1; m < 35; m++) {
            if ((yield* admin.lookup(Periodic.tickId("report", new Date(start + m * minute)))) === undefined) missing.push(m)
          }
          // Ticks of 10:11 to 10:15 at most (the clock was wrong then); every one from 10:16 on.
          assert.isTrue(missing.every((m) => m >= 11 && m <= 15), `${step}: missing the ticks of minutes ${missing}`)
        }))
      }
      assert.isTrue(lines.some((line) => line.message === "the clock went back; the ticks go on from its time, none caught up"))
    }).pipe(Effect.provide(layer))
  })

  it.effect("a wall clock slewed slow (8 %, as NTP corrects a fast clock) is not taken for one set back: no warning, every tick", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-05-01T10:00:00Z"))
      const start = yield* Clock.currentTimeMillis
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store)
      const real = yield* Clock.Clock
      // The wall clock runs 8 % slow from the start; timers keep the machine's time.
      const slewed = () => start + (real.currentTimeMillisUnsafe() - start) * 0.92
      const slow: Clock.Clock = { ...real, currentTimeMillisUnsafe: slewed, currentTimeMillis: Effect.sync(slewed) }
      yield* Effect.provideService(Periodic.declare(declaration(store, { missed: "skip" })), Clock.Clock, slow)
      yield* pass(12 * minute, 1_000)
      // A tick a minute of the slow clock, none missed: 12 minutes are 11 of it.
      const ids = new Set((yield* ran).map((job) => job.id))
      for (let m = 1; m <= 11; m++) assert.isTrue(ids.has(Periodic.tickId("report", new Date(start + m * minute))), `tick ${m}`)
      assert.isFalse(lines.some((line) => line.message.startsWith("the clock went back")))
    })).pipe(Effect.provide(layer))
  })

  it.effect("with the defaults, a start on a clock a minute and a half behind the store's does not run again a daily tick the store purged", () =>
    Effect.scoped(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-05-01T01:00:00Z"))
      const store = yield* MemoryStore.make
      const ran = yield* recorder(store) // the default completedRetention: a day
      const real = yield* Clock.Clock
      const behind: Clock.Clock = {
        ...real,
        currentTimeMillisUnsafe: () => real.currentTimeMillisUnsafe() - 90_000,
        currentTimeMillis: Effect.map(real.currentTimeMillis, (now) => now - 90_000)
      }
      const nightly = (s: Store, missed?: "skip") => declaration(s, { name: "nightly", cron: "0 2 * * *", missed })
      // One process keeps the schedule through the first night, then stops.
      yield* inScope(Effect.andThen(Periodic.declare(nightly(store, "skip")), pass(2 * hour)))
      const first = Periodic.tickId("nightly", new Date("2026-05-01T02:00:00Z"))
      assert.deepStrictEqual((yield* ran).map((job) => job.id), [first])
      // A day after it completed, the store has purged it.
      yield* pass(Date.parse("2026-05-02T02:01:10Z") - Date.parse("2026-05-01T03:00:00Z"), hour)
      assert.strictEqual(yield* Durable.admin({ store, queue: "reports" }).lookup(first), undefined)
      // Another starts at 02:01:10, with the defaults, its clock saying 01:59:40: the last tick it sees is the purged one.
      yield* Effect.provideService(Periodic.declare(nightly(store)), Clock.Clock, behind)
      yield* pass(5 * minute)
      assert.deepStrictEqual((yield* ran).map((job) => job.id), [first, Periodic.tickId("nightly", new Date("2026-05-02T02:00:00Z"))])
    })))

  it.effect("a process stalled through whole periods catches up the most recent missed tick only, and says so", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      // The process is suspended for 150 s as it waits to offer the tick of 1 min (at 59 s): it wakes at 3:29.
      const real = yield* Clock.Clock
      let suspended = false
      const suspending: Clock.Clock = {
        ...real,
        sleep: (duration) => {
          const wakeAt = real.currentTimeMillisUnsafe() + Duration.toMillis(duration)
          if (suspended || wakeAt < minute - 1_000) return real.sleep(duration)
          suspended = true
          return real.sleep(Duration.millis(wakeAt - real.currentTimeMillisUnsafe() + 150_000))
        }
      }
      const ran = yield* recorder(store)
      yield* Effect.provideService(Periodic.declare(declaration(store, { missed: "runOnce" })), Clock.Clock, suspending)
      yield* pass(5 * minute - 1_001, 1_000)
      assert.deepStrictEqual((yield* ran).map((job) => [job.payload, job.at]), [
        [iso(-minute), 0], // the start's catch-up
        [iso(0), 0],
        [iso(3 * minute), 209_000], // the most recent missed tick, run once, late; 1 min's and 2 min's are not run
        [iso(4 * minute), 4 * minute]
      ])
      assert.deepStrictEqual(lines.filter((line) => line.level === "Warn").map((line) => line.message), [
        "periodic ticks missed: this process was held up past their period (suspended, or a slow store)"
      ])
    })).pipe(Effect.provide(layer))
  })

  /**
   * A declaration (missed ticks skipped) on a store that refuses offers while
   * `down` holds, run to 58 s: its first tick ran, the next is 2 s away.
   */
  const declaredOnFlakyStore = Effect.gen(function*() {
    const store = yield* MemoryStore.make
    const down = yield* Ref.make(false)
    const ran = yield* recorder(store)
    yield* Periodic.declare(declaration(refusingWhile(store, down), { missed: "skip" }))
    yield* pass(minute - 2_000, 1_000)
    return { down, ran }
  })

  it.effect("a store outage is retried with a warning each time; a tick offered late in its period still runs once", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const { down, ran } = yield* declaredOnFlakyStore
      yield* Ref.set(down, true)
      yield* pass(20_000, 100) // the tick of 1 min: offered at 59 s, refused until 1:18
      yield* Ref.set(down, false)
      yield* pass(3 * minute - 20_000, 100)
      const runs = yield* ran
      assert.deepStrictEqual(runs.map((job) => job.id), [0, 1, 2, 3].map((m) => Periodic.tickId("report", new Date(m * minute))))
      assert.strictEqual(runs[0]?.at, 0)
      assert.isAbove(runs[1]?.at ?? 0, 78_000, "late, once the store is back, and once")
      assert.isBelow(runs[1]?.at ?? 0, 2 * minute)
      assert.deepStrictEqual([runs[2]?.at, runs[3]?.at], [2 * minute, 3 * minute])
      const warnings = lines.filter((line) => line.level === "Warn")
      assert.isAbove(warnings.length, 3)
      assert.isTrue(warnings.every((line) => line.message.startsWith("offer of a periodic tick failed; retrying")))
      assert.deepStrictEqual(lines.filter((line) => line.level === "Error"), [])
    })).pipe(Effect.provide(layer))
  })

  it.effect("a tick whose offer fails through its whole period is logged as an error; the next tick is offered", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const { down, ran } = yield* declaredOnFlakyStore
      yield* Ref.set(down, true)
      yield* pass(minute + 1_500, 500) // to 1:59.5: the tick of 1 min never got in within its period (to 1:59)
      yield* Ref.set(down, false)
      yield* pass(minute, 1_000)
      assert.deepStrictEqual((yield* ran).map((job) => job.at), [0, 2 * minute])
      const errors = lines.filter((line) => line.level === "Error")
      assert.deepStrictEqual(errors.map((line) => [line.message, line.annotations.tick]), [[
        "periodic tick not offered within its period (the store was unreachable, or the offer never ended); its next chance is the catch-up of a start",
        iso(minute)
      ]])
    })).pipe(Effect.provide(layer))
  })

  it.effect("a store that dies on an offer loses that tick, logged as the store's failure, not the declaration", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const dying: Store = {
        ...store,
        offer: (queue, jobs) =>
          jobs[0]?.id === Periodic.tickId("report", new Date(minute)) ? Effect.die("engine bug") : store.offer(queue, jobs)
      }
      const ran = yield* recorder(store)
      yield* Periodic.declare(declaration(dying, { missed: "skip" }))
      yield* pass(3 * minute - 1_001)
      assert.deepStrictEqual((yield* ran).map((job) => job.at), [0, 2 * minute])
      assert.deepStrictEqual(lines.filter((line) => line.level === "Error").map((line) => [line.message, line.annotations.tick]), [
        ["periodic tick refused by the store the job store failed to offer jobs: unexpected failure: engine bug", iso(minute)]
      ])
    })).pipe(Effect.provide(layer))
  })

  it.effect("a tick whose payload's encoding never ends is logged as an error at the end of its period; the next tick is offered", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const stuck = iso(minute)
      const hanging = Schema.String.pipe(Schema.decode({
        decode: SchemaGetter.transform((text: string) => text),
        encode: SchemaGetter.transformEffect((text: string) => text === stuck ? Effect.never : Effect.succeed(text))
      }))
      const ran = yield* recorder(store)
      yield* Periodic.declare({ ...declaration(store, { missed: "skip" }), schema: hanging } as Periodic.Options<string, string>)
      yield* pass(3 * minute - 1_001, 1_000)
      assert.deepStrictEqual((yield* ran).map((job) => job.at), [0, 2 * minute])
      assert.deepStrictEqual(lines.filter((line) => line.level === "Error").map((line) => [line.message, line.annotations.tick]), [[
        "periodic tick not offered within its period (the store was unreachable, or the offer never ended); its next chance is the catch-up of a start",
        stuck
      ]])
    })).pipe(Effect.provide(layer))
  })

  it.effect("a tick the store holds as a dead letter was handled already: offering it again is not an error", () => {
    const { layer, lines } = capture()
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* Durable.make({
        store,
        queue: "reports",
        schema: Schema.String,
        workers: 1,
        maxAttempts: 1,
        pollInterval: "1 hour",
        handler: () => Effect.fail("report failed")
      })
      const hourly = declaration(store, { cron: "0 * * * *" })
      yield* TestClock.setTime(10 * hour + 30 * minute)
      yield* inScope(Effect.andThen(Periodic.declare(hourly), pass(minute))) // catches up 10:00: it fails, dead-lettered
      yield* inScope(Effect.andThen(Periodic.declare(hourly), pass(minute))) // catches up 10:00 again: refused
      const admin = Durable.admin({ store, queue: "reports" })
      assert.strictEqual((yield* admin.lookup(Periodic.tickId("report", new Date(10 * hour))))?.state, "buried")
      assert.strictEqual((yield* admin.counts).buried, 1)
      assert.deepStrictEqual(lines.filter((line) => line.level === "Error").map((line) => line.message), [])
    })).pipe(Effect.provide(layer))
  })

  it.effect("each tick's job gets the declaration's priority, maxAttempts and retry", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const tries = yield* Ref.make<ReadonlyArray<number>>([])
      yield* Durable.make({
        store,
        queue: "reports",
        schema: Schema.String,
        workers: 1,
        maxAttempts: 10,
        pollInterval: "1 hour",
        handler: () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.andThen(Ref.update(tries, (all) => [...all, now]), Effect.fail("no")))
      })
      yield* Periodic.declare(declaration(store, {
        cron: "0 * * * *",
        missed: "skip",
        priority: -5,
        maxAttempts: 2,
        retry: { base: "10 seconds" }
      }))
      const admin = Durable.admin({ store, queue: "reports" })
      yield* pass(minute - 1_000, 1_000)
      assert.strictEqual((yield* admin.lookup(Periodic.tickId("report", new Date(0))))?.priority, -5)
      yield* pass(10 * minute, 1_000)
      assert.deepStrictEqual(yield* Ref.get(tries), [0, 10_000], "two attempts, 10 s apart")
      assert.strictEqual((yield* admin.lookup(Periodic.tickId("report", new Date(0))))?.state, "buried")
    })))

  it.effect("a name of 987 bytes of UTF-8 is the longest taken: every tick's id, to the last date, is an id every store keeps", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const name = "é".repeat(493) + "n" // 987 bytes
      // The longest tick time a Date writes (a year of six digits) makes the longest id: 1,024 bytes, the limit.
      assert.strictEqual(Buffer.byteLength(Periodic.tickId(name, new Date(8.64e15)), "utf8"), 1_024)
      assert.strictEqual(Buffer.byteLength(Periodic.tickId(name, new Date(-8.64e15)), "utf8"), 1_024)
      const refused = yield* Effect.flip(Periodic.declare(declaration(store, { name: name + "n" })))
      assert.deepStrictEqual([refused._tag, refused.option], ["PoolConfigError", "name"])
      assert.include(refused.message, "at most 987 bytes of UTF-8")
      yield* Periodic.declare(declaration(store, { name }))
      yield* pass(minute - 1_000, 1_000)
      assert.strictEqual((yield* Durable.admin({ store, queue: "reports" }).lookup(Periodic.tickId(name, new Date(minute))))?.state, "ready")
    })))

  it.effect("wrong options are a PoolConfigError naming the option, at declare; nothing ticks", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const refused = (options: Record<string, unknown>) =>
        Effect.map(
          Effect.flip(Periodic.declare({ ...declaration(store), ...options } as Periodic.Options<string, string>)),
          (error) => [error._tag, error.option]
        )
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ cron: "every night" }, "cron"],
        [{ cron: "61 * * * *" }, "cron"],
        [{ cron: "0 0 30 2 *" }, "cron"], // never matches
        [{ cron: 42 }, "cron"],
        [{ cron: throwingProxy() }, "cron"],
        [{ timeZone: throwingProxy() }, "timeZone"],
        [{ timeZone: "Nowhere/City" }, "timeZone"],
        [{ timeZone: "+25:00" }, "timeZone"],
        [{ timeZone: "-14:30" }, "timeZone"],
        [{ timeZone: DateTime.zoneMakeOffset(25 * 60 * 60 * 1000) }, "timeZone"],
        [{ cron: Cron.parseUnsafe("0 2 * * *", "UTC"), timeZone: "Europe/Paris" }, "timeZone"],
        // A Cron's own zone is held to the same rule as a timeZone's.
        [{ cron: Cron.make({ ...Cron.parseUnsafe("0 2 * * *"), tz: DateTime.zoneMakeOffset(25 * 60 * 60 * 1000) }) }, "cron"],
        [{ cron: Cron.make({ ...Cron.parseUnsafe("0 2 * * *"), tz: DateTime.zoneMakeOffset(Number.NaN) }) }, "cron"],
        [{ timeZone: DateTime.zoneMakeOffset(Number.NaN) }, "timeZone"],
        [{ name: "" }, "name"],
        [{ name: "a\u0000b" }, "name"],
        [{ name: "a\ud800" }, "name"],
        [{ name: "n".repeat(988) }, "name"], // each tick's id would be 1,025 bytes
        [{ name: "é".repeat(494) }, "name"], // 494 characters, 988 bytes
        [{ name: "n".repeat(2_800) }, "name"],
        [{ queue: "X\ud800" }, "queue"],
        [{ queue: "q".repeat(513) }, "queue"],
        [{ name: 7 }, "name"],
        [{ missed: "sometimes" }, "missed"],
        [{ catchUp: "Infinity" }, "catchUp"],
        [{ catchUp: -1 }, "catchUp"],
        [{ catchUp: "soon" }, "catchUp"],
        [{ payload: 42 }, "payload"],
        [{ priority: 1.5 }, "priority"],
        [{ maxAttempts: 0 }, "maxAttempts"],
        [{ retry: { base: 0 } }, "retry.base"],
        [{ schedule: "* * * * *" }, "schedule"],
        [{ runAt: 0 }, "runAt"],
        [{ store: {} }, "store"],
        [{ queue: "" }, "queue"],
        [{ schema: "string" }, "schema"]
      ]
      for (const [options, option] of cases) {
        // Labelled by the option: a Proxy among them throws at JSON.stringify too.
        assert.deepStrictEqual(yield* refused(options), ["PoolConfigError", option], option)
      }
      assert.deepStrictEqual(
        yield* Effect.map(Effect.flip(Periodic.declare(null as never)), (error) => error.option),
        "options"
      )
      const message = yield* Effect.map(Effect.flip(Periodic.declare(declaration(store, { cron: "every night" }))), (e) => e.message)
      assert.include(message, "cron")
      const layerError = yield* Effect.flip(Layer.build(Periodic.layer(declaration(store, { timeZone: "Mars/Olympus" }))))
      assert.deepStrictEqual([layerError._tag, layerError.option], ["PoolConfigError", "timeZone"])
      yield* pass(hour)
      assert.strictEqual((yield* Durable.admin({ store, queue: "reports" }).counts).ready, 0)
      // catchUp 0 is accepted: it catches nothing up, as "skip" does.
      yield* Periodic.declare(declaration(store, { catchUp: 0 }))
    })))
})
