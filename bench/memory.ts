/**
 * Workload 4: each contender's peak RSS and retained heap after a small and a
 * large run of no-op jobs, each in a fresh child process (see
 * `memoryChild.ts`). A bounded design should need about the same memory for
 * a million jobs as for ten thousand; the ratio of the two peaks shows it.
 *
 * The child runs with the Node that runs this process (`process.execPath`),
 * so it works the same under `npm run bench` and under vitest.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import type { Contender } from "./contenders/index.ts"
import type { MemorySample } from "./memoryChild.ts"

const CHILD = fileURLToPath(new URL("./memoryChild.ts", import.meta.url))

const run = promisify(execFile)

export interface MemoryRow {
  readonly contender: string
  readonly note: string
  readonly small: MemorySample
  readonly large: MemorySample
  /** Peak RSS of the large run over that of the small one. */
  readonly rssRatio: number
}

const sample = async (
  contender: Contender,
  jobs: number,
  settings: { readonly workers: number; readonly capacity: number }
): Promise<MemorySample> => {
  const args = ["--expose-gc", CHILD, contender.name, String(jobs), String(settings.workers), String(settings.capacity)]
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1024 * 1024 })
  const sample = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as MemorySample
  if (!sample.verified || sample.jobs !== jobs) throw new Error(`${contender.name}: memory run not verified`)
  return sample
}

/** One child at a time: two at once would compete for CPU on a small machine, and prove nothing more. */
export const measureMemory = async (
  contenders: ReadonlyArray<Contender>,
  sizes: {
    readonly small: number
    readonly large: number
    readonly workers: number
    readonly capacity: number
    readonly log: (line: string) => void
  }
): Promise<ReadonlyArray<MemoryRow>> => {
  const rows: Array<MemoryRow> = []
  for (const contender of contenders) {
    const small = await sample(contender, sizes.small, sizes)
    const large = await sample(contender, sizes.large, sizes)
    const rssRatio = large.maxRssBytes / small.maxRssBytes
    sizes.log(`  ${contender.name}: RSS ratio ${rssRatio.toFixed(2)}`)
    rows.push({ contender: contender.name, note: contender.note, small, large, rssRatio })
  }
  return rows
}
