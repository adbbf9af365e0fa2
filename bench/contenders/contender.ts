/**
 * The shape every contender has: a name, a note on how it is bounded (shown in
 * the tables), and `run`, which processes a whole workload and resolves only
 * once every job has run.
 */
import type { Workload } from "../workload.ts"

export interface Contender {
  readonly name: string
  /** How its producer is bounded, or why it is not: shown next to its rows. */
  readonly note: string
  /** Shown for information only: never used for ratios' targets (see `effectForEachVoid.ts`). */
  readonly informational?: boolean
  readonly run: (workload: Workload) => Promise<void>
}
