/**
 * Whether the Redis server keeps jobs through a restart and under memory
 * pressure. The store cannot make it so: it is the server's configuration.
 * A Redis with `appendonly no` and no `save` points keeps the queue in
 * memory only, and comes back from a restart empty, without an error
 * anywhere; one with a `maxmemory-policy` other than `noeviction` deletes
 * keys, jobs included, when it is full. So on connect the store reads these
 * settings (`CONFIG GET`) and warns once, naming each setting that could
 * drop jobs. A server that refuses `CONFIG` (a managed Redis often does) is
 * not an error: that is said once, at debug.
 *
 * Internal: not an entry point of the package.
 */
import * as Effect from "effect/Effect"
import { quietly } from "../../internal/quietly.ts"
import type { Connection } from "./connection.ts"
import { describe } from "./errors.ts"

/** The settings read, as the server gives them; absent when the server does not know one. */
export interface Settings {
  readonly appendonly?: string | undefined
  readonly save?: string | undefined
  readonly "maxmemory-policy"?: string | undefined
}

/** A setting that could drop jobs, and how. */
export interface Risk {
  readonly setting: keyof Settings
  readonly why: string
}

/** The settings of `settings` that could drop jobs; none for a server that keeps them. */
export const risks = (settings: Settings): ReadonlyArray<Risk> => {
  const found: Array<Risk> = []
  if (settings.appendonly === "no") {
    found.push(
      settings.save === ""
        ? { setting: "appendonly", why: "appendonly is no and save is empty: a restart loses every job" }
        : {
          setting: "appendonly",
          why: `appendonly is no: a restart loses the jobs stored since the last snapshot (save '${settings.save}')`
        }
    )
  }
  const policy = settings["maxmemory-policy"]
  if (policy !== undefined && policy !== "noeviction") {
    found.push({
      setting: "maxmemory-policy",
      why: `maxmemory-policy is ${policy}: a full server deletes keys, jobs included`
    })
  }
  return found
}

const names = ["appendonly", "save", "maxmemory-policy"] as const

/** Reads the settings; fails with the server's refusal. One `CONFIG GET` each: Redis before 7 takes one name. */
const read = (connection: Connection): Effect.Effect<Settings, unknown> =>
  Effect.tryPromise({
    try: () => Promise.all(names.map((name) => connection.client.configGet(name))),
    catch: (cause) => cause
  }).pipe(Effect.map((replies) => Object.fromEntries(names.map((name, i) => [name, replies[i]?.[name]]))))

/**
 * Reads the server's persistence and eviction settings and warns once if
 * they could drop jobs. Never fails: a refusal is logged at debug.
 */
export const check = (connection: Connection): Effect.Effect<void> =>
  Effect.matchEffect(read(connection), {
    onFailure: (cause) =>
      quietly(Effect.logDebug("Redis refused CONFIG GET; whether it keeps jobs through a restart is not checked").pipe(
        Effect.annotateLogs("reason", describe(cause))
      )),
    onSuccess: (settings) => {
      const found = risks(settings)
      if (found.length === 0) return Effect.void
      return quietly(
        Effect.logWarning(
          `Redis may lose jobs: ${found.map((risk) => risk.why).join("; ")}. ` +
            "For a durable queue, set appendonly yes and maxmemory-policy noeviction."
        ).pipe(Effect.annotateLogs({ settings: found.map((risk) => risk.setting), ...settings }))
      )
    }
  })
