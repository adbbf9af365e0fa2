/**
 * Vitest's global setup: runs once before any test file, so that a fresh
 * machine's `npm test` gets its servers (or stops with the command to run)
 * before any test needs them.
 */
import { provision } from "./provision.ts"

export default function setup(): void {
  provision()
}
