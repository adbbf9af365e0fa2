/**
 * The check of an offered job's own fields (`delay`, `runAt`, `priority`,
 * `settings`) at the store boundary, the same for every engine: an engine
 * only ever stores jobs whose fields are as `Offered` says.
 *
 * Internal: not an entry point of the package.
 */
import { unkeepableText } from "../internal/options.ts"
import { maxPriority, maxSettingsLength, minPriority, type Offered } from "./Store.ts"

/** What is wrong with a field of `job`, or undefined. */
const wrongField = (job: Offered): string | undefined => {
  const { delay, priority, runAt, settings } = job
  if (delay !== undefined && runAt !== undefined) return "has both a delay and a runAt: give one"
  if (delay !== undefined && !(typeof delay === "number" && Number.isFinite(delay) && delay >= 0)) {
    return `has a delay of ${String(delay)}: it must be a finite number of milliseconds >= 0`
  }
  if (runAt !== undefined && !(typeof runAt === "number" && Number.isFinite(runAt))) {
    return `has a runAt of ${String(runAt)}: it must be a finite number of milliseconds since the epoch`
  }
  if (
    priority !== undefined &&
    !(typeof priority === "number" && Number.isInteger(priority) && priority >= minPriority && priority <= maxPriority)
  ) {
    return `has a priority of ${String(priority)}: it must be a whole number from ${minPriority} to ${maxPriority}`
  }
  if (settings !== undefined && !(typeof settings === "string" && settings.length <= maxSettingsLength)) {
    return `has settings that are not a string of at most ${maxSettingsLength} characters`
  }
  const unkeepable = settings === undefined ? undefined : unkeepableText(settings, Infinity)
  return unkeepable === undefined ? undefined : `has settings that ${unkeepable}`
}

/** Why the batch `jobs` is refused, naming the first job whose fields are wrong; undefined if none is. */
export const refusal = (jobs: ReadonlyArray<Offered>): string | undefined => {
  for (const job of jobs) {
    const wrong = wrongField(job)
    if (wrong !== undefined) return `job ${JSON.stringify(job.id)} ${wrong}`
  }
  return undefined
}
