import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Process-level tests spawn `src/main.ts`; give them room on a 2-core machine.
    testTimeout: 30_000,
    // Handlers that die on purpose make the pool log warnings; show logs only for failing tests.
    silent: "passed-only"
  }
})
