/**
 * The process's worker threads as the OS lists them (Node names each
 * "WorkerThread"), for tests that check threads are gone, not only
 * forgotten by the pool. Only where `/proc/self/task` exists (Linux).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"

/** Whether the OS lists the process's threads here. */
export const canCountOsThreads = existsSync("/proc/self/task")

/** How many worker threads the process has now. */
export const osThreads = (): number =>
  readdirSync("/proc/self/task").filter((task) => {
    try {
      return readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim() === "WorkerThread"
    } catch {
      return false // ended meanwhile
    }
  }).length
