/**
 * The pool's timetable of delayed jobs: items by the time they are due,
 * earliest first, and a signal for the one fiber that waits for the earliest
 * (`delayed.ts`) when an item due earlier than all the others comes in.
 *
 * A binary heap ordered by due time, then by the order the items came in (so
 * that items due at the same moment keep it), with each node's place in the
 * heap kept up to date, so that one item can be taken out (a cancelled job)
 * in O(log n) without a scan. A `Map` finds an item's node. Nothing here is
 * on the path of a job without a delay: a pool that delays nothing keeps an
 * empty heap and an empty map.
 *
 * Times are numbers on any one scale the caller chooses (the pool uses its
 * clock's monotonic milliseconds).
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scheduler from "effect/Scheduler"
import { callbackOnScheduler } from "./runtime.ts"

/**
 * Now on `clock`'s monotonic scale, in milliseconds: times to wait for read
 * on the wall clock would move with it (NTP, a VM resumed), holding every
 * wait back, or ending all at once.
 */
export const monotonicMillis = (clock: Clock.Clock): number => Number(clock.monotonicTimeNanosUnsafe()) / 1e6

export interface Timetable<A> {
  /** How many items it holds. */
  readonly size: () => number
  /**
   * Adds `item` (not held already), due at `dueAt`. If it is due before
   * every other and before what `earliest` last said, `changed` completes
   * (or will, for the next wait).
   */
  readonly add: (item: A, dueAt: number) => void
  /** When the earliest item is due, `undefined` when there is none. */
  readonly earliest: () => number | undefined
  /** Takes the earliest item if it is due at `now` or before, else `undefined`. */
  readonly takeDue: (now: number) => A | undefined
  /** Takes `item` out, wherever it is: says whether it was held. */
  readonly remove: (item: A) => boolean
  /** Takes every item, earliest first. */
  readonly takeAll: () => Array<A>
  /**
   * Completes once an item has been added that is due before every other
   * and before what `earliest` last said (the waiter sleeps until then),
   * since the last call of `earliest`: at once if one was added meanwhile,
   * so that a waiter that read `earliest` and then waits misses none. The
   * waiter is resumed in a task of its scheduler, not inside `add`, which
   * runs on the stack of whoever submitted the job.
   */
  readonly changed: Effect.Effect<void>
}

/** One item, where it is due and where it sits in the heap. */
class Node<A> {
  readonly item: A
  readonly dueAt: number
  /** The order it came in: the tie-break between items due at the same moment. */
  readonly order: number
  index: number
  constructor(item: A, dueAt: number, order: number, index: number) {
    this.item = item
    this.dueAt = dueAt
    this.order = order
    this.index = index
  }
}

const before = <A>(a: Node<A>, b: Node<A>): boolean => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.order < b.order)

/** Makes an empty timetable. */
export const make = <A>(): Timetable<A> => {
  const heap: Array<Node<A>> = []
  const nodes = new Map<A, Node<A>>()
  let added = 0
  /** An item due before `told` came in since `earliest` was last read. */
  let earlier = false
  /**
   * What `earliest` last said: the waiter sleeps until then. Undefined: the
   * heap was empty, and the waiter waits for `changed` alone.
   */
  let told: number | undefined
  let waiter: ((effect: Effect.Effect<void>) => void) | undefined
  let dispatcher: Scheduler.SchedulerDispatcher | undefined

  const place = (node: Node<A>, index: number) => {
    heap[index] = node
    node.index = index
  }

  const siftUp = (node: Node<A>, from: number) => {
    let index = from
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (!before(node, heap[parent]!)) break
      place(heap[parent]!, index)
      index = parent
    }
    place(node, index)
  }

  const siftDown = (node: Node<A>, from: number) => {
    let index = from
    while (true) {
      const left = 2 * index + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left
      if (!before(heap[child]!, node)) break
      place(heap[child]!, index)
      index = child
    }
    place(node, index)
  }

  /** Takes the node at `index` out of the heap and of the map. */
  const takeAt = (index: number): Node<A> => {
    const node = heap[index]!
    const last = heap.pop()!
    nodes.delete(node.item)
    if (last !== node) {
      // The last node fills the hole, then moves up or down to its place.
      if (index > 0 && before(last, heap[(index - 1) >> 1]!)) siftUp(last, index)
      else siftDown(last, index)
    }
    return node
  }

  const wake = () => {
    const resume = waiter
    if (resume === undefined) return
    waiter = undefined
    earlier = false
    if (dispatcher === undefined) return resume(Effect.void)
    dispatcher.scheduleTask(() => resume(Effect.void), 0)
  }

  const add = (item: A, dueAt: number): void => {
    const node = new Node(item, dueAt, added++, heap.length)
    nodes.set(item, node)
    heap.push(node)
    siftUp(node, heap.length - 1)
    // An item due no sooner than the waiter's wake-up needs no wake-up of its
    // own: the waiter, woken then, reads the heap again. So a store's
    // operations one after another, each due a timeout after it starts,
    // wake the waiter once per timeout, not once each.
    if (node.index === 0 && (told === undefined || dueAt < told)) {
      earlier = true
      wake()
    }
  }

  const takeDue = (now: number): A | undefined => {
    const first = heap[0]
    return first === undefined || first.dueAt > now ? undefined : takeAt(0).item
  }

  const remove = (item: A): boolean => {
    const node = nodes.get(item)
    if (node === undefined) return false
    takeAt(node.index)
    return true
  }

  const takeAll = (): Array<A> => {
    const items: Array<A> = []
    while (heap.length > 0) items.push(takeAt(0).item)
    return items
  }

  const changed = callbackOnScheduler<void>((scheduler, resume) => {
    if (earlier) {
      earlier = false
      return resume(Effect.void)
    }
    dispatcher ??= scheduler.makeDispatcher()
    waiter = resume
    return Effect.sync(() => {
      if (waiter === resume) waiter = undefined
    })
  })

  return {
    size: () => heap.length,
    add,
    earliest: () => {
      earlier = false
      told = heap[0]?.dueAt
      return told
    },
    takeDue,
    remove,
    takeAll,
    changed
  }
}
