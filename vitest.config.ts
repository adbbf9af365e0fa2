import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Installs redis-server and PostgreSQL when they are missing (or stops with the command to run).
    globalSetup: ["test/support/globalSetup.ts"],
    // Process-level tests spawn `src/main.ts`; give them room on a 2-core machine.
    testTimeout: 30_000,
    // Handlers that die on purpose make the pool log warnings; show logs only for failing tests.
    silent: "passed-only"
  }
})
