/**
 * The pool's ledger (`src/internal/ledger.ts`), driven directly, without
 * workers or fibers: every accepted job ends exactly once, and at any moment
 *
 *   submitted = succeeded + failed + died + cancelled + interrupted + abandoned + queued + active
 *
 * Each way a job ends is checked on its own (its count, its one `Hooks.ended`
 * call, its reply, its outcome), then random sequences of acceptances,
 * starts and endings are checked against a model of the counts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Queue, Scope } from "effect"
import fc from "fast-check"
import * as Ledger from "../src/internal/ledger.ts"
import * as State from "../src/internal/state.ts"
import * as Job from "../src/Job.ts"
import { unchecked } from "../src/internal/job.ts"
import * as Pool from "../src/Pool.ts"

type Entry = State.Entry<number, number, string>
type Ledgered = State.PoolState<number, number, string, never>

/** A pool's state with no workers, whose `Hooks.ended` calls are recorded by job id. */
const makeLedger = (capacity: number) => {
  const endings = new Map<string, Array<Pool.Ending["_tag"]>>()
  const hooks: Pool.Hooks<number> = {
    ended: (job, ending) => endings.set(job.id, [...(endings.get(job.id) ?? []), ending._tag])
  }
  const state = State.make<number, number, string, never>({
    workers: 1,
    capacity,
    handler: () => Effect.succeed(0),
    jobTimeout: undefined,
    workerId: Pool.WorkerId,
    errors: { Closed: Pool.PoolClosedError, Full: Pool.PoolFullError, Config: Pool.PoolConfigError },
    name: "default",
    tracing: false,
    spanName: "effect-worker-pool.job default"
  }, hooks, Effect.runSync(Effect.clockWith(Effect.succeed)))
  const scope = Effect.runSync(Scope.make())
  Effect.runSync(Ledger.subscribe(state, { capacity: 100_000, strategy: "dropping" }).pipe(Scope.provide(scope)))
  const [subscriber] = state.subscribers
  const outcomes: Array<Job.Outcome<number, number, string>> = []
  /** The outcomes the subscriber was sent so far. */
  const published = () => {
    const { queue } = subscriber!
    for (let taken = Queue.takeUnsafe(queue); taken?._tag === "Success"; taken = Queue.takeUnsafe(queue)) {
      outcomes.push(taken.value)
    }
    return outcomes
  }
  return { state, endings, published, subscriber: subscriber! }
}

const accept = (state: Ledgered, payload: number, run: boolean) => {
  const entry: Entry = State.makeEntry(unchecked(payload), run ? Deferred.makeUnsafe() : undefined)
  return Ledger.enqueue(state, entry) ? entry : undefined
}

/** Takes the oldest queued job and starts it, as a worker does (unless its caller gave up on it). */
const take = (state: Ledgered): Entry | undefined => {
  const entry = state.backlog.take()!
  if (entry.cancelled) {
    Ledger.cancelled(state, entry)
    return undefined
  }
  Ledger.started(state, entry)
  return entry
}

/** What the job's `run` caller was told, if anything. */
const replyOf = (entry: Entry): Exit.Exit<number, unknown> | undefined =>
  entry.reply !== undefined && Deferred.isDoneUnsafe(entry.reply)
    ? Effect.runSyncExit(Deferred.await(entry.reply))
    : undefined

const assertBalanced = (state: Ledgered) =>
  assert.strictEqual(Ledger.unaccounted(Ledger.stats(state)), 0, JSON.stringify(Ledger.stats(state)))

const timeout = (entry: Entry) => new Job.JobTimeoutError({ jobId: entry.job.id, timeout: Duration.millis(1) })

describe("Ledger", () => {
  it("unaccounted is zero exactly when every accepted job is queued, running or counted once", () => {
    const { state } = makeLedger(4)
    assertBalanced(state)
    const none = Ledger.stats(state)
    assert.strictEqual(Ledger.unaccounted({ ...none, submitted: 1 }), 1)
    const places = ["succeeded", "failed", "died", "cancelled", "interrupted", "abandoned", "queued", "active"] as const
    for (const place of places) {
      assert.strictEqual(Ledger.unaccounted({ ...none, submitted: 1, [place]: 1 }), 0, place)
      assert.strictEqual(Ledger.unaccounted({ ...none, submitted: 1, [place]: 2 }), -1, place)
    }
    // Neither counts a job: the workers, and the outcomes dropped for a slow subscriber.
    assert.strictEqual(Ledger.unaccounted({ ...none, submitted: 1, workers: 1, droppedOutcomes: 1 }), 1)
  })

  it("a delayed job is counted once a place is held for it; the place counts against the capacity", () => {
    const { endings, state } = makeLedger(2)
    const delayed: Entry = State.makeEntry(unchecked(1), undefined)
    assert.isTrue(Ledger.hold(state, delayed))
    // Queued as the timetable holds it (`delayed.ts` adds it there as it holds the place).
    state.delayed.add(delayed, 0)
    assert.deepInclude(Ledger.stats(state), { submitted: 1, queued: 1, delayed: 1 })
    assertBalanced(state)
    assert.isDefined(accept(state, 2, false))
    assert.isFalse(Ledger.hold(state, State.makeEntry(unchecked(3), undefined)), "held a place in a full backlog")
    assert.isUndefined(accept(state, 4, false))
    assert.deepInclude(Ledger.stats(state), { submitted: 2, queued: 2, delayed: 1 })
    assertBalanced(state)
    assert.strictEqual(endings.size, 0)
  })

  it("counts a job as submitted only when it enters the backlog", () => {
    const { endings, state } = makeLedger(1)
    assert.isDefined(accept(state, 1, false))
    assert.isUndefined(accept(state, 2, false))
    assert.deepInclude(Ledger.stats(state), { submitted: 1, queued: 1, active: 0 })
    assertBalanced(state)
    assert.strictEqual(endings.size, 0)
  })

  describe("each way a running job ends: one count, one hook call, its reply, its outcome", () => {
    interface Case {
      readonly name: string
      readonly end: (state: Ledgered, entry: Entry) => void
      readonly count: keyof Pool.Stats
      /** What `Hooks.ended` is told: a job that died failed, with its cause. */
      readonly ending: Pool.Ending["_tag"]
      readonly reply: (entry: Entry) => Exit.Exit<number, unknown> | undefined
      readonly outcome: Job.Outcome<number, number, string>["_tag"]
    }
    const endWith = (cause: (entry: Entry) => Cause.Cause<string | Job.JobTimeoutError>) =>
    (state: Ledgered, entry: Entry) => {
      Ledger.failed(state, entry, cause(entry))
    }
    const once = (end: Case["end"]) => (state: Ledgered, entry: Entry) => {
      state.accepting = false
      end(state, entry)
    }
    const interrupted = (entry: Entry) => Exit.fail(new Job.JobInterruptedError({ jobId: entry.job.id }))
    const kase = (
      name: string,
      end: Case["end"],
      count: Case["count"],
      ending: Case["ending"],
      reply: Case["reply"],
      outcome: Case["outcome"]
    ): Case => ({ name, end, count, ending, reply, outcome })
    const cancel = (state: Ledgered, entry: Entry) => {
      entry.cancelled = true
      Ledger.failed(state, entry, Cause.interrupt())
    }
    const succeed = (state: Ledgered, entry: Entry) => Ledger.succeeded(state, entry, 7)
    const interrupt = endWith(() => Cause.interrupt())
    const cases: ReadonlyArray<Case> = [
      kase("succeeded", succeed, "succeeded", "Succeeded", () => Exit.succeed(7), "Succeeded"),
      kase("failed", endWith(() => Cause.fail("boom")), "failed", "Failed", () => Exit.fail("boom"), "Failed"),
      kase("timed out", endWith((entry) => Cause.fail(timeout(entry))), "failed", "Failed", (entry) =>
        Exit.fail(timeout(entry)), "Failed"),
      kase("died", endWith(() => Cause.die("bug")), "died", "Failed", () => Exit.die("bug"), "Died"),
      kase("interrupted itself before the shutdown", interrupt, "interrupted", "Failed", interrupted, "Interrupted"),
      kase("interrupted itself once the shutdown began", once(interrupt), "interrupted", "CutOff", interrupted,
        "Interrupted"),
      kase("interrupted by the drain's deadline", once(Ledger.interruptedWhileRunning), "interrupted", "CutOff",
        interrupted, "Interrupted"),
      kase("cancelled while running", cancel, "cancelled", "Cancelled", () => undefined, "Interrupted")
    ]
    for (const kase of cases) {
      it(kase.name, () => {
        const { endings, published, state } = makeLedger(4)
        const entry = accept(state, 1, true)!
        take(state)
        assert.deepInclude(Ledger.stats(state), { submitted: 1, queued: 0, active: 1 })
        kase.end(state, entry)
        const stats = Ledger.stats(state)
        assert.strictEqual(stats[kase.count], 1)
        assert.strictEqual(stats.active, 0)
        assertBalanced(state)
        assert.deepStrictEqual(endings.get(entry.job.id), [kase.ending])
        assert.deepStrictEqual(replyOf(entry), kase.reply(entry))
        assert.deepStrictEqual(published().map((outcome) => outcome._tag), [kase.outcome])
      })
    }
  })

  it("a queued job whose caller gave up ends as cancelled when a worker takes it, never started", () => {
    const { endings, published, state } = makeLedger(4)
    const entry = accept(state, 1, true)!
    entry.cancelled = true
    assert.isUndefined(take(state))
    assert.deepInclude(Ledger.stats(state), { submitted: 1, cancelled: 1, queued: 0, active: 0 })
    assertBalanced(state)
    assert.deepStrictEqual(endings.get(entry.job.id), ["Cancelled"])
    assert.isUndefined(replyOf(entry))
    assert.deepStrictEqual(published(), [{ _tag: "Interrupted", job: entry.job, cancelled: true }])
  })

  it("the shutdown abandons queued jobs: handed back, told closed, no outcome; cancelled ones end as cancelled", () => {
    const { endings, published, state } = makeLedger(4)
    const first = accept(state, 1, true)!
    const second = accept(state, 2, false)!
    const gaveUp = accept(state, 3, true)!
    gaveUp.cancelled = true
    state.accepting = false
    assert.deepStrictEqual(Ledger.abandonBacklog(state), [first.job, second.job])
    assert.deepInclude(Ledger.stats(state), { submitted: 3, abandoned: 2, cancelled: 1, queued: 0 })
    assertBalanced(state)
    assert.deepStrictEqual(endings.get(first.job.id), ["Abandoned"])
    assert.deepStrictEqual(endings.get(second.job.id), ["Abandoned"])
    assert.deepStrictEqual(endings.get(gaveUp.job.id), ["Cancelled"])
    assert.deepStrictEqual(replyOf(first), Exit.fail(new Pool.PoolClosedError()))
    assert.isUndefined(replyOf(gaveUp))
    assert.deepStrictEqual(published(), [{ _tag: "Interrupted", job: gaveUp.job, cancelled: true }])
  })

  it("close ends the outcome streams and returns the totals", () => {
    const { state, subscriber } = makeLedger(4)
    const entry = accept(state, 1, false)!
    take(state)
    state.accepting = false
    Ledger.interruptedWhileRunning(state, entry)
    const totals = Ledger.close(state)
    assert.deepStrictEqual(totals, {
      succeeded: 0,
      failed: 0,
      died: 0,
      cancelled: 0,
      interrupted: [entry.job],
      interruptedBeforeShutdown: 0
    })
    assert.isTrue(state.closed)
    // The outcome sent before, then the end.
    assert.strictEqual(Queue.takeUnsafe(subscriber.queue)?._tag, "Success")
    assert.deepStrictEqual(Queue.takeUnsafe(subscriber.queue), Exit.fail(Cause.Done()))
  })

  describe("over random sequences of acceptances, starts and endings", () => {
    type How = "succeed" | "fail" | "timeout" | "die" | "interrupt" | "cancel" | "deadline"
    type Step =
      | { readonly _tag: "accept"; readonly run: boolean }
      | { readonly _tag: "take" }
      | { readonly _tag: "giveUpQueued"; readonly pick: number }
      | { readonly _tag: "end"; readonly pick: number; readonly how: How }
      | { readonly _tag: "shutdown" }
      | { readonly _tag: "abandon" }

    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ _tag: fc.constant("accept" as const), run: fc.boolean() }) },
      { weight: 4, arbitrary: fc.constant<Step>({ _tag: "take" }) },
      { weight: 1, arbitrary: fc.record({ _tag: fc.constant("giveUpQueued" as const), pick: fc.nat() }) },
      {
        weight: 5,
        arbitrary: fc.record({
          _tag: fc.constant("end" as const),
          pick: fc.nat(),
          how: fc.constantFrom<How>("succeed", "fail", "timeout", "die", "interrupt", "cancel", "deadline")
        })
      },
      { weight: 1, arbitrary: fc.constant<Step>({ _tag: "shutdown" }) },
      { weight: 1, arbitrary: fc.constant<Step>({ _tag: "abandon" }) }
    )

    /** The counts a correct ledger has, computed from the steps alone. */
    interface Model {
      submitted: number
      succeeded: number
      failed: number
      died: number
      cancelled: number
      interrupted: number
      abandoned: number
      published: number
      readonly queued: Array<Entry>
      readonly running: Array<Entry>
      /** How each ended job's `Hooks.ended` call must read. */
      readonly expected: Map<string, Pool.Ending["_tag"]>
    }

    const endRunning = (state: Ledgered, model: Model, entry: Entry, how: How) => {
      model.published++
      switch (how) {
        case "succeed":
          Ledger.succeeded(state, entry, 1)
          model.succeeded++
          return model.expected.set(entry.job.id, "Succeeded")
        case "fail":
        case "timeout":
          Ledger.failed(state, entry, Cause.fail(how === "fail" ? "boom" : timeout(entry)))
          model.failed++
          return model.expected.set(entry.job.id, "Failed")
        case "die":
          Ledger.failed(state, entry, Cause.die("bug"))
          model.died++
          return model.expected.set(entry.job.id, "Failed")
        case "cancel":
          entry.cancelled = true
          Ledger.failed(state, entry, Cause.interrupt())
          model.cancelled++
          return model.expected.set(entry.job.id, "Cancelled")
        case "interrupt":
        case "deadline":
          if (how === "interrupt") Ledger.failed(state, entry, Cause.interrupt())
          else Ledger.interruptedWhileRunning(state, entry)
          model.interrupted++
          return model.expected.set(entry.job.id, state.accepting ? "Failed" : "CutOff")
      }
    }

    const apply = (state: Ledgered, model: Model, step: Step, payload: number) => {
      switch (step._tag) {
        case "accept": {
          const entry = accept(state, payload, step.run)
          if (entry === undefined) return
          model.submitted++
          return model.queued.push(entry)
        }
        case "take": {
          const entry = model.queued.shift()
          if (entry === undefined) return
          if (entry.cancelled) {
            model.cancelled++
            model.published++
            model.expected.set(entry.job.id, "Cancelled")
          } else model.running.push(entry)
          return assert.strictEqual(take(state), entry.cancelled ? undefined : entry)
        }
        case "giveUpQueued": {
          const entry = model.queued[step.pick % Math.max(1, model.queued.length)]
          if (entry !== undefined) entry.cancelled = true
          return
        }
        case "end": {
          const [entry] = model.running.splice(step.pick % Math.max(1, model.running.length), 1)
          return entry === undefined ? undefined : endRunning(state, model, entry, step.how)
        }
        case "shutdown":
          state.accepting = false
          return
        case "abandon": {
          const given = model.queued.splice(0).flatMap((entry) => {
            if (entry.cancelled) {
              model.cancelled++
              model.published++
              model.expected.set(entry.job.id, "Cancelled")
              return []
            }
            model.abandoned++
            model.expected.set(entry.job.id, "Abandoned")
            return [entry.job]
          })
          return assert.deepStrictEqual(Ledger.abandonBacklog(state), given)
        }
      }
    }

    it("the counts follow the model, the rule holds after every step, and every job ends exactly once", () => {
      const steps = fc.array(step, { maxLength: 150, size: "max" })
      fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), steps, (capacity, steps) => {
        const { endings, published, state } = makeLedger(capacity)
        const model: Model = {
          submitted: 0,
          succeeded: 0,
          failed: 0,
          died: 0,
          cancelled: 0,
          interrupted: 0,
          abandoned: 0,
          published: 0,
          queued: [],
          running: [],
          expected: new Map()
        }
        const accepted: Array<Entry> = []
        steps.forEach((step, i) => {
          const before = model.submitted
          apply(state, model, step, i)
          if (model.submitted > before) accepted.push(model.queued[model.queued.length - 1]!)
          const { droppedOutcomes: _, workers: __, delayed: ___, ...counts } = Ledger.stats(state)
          assert.deepStrictEqual(counts, {
            submitted: model.submitted,
            succeeded: model.succeeded,
            failed: model.failed,
            died: model.died,
            cancelled: model.cancelled,
            interrupted: model.interrupted,
            abandoned: model.abandoned,
            queued: model.queued.length,
            active: model.running.length
          })
          assertBalanced(state)
          assert.strictEqual(published().length, model.published)
        })
        // Whatever is left ends too, as the drain ends it: every accepted job ends exactly once.
        state.accepting = false
        apply(state, model, { _tag: "abandon" }, -1)
        while (model.running.length > 0) apply(state, model, { _tag: "end", pick: 0, how: "deadline" }, -1)
        assertBalanced(state)
        assert.deepInclude(Ledger.stats(state), { queued: 0, active: 0 })
        for (const entry of accepted) {
          const ending = model.expected.get(entry.job.id)
          assert.deepStrictEqual(endings.get(entry.job.id), [ending], entry.job.id)
          // A `run` caller is told how its job ended, unless it gave up on it.
          if (entry.reply === undefined) continue
          const reply = replyOf(entry)
          assert.strictEqual(reply === undefined, ending === "Cancelled", entry.job.id)
          assert.strictEqual(reply !== undefined && Exit.isSuccess(reply), ending === "Succeeded", entry.job.id)
        }
        assert.strictEqual(endings.size, accepted.length)
      }), { numRuns: 300 })
    })
  })
})
