/**
 * The Redis store's Lua scripts: one per operation, each atomic on the
 * server and a single round trip. Every script of a queue is passed the
 * queue's keys in one order (a script declares every key it touches, so the
 * layout fits a cluster) and shares a prelude: the keys by name, the server
 * clock, and batched writes.
 *
 * The layout they read and write is the one `RedisStore.ts` describes; it is
 * version 2 of `migrations.ts`. A script that changed it would come with a
 * migration.
 *
 * Internal: not an entry point of the package.
 */
import { createHash } from "node:crypto"

/**
 * Shared by every script: the queue's keys, always passed in this order (a
 * script declares every key it touches), the server clock, and batched
 * writes (Lua's `unpack` is limited to a few thousand values).
 */
const prelude = `
local payload, ready, delayed, leased, token, attempts, done, buried, errors, cancelled, completed =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function batch(command, key, values)
  for i = 1, #values, 4000 do
    redis.call(command, key, unpack(values, i, math.min(i + 3999, #values)))
  end
end
local function fetch(command, key, values)
  local out = {}
  for i = 1, #values, 4000 do
    for _, value in ipairs(redis.call(command, key, unpack(values, i, math.min(i + 3999, #values)))) do
      out[#out + 1] = value
    end
  end
  return out
end
`

export const keySuffixes = [
  "payload",
  "ready",
  "delayed",
  "leased",
  "token",
  "attempts",
  "done",
  "buried",
  "errors",
  "cancelled",
  "completed"
] as const

export const keysOf = (queue: string): ReadonlyArray<string> => keySuffixes.map((suffix) => `ewp:{${queue}}:${suffix}`)

export interface Script {
  readonly source: string
  readonly sha: string
}

/** A script as the server names it: by the SHA-1 of its source. */
export const compiled = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") })

/** A script of a queue: `body` after the prelude. */
export const script = (body: string): Script => compiled(prelude + body)

/** The client calls of `evaluate`: any node-redis client. */
export interface Sender {
  readonly sendCommand: (command: Array<string>) => Promise<unknown>
}

/**
 * Runs `script` on `keys` with `args`: by its SHA-1 (`EVALSHA`), and whole
 * (`EVAL`, which caches it again) if the server forgot it, restarted or
 * flushed.
 */
export const evaluate = async (
  client: Sender,
  script: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): Promise<unknown> => {
  const command = ["EVALSHA", script.sha, String(keys.length), ...keys, ...args]
  try {
    return await client.sendCommand(command)
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error
    command[0] = "EVAL"
    command[1] = script.source
    return await client.sendCommand(command)
  }
}

/**
 * The channel a queue's listeners subscribe to: the scripts that make jobs
 * ready at once publish to it (`wake`), for a fetcher waiting on an empty
 * queue. It shares the queue's hash tag.
 */
export const channelOf = (queue: string): string => `ewp:{${queue}}:wakeup`

/** Lua: publishes on the queue's channel, `channelOf`, derived from its first key (`ewp:{q}:payload`). */
const wake = `redis.call('PUBLISH', string.sub(payload, 1, -8) .. 'wakeup', '')`

/**
 * ARGV: id, payload, id, payload... Ids already known (in any state) are
 * skipped; new jobs wake the queue's listeners. Returns id, state... of
 * those skipped as buried or cancelled (looked up only for an id already
 * known, and only while there are such).
 */
export const offerScript = script(`
local hasDone = redis.call('ZCARD', done) > 0
local fresh, refused, parked = {}, {}, nil
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if not (hasDone and redis.call('ZSCORE', done, id)) then
    if redis.call('HSETNX', payload, id, ARGV[i + 1]) == 1 then
      fresh[#fresh + 1] = id
    else
      if parked == nil then parked = redis.call('ZCARD', buried) + redis.call('ZCARD', cancelled) > 0 end
      if parked and redis.call('ZSCORE', buried, id) then
        refused[#refused + 1] = id
        refused[#refused + 1] = 'buried'
      elseif parked and redis.call('ZSCORE', cancelled, id) then
        refused[#refused + 1] = id
        refused[#refused + 1] = 'cancelled'
      end
    end
  end
end
batch('RPUSH', ready, fresh)
if #fresh > 0 then ${wake} end
return refused
`)

/**
 * ARGV: max, lease ms, token. First makes ready the retries whose delay is
 * over; then leases up to max jobs: leases that ran out first (their worker
 * is presumed dead), oldest first, then ready ones. A lease that ran out is
 * taken over only by the claim that leases it (its token overwritten here):
 * until then it is still its holder's, who may yet end it. Returns id,
 * payload, attempt...
 */
export const claimScript = script(`
local t = now()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', t)
if #due > 0 then
  redis.call('ZREMRANGEBYSCORE', delayed, '-inf', t)
  batch('RPUSH', ready, due)
end
local max = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', leased, '-inf', t, 'LIMIT', 0, max)
if #ids < max then
  local fresh = redis.call('LPOP', ready, max - #ids)
  if fresh then
    for _, id in ipairs(fresh) do ids[#ids + 1] = id end
  end
end
if #ids == 0 then return {} end
local until_, tok = t + tonumber(ARGV[2]), ARGV[3]
local payloads, counts = fetch('HMGET', payload, ids), fetch('HMGET', attempts, ids)
local out, scores, tokens, counted = {}, {}, {}, {}
for i, id in ipairs(ids) do
  local attempt = (tonumber(counts[i]) or 0) + 1
  out[#out + 1] = id
  out[#out + 1] = payloads[i]
  out[#out + 1] = attempt
  scores[#scores + 1] = until_
  scores[#scores + 1] = id
  tokens[#tokens + 1] = id
  tokens[#tokens + 1] = tok
  counted[#counted + 1] = id
  counted[#counted + 1] = attempt
end
batch('ZADD', leased, scores)
batch('HSET', token, tokens)
batch('HSET', attempts, counted)
return out
`)

/** ARGV: id, token, id, token... */
export const completeScript = script(`
local ids, seen, ok = {}, {}, {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local tokens = fetch('HMGET', token, ids)
for i, id in ipairs(ids) do
  -- The same lease twice in one call is completed once.
  if tokens[i] == ARGV[2 * i] and not seen[id] then
    seen[id] = true
    ok[#ok + 1] = id
  end
end
if #ok > 0 then
  local t, scored = now(), {}
  for _, id in ipairs(ok) do
    scored[#scored + 1] = t
    scored[#scored + 1] = id
  end
  batch('HDEL', token, ok)
  batch('ZREM', leased, ok)
  batch('HDEL', payload, ok)
  batch('ZADD', done, scored)
  redis.call('INCRBY', completed, #ok)
end
return #ok
`)

/** ARGV: id, token, delay ms. */
export const retryScript = script(`
local id = ARGV[1]
if redis.call('HGET', token, id) ~= ARGV[2] then return 0 end
redis.call('HDEL', token, id)
redis.call('ZREM', leased, id)
local delay = tonumber(ARGV[3])
if delay > 0 then
  redis.call('ZADD', delayed, now() + delay, id)
else
  redis.call('RPUSH', ready, id)
  ${wake}
end
return 1
`)

/** ARGV: id, token, error. */
export const buryScript = script(`
local id = ARGV[1]
if redis.call('HGET', token, id) ~= ARGV[2] then return 0 end
redis.call('HDEL', token, id)
redis.call('ZREM', leased, id)
redis.call('HSET', errors, id, ARGV[3])
-- Scored by when, and after the newest dead letter: burials in one millisecond keep their order.
local at = now()
local newest = redis.call('ZRANGE', buried, -1, -1, 'WITHSCORES')[2]
if newest and tonumber(newest) >= at then at = tonumber(newest) + 0.001 end
redis.call('ZADD', buried, string.format('%.3f', at), id)
return 1
`)

/** ARGV: id, token, id, token... The attempt is given back. */
export const releaseScript = script(`
local n = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', token, id) == ARGV[i + 1] then
    redis.call('HDEL', token, id)
    redis.call('ZREM', leased, id)
    redis.call('HINCRBY', attempts, id, -1)
    redis.call('RPUSH', ready, id)
    n = n + 1
  end
end
if n > 0 then ${wake} end
return n
`)

/**
 * ARGV: lease ms, id, token, id, token... Returns the ids among them that
 * were cancelled (looked up only for a lease no longer held, and only while
 * the queue has cancelled jobs).
 */
export const extendScript = script(`
local until_ = now() + tonumber(ARGV[1])
local scores, stopped, anyCancelled = {}, {}, nil
for i = 2, #ARGV, 2 do
  if redis.call('HGET', token, ARGV[i]) == ARGV[i + 1] then
    scores[#scores + 1] = until_
    scores[#scores + 1] = ARGV[i]
  else
    if anyCancelled == nil then anyCancelled = redis.call('ZCARD', cancelled) > 0 end
    if anyCancelled and redis.call('ZSCORE', cancelled, ARGV[i]) then stopped[#stopped + 1] = ARGV[i] end
  end
end
batch('ZADD', leased, scores)
return stopped
`)

/** Returns ready, leased, completed, buried. */
export const countsScript = script(`
return {
  redis.call('LLEN', ready) + redis.call('ZCARD', delayed),
  redis.call('ZCARD', leased),
  tonumber(redis.call('GET', completed) or '0'),
  redis.call('ZCARD', buried)
}
`)

/** ARGV: limit. Returns id, payload, attempts, error... oldest first. */
export const buriedScript = script(`
local out = {}
for _, id in ipairs(redis.call('ZRANGE', buried, 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', payload, id)
  out[#out + 1] = redis.call('HGET', attempts, id)
  out[#out + 1] = redis.call('HGET', errors, id)
end
return out
`)


/**
 * ARGV: id. Returns state, attempts, run-at ms (or ''), error (or ''); an
 * empty array for an unknown id. A job ready now has no score anywhere (the
 * ready list keeps only the order): its run-at is now.
 */
export const lookupScript = script(`
local id = ARGV[1]
local n = redis.call('HGET', attempts, id) or '0'
if redis.call('ZSCORE', done, id) then return {'completed', n, '', ''} end
if redis.call('HEXISTS', payload, id) == 0 then return {} end
if redis.call('ZSCORE', buried, id) then return {'buried', n, '', redis.call('HGET', errors, id) or ''} end
if redis.call('ZSCORE', cancelled, id) then return {'cancelled', n, '', ''} end
local until_ = redis.call('ZSCORE', leased, id)
if until_ then return {'leased', n, until_, ''} end
local due = redis.call('ZSCORE', delayed, id)
if due then return {'ready', n, due, ''} end
return {'ready', n, tostring(now()), ''}
`)

/** The Lua that takes each dead letter or cancelled job among ARGV out of its set (each once): the ids taken. */
const takeParked = `
local taken, seen = {}, {}
for _, id in ipairs(ARGV) do
  if not seen[id] then
    seen[id] = true
    if redis.call('ZREM', buried, id) == 1 or redis.call('ZREM', cancelled, id) == 1 then
      taken[#taken + 1] = id
    end
  end
end
`

/** ARGV: ids. Dead letters and cancelled jobs among them are ready again, attempts from 0. Returns how many. */
export const redriveScript = script(`${takeParked}
if #taken > 0 then
  batch('HDEL', errors, taken)
  batch('HDEL', attempts, taken)
  batch('RPUSH', ready, taken)
  ${wake}
end
return #taken
`)

/** ARGV: ids. Dead letters and cancelled jobs among them are deleted. Returns how many. */
export const removeScript = script(`${takeParked}
if #taken > 0 then
  batch('HDEL', errors, taken)
  batch('HDEL', attempts, taken)
  batch('HDEL', payload, taken)
end
return #taken
`)

/**
 * ARGV: id. Cancels a ready, delayed or leased job (its payload and
 * attempts kept, for a redrive). Returns the state found: 'ready', 'leased',
 * or an ended state (nothing done); nil for an unknown id. Taking a ready
 * job out of the ready list scans it (LREM): an operator's call, not the
 * per-job path.
 */
export const cancelScript = script(`
local id = ARGV[1]
if redis.call('ZSCORE', done, id) then return 'completed' end
if redis.call('HEXISTS', payload, id) == 0 then return false end
if redis.call('ZSCORE', buried, id) then return 'buried' end
if redis.call('ZSCORE', cancelled, id) then return 'cancelled' end
local found = 'ready'
if redis.call('ZREM', leased, id) == 1 then
  found = 'leased'
  redis.call('HDEL', token, id)
elseif redis.call('ZREM', delayed, id) == 0 then
  redis.call('LREM', ready, 1, id)
end
redis.call('ZADD', cancelled, now(), id)
return found
`)

/**
 * ARGV: completed retention ms, buried retention ms, limit. Deletes up to
 * limit ended jobs past their retention, oldest first: completed, then
 * cancelled, then buried. Returns how many. Each set is read from its oldest
 * end (ZRANGEBYSCORE ... LIMIT): the work is the batch's, not the queue's.
 */
export const purgeScript = script(`
local t, limit, n = now(), tonumber(ARGV[3]), 0
local function purge(key, age)
  if n >= limit then return end
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', t - age, 'LIMIT', 0, limit - n)
  if #ids == 0 then return end
  batch('ZREM', key, ids)
  batch('HDEL', attempts, ids)
  batch('HDEL', payload, ids)
  batch('HDEL', errors, ids)
  n = n + #ids
end
purge(done, tonumber(ARGV[1]))
purge(cancelled, tonumber(ARGV[1]))
purge(buried, tonumber(ARGV[2]))
return n
`)
