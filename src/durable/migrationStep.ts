/**
 * One step of a store's numbered migrations, as both engines number them
 * (`postgres/migrations.ts`, `redis/migrations.ts`): what it does (`up`, in
 * the engine's language) and which older code may still run after it.
 *
 * Internal: not an entry point of the package.
 */
export interface MigrationStep {
  readonly version: number
  readonly name: string
  readonly up: string
  /**
   * The oldest version whose code still runs right on a store with this
   * step applied, so that a release can be rolled back past it: a step that
   * only adds what older code does not read (an index, a storage setting, a
   * column with a default) names the version before it. A rollback is a
   * round trip: what older code writes meanwhile must also be right for
   * this version's code when it comes back (no invariant that only this
   * step's code keeps). Absent: this version, and code that does not know it
   * refuses the store.
   */
  readonly compatibleFrom?: number
}

/** The newest version of `list` (0 for none). */
export const latestOf = (list: ReadonlyArray<MigrationStep>): number => list.at(-1)?.version ?? 0
