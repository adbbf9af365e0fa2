/**
 * A bound on jobs in flight, for libraries that have no `onSizeLessThan` of
 * their own (fastq: its `length()` walks the whole list, so polling it per
 * push would be quadratic). The producer waits while `capacity + workers`
 * jobs are accepted but not finished, the same bound the pool and the
 * bounded queue have (a full queue plus a job per worker).
 */
export interface Gate {
  /** True while the producer must wait before adding another job. */
  readonly full: () => boolean
  /** Counts a job in. */
  readonly enter: () => void
  /** Counts a job out: pass it as the job's completion callback. */
  readonly leave: () => void
  /** Resolves once there is room again. One waiter at a time: the producer. */
  readonly room: () => Promise<void>
  /** Resolves once no job is in flight. */
  readonly idle: () => Promise<void>
}

export const makeGate = (limit: number): Gate => {
  let inFlight = 0
  let onRoom: (() => void) | undefined
  let onIdle: (() => void) | undefined
  return {
    full: () => inFlight >= limit,
    enter: () => {
      inFlight++
    },
    leave: () => {
      inFlight--
      if (onRoom !== undefined) {
        const wake = onRoom
        onRoom = undefined
        wake()
      }
      if (inFlight === 0 && onIdle !== undefined) onIdle()
    },
    room: () =>
      new Promise((resolve) => {
        onRoom = resolve
      }),
    idle: () =>
      inFlight === 0 ? Promise.resolve() : new Promise((resolve) => {
        onIdle = resolve
      })
  }
}
