import { configDefaults, defineConfig } from "vitest/config"

/**
 * Two projects, so that the rules of the pool can be checked in seconds
 * (`npm run test:unit`) while `npm test` still runs everything.
 *
 * The rule: a test file is a unit test when it needs no server (no
 * `support/servers.ts`), starts no process (no `spawn`, `fork`, `execFile`,
 * no `support/runMain.ts`, no bench run, which forks its memory children) and
 * runs in about a second or less: in-memory pools and stores, under the
 * TestClock, and pure functions. Every other file, and any new file not
 * listed here, is an integration test: it gets the servers it may need.
 */
const unit = [
  "test/benchDurableReport.test.ts",
  "test/benchEffectSteps.test.ts",
  "test/DurableTime.test.ts",
  "test/DurableSnooze.test.ts",
  "test/Periodic.test.ts",
  "test/Backlog.test.ts",
  "test/Config.test.ts",
  "test/Dashboard.test.ts",
  "test/Deadlines.test.ts",
  "test/Delayed.test.ts",
  "test/Durable.test.ts",
  "test/Fetcher.test.ts",
  "test/Failures.test.ts",
  "test/DurableLogs.test.ts",
  "test/DurableAdmin.test.ts",
  "test/DurableConfig.test.ts",
  "test/DurableLayer.test.ts",
  "test/Hostile.test.ts",
  "test/Invariant.test.ts",
  "test/JobIds.test.ts",
  "test/Leases.test.ts",
  "test/LeaseParams.test.ts",
  "test/Ledger.test.ts",
  "test/Once.test.ts",
  "test/MemoryStore.test.ts",
  "test/Metrics.test.ts",
  "test/Tracing.test.ts",
  "test/Options.test.ts",
  "test/Outage.test.ts",
  "test/PayloadSize.test.ts",
  "test/Pool.test.ts",
  "test/Pause.test.ts",
  "test/Races.test.ts",
  "test/Runtime.test.ts",
  "test/Settler.test.ts",
  "test/Shutdown.test.ts",
  "test/StoreBoundary.test.ts",
  "test/WakeupSteps.test.ts",
  "test/StoreOptions.test.ts",
  "test/provision.test.ts"
]

export default defineConfig({
  test: {
    // Process-level tests spawn `src/main.ts`; give them room on a 2-core machine.
    testTimeout: 30_000,
    // Handlers that die on purpose make the pool log warnings; show logs only for failing tests.
    silent: "passed-only",
    projects: [
      { extends: true, test: { name: "unit", include: unit } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...unit],
          // Installs redis-server, PostgreSQL, PgBouncer and Chromium when they are missing (or stops
          // with the command to run). Here, not at the root: the root's global
          // set-up runs whichever project is chosen, and unit tests need no server.
          globalSetup: ["test/support/globalSetup.ts"]
        }
      }
    ]
  }
})
