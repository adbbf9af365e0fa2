/**
 * Which code was measured: the git commit, and whether src/ had uncommitted
 * changes. Numbers for the pool only mean something next to the revision.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("..", import.meta.url))

const git = (args: ReadonlyArray<string>): string =>
  execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()

/** "abc1234", "abc1234 + uncommitted changes in src/", or "unknown" outside a git checkout. */
export const describeRevision = (): string => {
  try {
    const commit = git(["rev-parse", "--short", "HEAD"])
    return git(["status", "--porcelain", "--", "src"]) === "" ? commit : `${commit} + uncommitted changes in src/`
  } catch {
    return "unknown"
  }
}
