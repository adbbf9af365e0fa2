/**
 * The pool's queue of accepted jobs: a bounded first-in, first-out ring
 * buffer, and the idle workers that wait for it to fill.
 *
 * An Effect `Queue.bounded` would be the obvious choice here. The pool uses
 * only a sliver of it: offers that suspend are of no use (an offer suspended in a `Queue` is
 * still accepted after `Queue.end`, so the pool keeps its own list of waiting
 * submits), and its takers need only "wait until there is a job, or the end".
 * What it does cost is on the per-job path: every take allocates an `Exit`,
 * and its `MutableList` grows its array with every offer and copies it when
 * it compacts, about 125 bytes per job in all. A ring buffer allocates
 * nothing per job; it grows by doubling up to `capacity`, so a large capacity
 * that is never used costs nothing.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scheduler from "effect/Scheduler"
import { callbackOnScheduler } from "./runtime.ts"

export interface Backlog<A> {
  /** How many items it holds at most. */
  readonly capacity: number
  /** How many items it holds now. */
  readonly size: () => number
  /**
   * Holds a place for an item that comes later (a delayed job), if there is
   * room and the backlog has not ended: says whether it did. The place counts
   * against `capacity` as an item does, until `release`.
   */
  readonly hold: () => boolean
  /** Gives back a place `hold` held: room for one more `offer`. */
  readonly release: () => void
  /** Whether `end` was called. */
  readonly ended: () => boolean
  /** Appends an item if there is room and it has not ended; says whether it did. */
  readonly offer: (item: A) => boolean
  /** Takes the oldest item; `undefined` when there is none, or while paused. */
  readonly take: () => A | undefined
  /** Takes every item, oldest first, paused or not. */
  readonly takeAll: () => Array<A>
  /** No more offers: waiting workers wake up; they take what is left, then see the end. */
  readonly end: () => void
  /** Completes once there is an item to take (and it is not paused) or the backlog has ended. */
  readonly wait: Effect.Effect<void>
  /**
   * Pauses (`true`) or resumes (`false`) the takes: while paused, `take`
   * gives nothing and `wait` waits, offers go on, and the end lifts it for
   * good (what is left is then taken, as the shutdown's policy says; once
   * ended, it cannot be paused). Says whether the state changed.
   */
  readonly pause: (paused: boolean) => boolean
  /** Whether it is paused. */
  readonly paused: () => boolean
}

/** Makes an empty backlog of at most `capacity` items (an integer >= 1; items are never `undefined`). */
export const make = <A extends {}>(capacity: number): Backlog<A> => {
  // A power-of-two ring, so that positions wrap with a mask.
  let ring: Array<A | undefined> = new Array(Math.min(16, ceilPowerOfTwo(capacity)))
  let mask = ring.length - 1
  let head = 0
  let size = 0
  /** How many items may be in the ring: `capacity`, less the places held for items that come later. */
  let limit = capacity
  let ended = false
  let paused = false
  /** The workers waiting for an item, as the callbacks that resume them. */
  const idle = new Set<(effect: Effect.Effect<void>) => void>()
  let dispatcher: Scheduler.SchedulerDispatcher | undefined
  let wakeScheduled = false

  const grow = () => {
    const next: Array<A | undefined> = new Array(ring.length * 2)
    for (let i = 0; i < size; i++) next[i] = ring[(head + i) & mask]
    ring = next
    mask = next.length - 1
    head = 0
  }

  // Idle workers are woken in a task of their scheduler, not inside `offer`:
  // a worker resumed inline would run on the producer's stack, take the one
  // job just offered and wait again, a suspension per job. In a task, each
  // wakes to a backlog that the producer has filled meanwhile.
  //
  // One at a time, while an item is left (all of them once it ended): a
  // woken worker runs here, and takes items until its job suspends, so the
  // next wakes only if one is left for it. Woken all at once, as many as
  // there were items, the workers after one that took them all (jobs that
  // end at once) woke to nothing and waited again. A worker waits again only
  // when none is left, so the loop ends before it would meet that worker.
  const wakeIdle = () => {
    wakeScheduled = false
    for (const resume of idle) {
      if (!ended && (size === 0 || paused)) return
      idle.delete(resume)
      resume(Effect.void)
    }
  }

  const scheduleWake = () => {
    if (wakeScheduled || idle.size === 0 || dispatcher === undefined) return
    wakeScheduled = true
    dispatcher.scheduleTask(wakeIdle, 0)
  }

  const offer = (item: A): boolean => {
    if (ended || size >= limit) return false
    if (size === ring.length) grow()
    ring[(head + size) & mask] = item
    size++
    scheduleWake()
    return true
  }

  const take = (): A | undefined => paused ? undefined : takeOldest()

  const takeOldest = (): A | undefined => {
    if (size === 0) return undefined
    const item = ring[head]
    ring[head] = undefined
    head = (head + 1) & mask
    size--
    return item
  }

  const takeAll = (): Array<A> => {
    const items: Array<A> = []
    for (let item = takeOldest(); item !== undefined; item = takeOldest()) items.push(item)
    return items
  }

  const wait = callbackOnScheduler<void>((scheduler, resume) => {
    if ((size > 0 && !paused) || ended) return resume(Effect.void)
    dispatcher ??= scheduler.makeDispatcher()
    idle.add(resume)
    // Interrupted while waiting: it no longer counts as idle.
    return Effect.sync(() => {
      idle.delete(resume)
    })
  })

  return {
    capacity,
    size: () => size,
    hold: () => {
      if (ended || size >= limit) return false
      limit--
      return true
    },
    release: () => {
      limit++
    },
    ended: () => ended,
    offer,
    take,
    takeAll,
    end: () => {
      ended = true
      paused = false
      scheduleWake()
    },
    wait,
    pause: (pause) => {
      if (ended || pause === paused) return false
      paused = pause
      if (!paused) scheduleWake()
      return true
    },
    paused: () => paused
  }
}

const ceilPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n))
