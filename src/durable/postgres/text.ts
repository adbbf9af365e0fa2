/**
 * What text PostgreSQL can keep, and jobs encoded for it: the checks that
 * let `offer` refuse a batch by name before the server refuses it whole (or
 * changes an id silently), and the jobs' times, priorities and settings as
 * the offer statement takes them.
 *
 * Internal: not an entry point of the package.
 */
import * as PgTypes from "@effect/sql-pg/PgTypes"
import * as Result from "effect/Result"
import type { Offered } from "../Store.ts"
import * as Times from "../times.ts"
import { undeliverableReason, writtenBackBound } from "./limits.ts"

/**
 * Text PostgreSQL cannot store: the NUL character, which neither `text` nor
 * `jsonb` holds, and half of a UTF-16 surrogate pair, which `jsonb` refuses
 * and `text` would turn into U+FFFD (an id that no longer matches). The
 * server would refuse the whole batch, or change it silently; found before
 * sending, the error names the job and says why.
 */
const NUL = "\u0000"
const nulReason = "the NUL character (\\u0000)"
const surrogateReason = "half of a UTF-16 surrogate pair"
const cannotStore = "which PostgreSQL cannot store"

/** Why PostgreSQL cannot store `text`, if it cannot. */
export const unstorableText = (text: string): string | undefined =>
  text.includes(NUL) ? nulReason : /\p{Cs}/u.test(text) ? surrogateReason : undefined

/**
 * Why PostgreSQL cannot store JSON text, if it cannot. `JSON.stringify`
 * writes both as escapes: `\u0000`, and `\ud800` to `\udfff` (a whole pair
 * it writes as is). An escape counts after an even number of backslashes;
 * after an odd number it is a backslash and then plain text.
 */
const unstorableJson = (json: string): string | undefined => {
  if (!json.includes("\\u")) return undefined
  const escape = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/.exec(json)
  return escape === null ? undefined : escape[1] === "0000" ? nulReason : surrogateReason
}


/**
 * A batch of jobs as the offer statement takes them: ids and JSON texts,
 * then, job by job, the fields of `Offered` each as an array parameter,
 * NULL (one value for the whole batch) when no job has the field.
 */
export interface Encoded {
  readonly ids: PgTypes.Parameter
  readonly payloads: PgTypes.Parameter
  readonly delays: PgTypes.Parameter
  readonly runAts: PgTypes.Parameter
  readonly priorities: PgTypes.Parameter
  readonly settings: PgTypes.Parameter
}

/**
 * Strings as a `text[]` parameter. Typed here, the driver takes the array
 * as it is; a plain array it would go through element by element at every
 * execution, to infer a type that is always `text`.
 */
export const textArray = (values: ReadonlyArray<string>): PgTypes.Parameter =>
  // `text` is a type the driver knows: this cannot fail.
  Result.getOrThrow(PgTypes.array(values, PgTypes.OID.text))

/** A field (`read`) of each job, as an array parameter of `oid`: NULL if no job has it. */
const column = <A>(
  jobs: ReadonlyArray<Offered>,
  oid: number,
  read: (job: Offered) => A | undefined
): PgTypes.Parameter => {
  let values: Array<A | null> | null = null
  for (let i = 0; i < jobs.length; i++) {
    const value = read(jobs[i]!)
    if (value === undefined) continue
    values ??= new Array<A | null>(jobs.length).fill(null)
    values[i] = value
  }
  // The element types are fixed ones the driver knows: this cannot fail.
  return Result.getOrThrow(PgTypes.array(values, oid))
}

/**
 * `jobs` as two arrays for the server, or why the batch cannot be stored;
 * `texts` are their payloads' JSON texts, as the store boundary measured
 * them; `deliverable`, the largest payload a claim can send (`limits.ts`).
 */
export const encodeJobs = (
  jobs: ReadonlyArray<Offered>,
  texts: ReadonlyArray<string | undefined>,
  deliverable: number
): Encoded | string => {
  const ids = new Array<string>(jobs.length)
  const payloads = new Array<string>(jobs.length)
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    const badId = unstorableText(job.id)
    if (badId !== undefined) return `the id ${JSON.stringify(job.id)} contains ${badId}, ${cannotStore}`
    ids[i] = job.id
    const json = texts[i]
    const badPayload = json === undefined ? undefined : unstorableJson(json)
    if (badPayload !== undefined) return `the payload of ${job.id} contains ${badPayload}, ${cannotStore}`
    const writtenBack = json === undefined ? undefined : writtenBackBound(json)
    if (writtenBack !== undefined && writtenBack > deliverable) return undeliverableReason(job.id, writtenBack, deliverable)
    // `undefined` (or a function) has no JSON form: store it as null rather than fail the batch.
    payloads[i] = json ?? "null"
  }
  // The `min`s are guards: the store boundary gives no delay nor run-at past its bound
  // (`../times.ts`). A run-at before the epoch is stored as the epoch: in the past either way.
  // A run-at is whole milliseconds: the server's division of a tiny one by 1,000 would
  // underflow (`Number.MIN_VALUE`: "value out of range"), where the other stores read now.
  return {
    ids: textArray(ids),
    payloads: textArray(payloads),
    delays: column(jobs, PgTypes.OID.float8, (job) => job.delay === undefined ? undefined : Math.min(job.delay, Times.maxDelay)),
    runAts: column(jobs, PgTypes.OID.float8, (job) =>
      job.runAt === undefined ? undefined : Math.max(0, Math.trunc(Math.min(job.runAt, Times.latestRunAt)))),
    priorities: column(jobs, PgTypes.OID.int4, (job) => job.priority),
    settings: column(jobs, PgTypes.OID.text, (job) => job.settings)
  }
}

