/**
 * The versions of the Redis store's key layout, and how a key space is
 * brought to the newest one this code knows.
 *
 * Each migration is numbered, in order, and run once per key space: its Lua
 * chunk runs inside one script, `migrateScript`, that reads the layout's
 * version (`ewp:version`, absent in a new or pre-versioning key space: 0),
 * runs every migration above it, records each in `ewp:migrations` (version
 * -> name) and sets the version. A script is atomic on the server, so
 * processes connecting at once take turns and the second finds the work
 * done: no lock is needed. Reconnecting at the newest version only reads
 * the version key. A key space at a version above the newest this code
 * knows was migrated by a newer release: the store refuses it rather than
 * write a layout it does not know, unless each step above says code of this
 * version still runs right (`compatibleFrom`, recorded in `ewp:compatible`):
 * then it takes the key space as it is, so that a release whose migrations
 * allow it can be rolled back.
 *
 * A migration's chunk must be quick: the server runs nothing else meanwhile.
 * Versions 2 and 3 rewrite every queue's ended jobs, then ready jobs, in
 * the script (see `retention` and `priorities`): simple and atomic, at the
 * cost of holding the server once for about a second per million ids. A
 * heavier one would be run from the client under a lock key, its version
 * set once it is done.
 *
 * Internal: not an entry point of the package.
 */
import * as Effect from "effect/Effect"
import { latestOf, type MigrationStep } from "../migrationStep.ts"
import { StoreError } from "../Store.ts"
import type { Connection } from "./connection.ts"
import { storeError } from "./errors.ts"
import * as Scripts from "./scripts.ts"

/** One step of the layout. `up` is Lua, run inside the migration script. */
export type Migration = MigrationStep

/** Lua: `each(pattern, kind, rewrite)` calls `rewrite` on every key matching `pattern` whose type is `kind`. */
const eachKey = `
  local function each(pattern, kind, rewrite)
    local cursor = '0'
    repeat
      local page = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = page[1]
      for _, key in ipairs(page[2]) do
        if redis.call('TYPE', key).ok == kind then rewrite(key) end
      end
    until cursor == '0'
  end`

/**
 * Version 2, for retention: `done` (a SET of ids in version 1) and `buried`
 * (a LIST) become sorted sets scored by when the job ended, so that `purge`
 * reads them from their oldest end and a dead letter is taken out by id in
 * O(log n); `completed`, a counter, takes over from counting `done` (which
 * purging shrinks). Ended jobs carried over are scored as ending now (their
 * retention starts with the upgrade), dead letters in their order.
 *
 * Every queue is rewritten in this one script: it holds the server for
 * about a second per million completed ids, once.
 */
const retention = `
  local clock = redis.call('TIME')
  local at = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
${eachKey}
  local function toSorted(key, ids, score)
    local staging = key .. ':v2'
    redis.call('DEL', staging)
    for i = 1, #ids, 2000 do
      local scored = {}
      for j = i, math.min(i + 1999, #ids) do
        scored[#scored + 1] = score(j, #ids)
        scored[#scored + 1] = ids[j]
      end
      redis.call('ZADD', staging, unpack(scored))
    end
    if #ids > 0 then redis.call('RENAME', staging, key) else redis.call('DEL', key) end
  end
  each('ewp:{*}:done', 'set', function(key)
    local ids = redis.call('SMEMBERS', key)
    redis.call('SET', string.sub(key, 1, -5) .. 'completed', #ids)
    toSorted(key, ids, function() return at end)
  end)
  each('ewp:{*}:buried', 'list', function(key)
    toSorted(key, redis.call('LRANGE', key, 0, -1), function(i, n) return at - n + i end)
  end)`

/**
 * Version 3, for priorities: `ready` (a LIST, oldest first) becomes a
 * sorted set scored by priority, then order (`Scripts.placesPerPriority`),
 * its jobs at priority 0 in their order, and the queue's order counter
 * `seq` is set after them so that jobs made ready later go behind. The
 * other keys keep their meaning: retries waiting in `delayed` are moved to
 * `ready` by the claim that finds them due, as every waiting job now is;
 * leases, dead letters and ended jobs are untouched; a job without a
 * `priority` field is at priority 0, one without `settings` has none.
 *
 * Every queue is rewritten in this one script: it holds the server for
 * about a second per million ready jobs, once. A process of an older
 * release still running on the key space meets a sorted set where it
 * expects a list (a `WRONGTYPE` error on its claims and offers, not
 * retryable): stop the old workers before starting new ones.
 */
const priorities = `
${eachKey}
  each('ewp:{*}:ready', 'list', function(key)
    local ids = redis.call('LRANGE', key, 0, -1)
    local staging = key .. ':v3'
    redis.call('DEL', staging)
    for i = 1, #ids, 2000 do
      local scored = {}
      for j = i, math.min(i + 1999, #ids) do
        scored[#scored + 1] = ${Scripts.priorityOffset} * ${Scripts.placesPerPriority} + j
        scored[#scored + 1] = ids[j]
      end
      redis.call('ZADD', staging, unpack(scored))
    end
    -- Redis keeps no empty list: this one has ids.
    redis.call('RENAME', staging, key)
    redis.call('SET', string.sub(key, 1, -6) .. 'seq', #ids)
  end)`

/** The layout's versions, oldest first. */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    // The keys `RedisStore.ts` lists, under `ewp:{queue}:`. The scripts create
    // them as they go, so a key space written before versions existed is at
    // this version already: this step only records it.
    name: "initial",
    up: ""
  },
  { version: 2, name: "retention", up: retention },
  { version: 3, name: "priorities", up: priorities }
]

/**
 * The key holding the layout's version, the hash of the migrations applied
 * (version -> name), and the hash of what those that allow older code allow
 * (version -> `compatibleFrom`).
 */
export const versionKey = "ewp:version"
export const migrationsKey = "ewp:migrations"
export const compatibleKey = "ewp:compatible"

/**
 * KEYS: version, migrations, compatible. Returns the version found before,
 * and whether this code runs right at it: 1 at or below its newest version,
 * or above it when the version found and every step recorded above this
 * code's newest say code of its newest still does.
 */
const migrateScript = (list: ReadonlyArray<Migration>): Scripts.Script => {
  const latest = latestOf(list)
  const steps = list.map(({ compatibleFrom, name, up, version }) => `
if found < ${version} then
${up}
  redis.call('HSET', KEYS[2], '${version}', ${JSON.stringify(name)})${
    compatibleFrom === undefined ? "" : `
  redis.call('HSET', KEYS[3], '${version}', '${compatibleFrom}')`
  }
end`)
  return Scripts.compiled(`
local found = tonumber(redis.call('GET', KEYS[1]) or '0')
if found == ${latest} then return {found, 1} end
if found > ${latest} then
  local function allows(version)
    local from = tonumber(redis.call('HGET', KEYS[3], version))
    return from ~= nil and from <= ${latest}
  end
  if not allows(tostring(found)) then return {found, 0} end
  for _, version in ipairs(redis.call('HKEYS', KEYS[2])) do
    local number = tonumber(version)
    if number ~= nil and number > ${latest} and not allows(version) then return {found, 0} end
  end
  return {found, 1}
end
${steps.join("")}
redis.call('SET', KEYS[1], '${latest}')
return {found, 1}
`)
}

/** The refusal of a key space that a newer release migrated. */
export const newerLayout = (found: number, latest: number) =>
  new StoreError({
    operation: "connect",
    reason: `the Redis key space is at layout version ${found}, and this code knows versions up to ${latest}: ` +
      "a newer release of effect-worker-pool migrated it, and a step above this code's versions does not " +
      "allow older code; run that release or a later one",
    retryable: false
  })

/**
 * Brings the key space to the newest version of `list` (the layout's
 * migrations, unless a test gives others), or fails if it is newer.
 */
export const migrate = (connection: Connection, list: ReadonlyArray<Migration> = migrations) => {
  const script = migrateScript(list)
  const latest = latestOf(list)
  return Effect.tryPromise({
    try: () => Scripts.evaluate(connection.client, script, [versionKey, migrationsKey, compatibleKey], []),
    catch: (cause) => storeError("connect", connection, cause)
  }).pipe(
    Effect.flatMap((answer) => {
      const [found, runs] = answer as [number, number]
      return runs === 1 ? Effect.void : Effect.fail(newerLayout(found, latest))
    })
  )
}
