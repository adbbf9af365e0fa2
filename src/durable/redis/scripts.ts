/**
 * The Redis store's Lua scripts: one per operation, each atomic on the
 * server and a single round trip. Every script of a queue is passed the
 * queue's keys in one order (a script declares every key it touches, so the
 * layout fits a cluster) and shares a prelude: the keys by name, the server
 * clock, and batched writes.
 *
 * The layout they read and write is the one `RedisStore.ts` describes; it is
 * version 3 of `migrations.ts`. A script that changed what a key holds would
 * come with a migration; a key that older code need not read (`lastBurial`,
 * `paused`) comes without one.
 *
 * Internal: not an entry point of the package.
 */
import { createHash } from "node:crypto"

/**
 * Where a ready job sorts in the queue's `ready` set: its score is
 * `(priority + priorityOffset) * placesPerPriority + place`, so that the
 * lowest score is the job of the lowest priority made ready first. `place`
 * comes from the queue's order counter (`seq`, one `INCRBY` per script call),
 * taken modulo `placesPerPriority`. Priorities from -1000 to 1000 take 11
 * bits once offset, places 42: 53 bits, every score exact in a double.
 *
 * 2^42 places last 14 years at 10,000 jobs made ready per second; and the
 * counter starts again from 0 whenever a claim takes the last ready job
 * (no ready job is left to keep an order with), so only a ready set that
 * never once empties in that time can spend it. Past that, places wrap
 * around: the jobs made ready then go before those of their priority
 * already waiting, once. Priority order still holds, and no job is lost.
 */
export const placesPerPriority = 2 ** 42

/** Added to a priority (-1000..1000) for its band of scores: 24..2024, under 2^11. */
export const priorityOffset = 1024

/**
 * Shared by every script: the queue's keys, always passed in this order (a
 * script declares every key it touches), the server clock, and batched
 * writes (Lua's `unpack` is limited to a few thousand values).
 */
const prelude = `
local payload, ready, delayed, leased, token, attempts, done, buried, errors, cancelled, completed, priority, settings, seq,
  lastBurial, paused =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13],
  KEYS[14], KEYS[15], KEYS[16]
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
  -- One call's reply as it is (every claim, every acknowledgement of up to 4,000): no copy.
  if #values <= 4000 then return redis.call(command, key, unpack(values)) end
  local out, n = {}, 0
  for i = 1, #values, 4000 do
    for _, value in ipairs(redis.call(command, key, unpack(values, i, math.min(i + 3999, #values)))) do
      n = n + 1
      out[n] = value
    end
  end
  return out
end
-- Every field of ids' own that outlives their state: for jobs gone for good
-- (purged, removed, or completed and not kept), so that an id offered again is a new job.
-- The optional hashes are skipped while they do not exist, as in fields(): most queues
-- have no errors, priorities or settings, and a completion pays one EXISTS for each.
local function forget(ids)
  batch('HDEL', attempts, ids)
  batch('HDEL', payload, ids)
  for _, key in ipairs({ errors, priority, settings }) do
    if redis.call('EXISTS', key) == 1 then batch('HDEL', key, ids) end
  end
end
local place = ${placesPerPriority}
-- HMGET of key's fields ids, skipped (all nil) while key does not exist: most
-- queues have no priorities or settings, and their per-job path pays one EXISTS.
local function fields(key, ids)
  if redis.call('EXISTS', key) == 0 then return {} end
  return fetch('HMGET', key, ids)
end
-- Makes ids ready, in their order, behind every ready job of their priority:
-- one INCRBY for all. prios[i] is the priority of ids[i] (false or nil: 0).
-- The order counter starts again once a claim takes the last ready job.
local function enqueue(ids, prios)
  if #ids == 0 then return end
  local first = redis.call('INCRBY', seq, #ids) - #ids
  local scored = {}
  for i, id in ipairs(ids) do
    -- A number, not text: redis.call passes it exactly (tostring would keep 14 digits of 16).
    scored[#scored + 1] = (${priorityOffset} + (tonumber(prios[i]) or 0)) * place + (first + i) % place
    scored[#scored + 1] = id
  end
  batch('ZADD', ready, scored)
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
  "completed",
  "priority",
  "settings",
  "seq",
  "lastBurial",
  "paused"
] as const

export const keysOf = (queue: string): ReadonlyArray<string> => keySuffixes.map((suffix) => `ewp:{${queue}}:${suffix}`)

/**
 * `keysOf`, remembered for the last queue asked: a store mostly serves one
 * queue, and its sixteen names were made again for every operation. One
 * entry, so memory stays bounded however many queues a store serves.
 */
export const lastKeys = (): (queue: string) => ReadonlyArray<string> => {
  let last: string | undefined
  let keys: ReadonlyArray<string> = []
  return (queue) => {
    if (queue !== last) {
      keys = keysOf(queue)
      last = queue
    }
    return keys
  }
}

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
  const command = ["EVALSHA", script.sha, String(keys.length)]
  for (const key of keys) command.push(key)
  for (const arg of args) command.push(arg)
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
 * The channel a queue's listeners subscribe to: the scripts that store jobs
 * or make them ready publish to it (`wake`), for a fetcher waiting on an
 * empty queue, or asleep until a later job's time. It shares the queue's
 * hash tag.
 */
export const channelOf = (queue: string): string => `ewp:{${queue}}:wakeup`

/**
 * What a notification says, as its message: `readyOnly` when the script
 * made jobs ready now and left `delayed` as it was; anything else (the
 * empty message, which every release before that one sent) when it may
 * have added to `delayed` too. This release's listener claims on either;
 * the previous release kept the last short claim's reading of `due` until
 * a message other than `readyOnly` came, so the scripts still say which,
 * for processes of both releases sharing a queue.
 */
export const wakeMessage = { readyOnly: "r", delayed: "" } as const

/**
 * Lua: publishes `message` (Lua text) on the queue's channel, `channelOf`,
 * derived from its first key (`ewp:{q}:payload`).
 */
const wakeWith = (message: string) => `redis.call('PUBLISH', string.sub(payload, 1, -8) .. 'wakeup', ${message})`

/** Lua: wakes the queue's listeners for jobs made ready now, `delayed` untouched. */
const wake = wakeWith(`'${wakeMessage.readyOnly}'`)

/** `offerScript`'s first argument: how each job is given after it. */
export const offerShape = {
  /** id, payload: ready now, priority 0, no settings (the common offer, its arguments as short as before). */
  plain: "plain",
  /**
   * id, payload, priority, time, settings: `time` is '' (now), `d<ms>` (a
   * delay from the server's now) or `a<ms>` (an instant); `settings` is ''
   * (none) or `=` before the text (which may be empty).
   */
  full: "full"
} as const

/**
 * ARGV: shape (`offerShape`), then each job as the shape says. Ids already
 * known (in any state) are skipped. A new job is ready now (behind those of
 * its priority) unless its time is later than the server's now: then it
 * waits in `delayed` until a claim finds it due. Its priority (when not 0)
 * and settings (when it has some) go to their hashes. Any new job wakes the
 * queue's listeners, a waiting one too (a fetcher asleep until a later time
 * reads `due` again). Returns id, state... of those skipped as buried or
 * cancelled (looked up only for an id already known, and only while there
 * are such).
 */
export const offerScript = script(`
local full = ARGV[1] == '${offerShape.full}'
local stride = full and 5 or 2
local hasDone = redis.call('ZCARD', done) > 0
local fresh, prios, waiting, priorities, settled, refused, parked, t = {}, {}, {}, {}, {}, {}, nil, nil
for i = 2, #ARGV, stride do
  local id = ARGV[i]
  if not (hasDone and redis.call('ZSCORE', done, id)) then
    if redis.call('HSETNX', payload, id, ARGV[i + 1]) == 1 then
      local p, at = 0, nil
      if full then
        p = tonumber(ARGV[i + 2])
        if p ~= 0 then
          priorities[#priorities + 1] = id
          priorities[#priorities + 1] = ARGV[i + 2]
        end
        local time, own = ARGV[i + 3], ARGV[i + 4]
        if own ~= '' then
          settled[#settled + 1] = id
          settled[#settled + 1] = string.sub(own, 2)
        end
        if time ~= '' then
          t = t or now()
          local ms = tonumber(string.sub(time, 2))
          at = string.sub(time, 1, 1) == 'd' and t + ms or ms
        end
      end
      if at and at > t then
        waiting[#waiting + 1] = at
        waiting[#waiting + 1] = id
      else
        fresh[#fresh + 1] = id
        prios[#prios + 1] = p
      end
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
batch('HSET', priority, priorities)
batch('HSET', settings, settled)
batch('ZADD', delayed, waiting)
enqueue(fresh, prios)
if #fresh + #waiting > 0 then
  ${wakeWith(`#waiting > 0 and '${wakeMessage.delayed}' or '${wakeMessage.readyOnly}'`)}
end
return refused
`)

/**
 * The most due jobs one claim moves from `delayed` to `ready` (or `max`, if
 * larger): a claim's work stays bounded by what it may return however many
 * jobs came due at once (a million delayed jobs for the same instant are
 * moved over a thousand claims, the earliest first).
 */
export const promotedPerClaim = 1000

/**
 * ARGV: max, lease ms, token. First makes ready the jobs whose time came
 * (delayed, or retries whose delay is over), earliest first and at most
 * `promotedPerClaim` (or max), each behind the ready jobs of its priority;
 * then leases up to max jobs: leases that ran out first (their worker is
 * presumed dead), oldest first, then ready ones, lowest score first. A
 * lease that ran out is taken over only by the claim that leases it (its
 * token overwritten here): until then it is still its holder's, who may yet
 * end it. A claim that takes the last ready job resets the order counter.
 * Returns id, payload, attempt, settings (nil for none)... and, when it took
 * fewer than max (the queue had no more ready), one more element: what
 * `dueScript` would answer at that instant (the milliseconds until the
 * earliest job of `delayed` is due, nil if none waits), so that an idle
 * worker need not ask (`Store.ClaimedJobs`). A paused queue (`pauseScript`)
 * leases nothing and reads no due: a job due now would have its worker
 * claim back to back.
 */
export const claimScript = script(`
if redis.call('EXISTS', paused) == 1 then return { false } end
local t, max = now(), tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', t, 'LIMIT', 0, math.max(${promotedPerClaim}, max))
if #due > 0 then
  -- The earliest of delayed, so its first ranks: one range delete.
  redis.call('ZREMRANGEBYRANK', delayed, 0, #due - 1)
  enqueue(due, fields(priority, due))
end
local ids = redis.call('ZRANGEBYSCORE', leased, '-inf', t, 'LIMIT', 0, max)
if #ids < max then
  local want = max - #ids
  -- The lowest scores, then one range delete: cheaper than ZPOPMIN, which replies with the scores too.
  local fresh = redis.call('ZRANGE', ready, 0, want - 1)
  if #fresh > 0 then
    redis.call('ZREMRANGEBYRANK', ready, 0, #fresh - 1)
    for _, id in ipairs(fresh) do ids[#ids + 1] = id end
    -- Left empty by this claim: no ready job is left to keep an order with, the counter starts again.
    if #fresh < want or redis.call('EXISTS', ready) == 0 then redis.call('DEL', seq) end
  end
end
-- Short: what due would say now (the due jobs were moved above, up to the limit; any left are due: 0).
local function untilDue()
  local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if #first == 0 then return false end
  return math.max(0, tonumber(first[2]) - t)
end
if #ids == 0 then return { untilDue() } end
-- The lease's end as text once (not a number per job, each converted by the server), and
-- every list filled by index: this loop is most of a large claim's time outside the commands.
local until_, tok = string.format('%d', t + tonumber(ARGV[2])), ARGV[3]
local payloads, counts, own = fetch('HMGET', payload, ids), fetch('HMGET', attempts, ids), fields(settings, ids)
local out, scores, tokens, counted = {}, {}, {}, {}
for i, id in ipairs(ids) do
  local attempt = (tonumber(counts[i]) or 0) + 1
  local j, k = 4 * i, 2 * i
  out[j - 3], out[j - 2], out[j - 1], out[j] = id, payloads[i], attempt, own[i] or false
  scores[k - 1], scores[k] = until_, id
  tokens[k - 1], tokens[k] = id, tok
  counted[k - 1], counted[k] = id, attempt
end
batch('ZADD', leased, scores)
batch('HSET', token, tokens)
batch('HSET', attempts, counted)
if #ids < max then out[4 * #ids + 1] = untilDue() end
return out
`)

/** The Lua that finds, among the leases of ARGV (id, token, id, token...), those still held, each once: `ok`, `n` of them. */
const heldLeases = `
local ids, seen, ok, n = {}, {}, {}, 0
for i = 1, #ARGV, 2 do ids[(i + 1) / 2] = ARGV[i] end
local tokens = fetch('HMGET', token, ids)
for i, id in ipairs(ids) do
  -- The same lease twice in one call is completed once.
  if tokens[i] == ARGV[2 * i] and not seen[id] then
    seen[id] = true
    n = n + 1
    ok[n] = id
  end
end
`

/** ARGV: id, token, id, token... A completed job's settings go; its priority stays for `lookup` until purged. */
export const completeScript = script(`${heldLeases}
if n > 0 then
  -- When, as text once: not a number per job for the server to convert.
  local t, scored = string.format('%d', now()), {}
  for i, id in ipairs(ok) do
    scored[2 * i - 1], scored[2 * i] = t, id
  end
  batch('HDEL', token, ok)
  batch('ZREM', leased, ok)
  batch('HDEL', payload, ok)
  if redis.call('EXISTS', settings) == 1 then batch('HDEL', settings, ok) end
  batch('ZADD', done, scored)
  redis.call('INCRBY', completed, n)
end
return n
`)

/**
 * ARGV: id, token, id, token... Completes the leases still held without
 * keeping the jobs (`Completion.keep` false): every trace of them goes, as
 * a purge would take it, and only the count stays. Not in `done`: `lookup`
 * and `cancel` find no such id, and an offer stores it as a new job.
 */
export const completeDeletingScript = script(`${heldLeases}
if n > 0 then
  batch('HDEL', token, ok)
  batch('ZREM', leased, ok)
  forget(ok)
  redis.call('INCRBY', completed, n)
end
return n
`)

/**
 * ARGV: id, token, delay ms, "1" if the attempt is given back (a snooze:
 * the claim counted it, so it is taken off again). With a delay the job waits in `delayed`;
 * without, it is ready at once behind those of its priority. Either way the
 * queue's listeners are woken (a fetcher asleep until a later time reads
 * `due` again).
 */
export const retryScript = script(`
local id = ARGV[1]
if redis.call('HGET', token, id) ~= ARGV[2] then return 0 end
redis.call('HDEL', token, id)
redis.call('ZREM', leased, id)
if ARGV[4] == '1' then redis.call('HINCRBY', attempts, id, -1) end
local delay = tonumber(ARGV[3])
if delay > 0 then
  redis.call('ZADD', delayed, now() + delay, id)
  ${wakeWith(`'${wakeMessage.delayed}'`)}
else
  enqueue({ id }, { redis.call('HGET', priority, id) })
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
-- Scored by when, and above every score given before: burials in one millisecond keep their
-- order, and no score is given twice (the newest dead letter removed or redriven, the clock
-- stepped back), so that a score is a place a page can follow (buriedScript). The newest in
-- the set counts too, for a queue whose dead letters came before lastBurial.
local at = now()
local newest = redis.call('ZRANGE', buried, -1, -1, 'WITHSCORES')[2]
local floor = math.max(tonumber(redis.call('GET', lastBurial) or '0'), tonumber(newest or '0'))
if floor >= at then at = floor + 0.001 end
local score = string.format('%.3f', at)
redis.call('ZADD', buried, score, id)
redis.call('SET', lastBurial, score)
return 1
`)

/** ARGV: id, token, id, token... The attempt is given back; the job is ready behind those of its priority. */
export const releaseScript = script(`
local released = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', token, id) == ARGV[i + 1] then
    redis.call('HDEL', token, id)
    redis.call('ZREM', leased, id)
    redis.call('HINCRBY', attempts, id, -1)
    released[#released + 1] = id
  end
end
if #released > 0 then
  enqueue(released, fields(priority, released))
  ${wake}
end
return #released
`)

/**
 * ARGV: lease ms, id, token, id, token... Renews those still held; returns
 * once each id none of whose leases here is held (cancelled, and maybe
 * removed, redriven or purged since; or taken over once the lease ran out).
 */
export const extendScript = script(`
local until_ = now() + tonumber(ARGV[1])
local scores, renewed, lost = {}, {}, {}
for i = 2, #ARGV, 2 do
  if redis.call('HGET', token, ARGV[i]) == ARGV[i + 1] then
    scores[#scores + 1] = until_
    scores[#scores + 1] = ARGV[i]
    renewed[ARGV[i]] = true
  else
    lost[#lost + 1] = ARGV[i]
  end
end
batch('ZADD', leased, scores)
local answer, told = {}, {}
for _, id in ipairs(lost) do
  if not renewed[id] and not told[id] then
    answer[#answer + 1] = id
    told[id] = true
  end
end
return answer
`)

/** Returns ready (waiting for their time included), leased, completed, buried. */
export const countsScript = script(`
return {
  redis.call('ZCARD', ready) + redis.call('ZCARD', delayed),
  redis.call('ZCARD', leased),
  tonumber(redis.call('GET', completed) or '0'),
  redis.call('ZCARD', buried)
}
`)

/**
 * ARGV: limit, the most bytes of a payload returned ('' for any), the
 * score after which to begin ('' for the first). Returns id, payload
 * (false when over the bound: its length read, not the payload), attempts,
 * error, score... oldest first. A burial's score is never given twice in
 * its queue (`buryScript`), so it is the dead letter's place.
 */
export const buriedScript = script(`
local out = {}
local most = tonumber(ARGV[2])
local from = ARGV[3] == '' and '-inf' or '(' .. ARGV[3]
local listed = redis.call('ZRANGEBYSCORE', buried, from, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
for i = 1, #listed, 2 do
  local id = listed[i]
  out[#out + 1] = id
  if most and redis.call('HSTRLEN', payload, id) > most then
    out[#out + 1] = false
  else
    out[#out + 1] = redis.call('HGET', payload, id)
  end
  out[#out + 1] = redis.call('HGET', attempts, id)
  out[#out + 1] = redis.call('HGET', errors, id)
  out[#out + 1] = listed[i + 1]
end
return out
`)

/**
 * Returns the milliseconds until the earliest job of `delayed` (offered with
 * a later time, or a retry waiting) is due, by the server's clock: 0 if it
 * is due and no claim moved it yet; nil if none waits. One read of the set's
 * first member. (A due job that a claim moved to `ready` without taking it
 * is not counted: that claim moved more than it took, so it returned `max`
 * jobs, and its caller claims again.)
 */
export const dueScript = script(`
if redis.call('EXISTS', paused) == 1 then return false end
local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
if #first == 0 then return false end
return math.max(0, tonumber(first[2]) - now())
`)

/**
 * ARGV: limit, and the place after which to begin: a score ('' for the
 * first page) and an id. Returns id, run-at ms (the score, the cursor's
 * number), attempts... of the jobs in \`delayed\`, soonest first, ties by id.
 *
 * Where a page begins: past every member of a lower score, then, among the
 * members of that very score (a tie, ordered by their bytes), past those
 * not after the id, found by halving the tie (a ZRANGE of one member a
 * step, so a tie of 10,000 costs 14 reads). The bytes are compared one by
 * one: Lua's \`<\` on strings follows the server's locale, and the set
 * follows the bytes.
 */
export const upcomingScript = script(`
local function sortsAfter(member, id)
  local n = math.min(#member, #id)
  for i = 1, n do
    local a, b = string.byte(member, i), string.byte(id, i)
    if a ~= b then return a > b end
  end
  return #member > #id
end
local start = 0
if ARGV[2] ~= '' then
  local low = redis.call('ZCOUNT', delayed, '-inf', '(' .. ARGV[2])
  local high = low + redis.call('ZCOUNT', delayed, ARGV[2], ARGV[2])
  while low < high do
    local middle = math.floor((low + high) / 2)
    if sortsAfter(redis.call('ZRANGE', delayed, middle, middle)[1], ARGV[3]) then high = middle else low = middle + 1 end
  end
  start = low
end
local out = {}
local first = redis.call('ZRANGE', delayed, start, start + tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #first, 2 do
  out[#out + 1] = first[i]
  out[#out + 1] = first[i + 1]
  out[#out + 1] = redis.call('HGET', attempts, first[i]) or '0'
end
return out
`)

/**
 * ARGV: '1' to pause, '' to resume. Returns 1 if the state changed. A
 * queue resumed wakes its listeners, whose claims it refused meanwhile.
 */
export const pauseScript = script(`
if ARGV[1] == '1' then return redis.call('SET', paused, '1', 'NX') and 1 or 0 end
if redis.call('DEL', paused) == 0 then return 0 end
${wakeWith(`'${wakeMessage.delayed}'`)}
return 1
`)

/** Returns 1 if the queue is paused. */
export const pausedScript = script(`
return redis.call('EXISTS', paused)
`)

/**
 * ARGV: id. Returns state, attempts, run-at ms (or ''), error (or ''),
 * priority; an empty array for an unknown id. A job ready now has no time
 * anywhere (its score in `ready` is its order): its run-at is now.
 */
export const lookupScript = script(`
local id = ARGV[1]
local n = redis.call('HGET', attempts, id) or '0'
local p = redis.call('HGET', priority, id) or '0'
if redis.call('ZSCORE', done, id) then return {'completed', n, '', '', p} end
if redis.call('HEXISTS', payload, id) == 0 then return {} end
if redis.call('ZSCORE', buried, id) then return {'buried', n, '', redis.call('HGET', errors, id) or '', p} end
if redis.call('ZSCORE', cancelled, id) then return {'cancelled', n, '', '', p} end
local until_ = redis.call('ZSCORE', leased, id)
if until_ then return {'leased', n, until_, '', p} end
local due = redis.call('ZSCORE', delayed, id)
if due then return {'ready', n, due, '', p} end
return {'ready', n, tostring(now()), '', p}
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

/**
 * ARGV: ids. Dead letters and cancelled jobs among them are ready again,
 * attempts from 0, behind the ready jobs of their priority (kept, with their
 * settings). Returns how many.
 */
export const redriveScript = script(`${takeParked}
if #taken > 0 then
  batch('HDEL', errors, taken)
  batch('HDEL', attempts, taken)
  enqueue(taken, fields(priority, taken))
  ${wake}
end
return #taken
`)

/** ARGV: ids. Dead letters and cancelled jobs among them are deleted, every trace. Returns how many. */
export const removeScript = script(`${takeParked}
if #taken > 0 then forget(taken) end
return #taken
`)

/**
 * ARGV: id. Cancels a ready, delayed or leased job (its payload, attempts,
 * priority and settings kept, for a redrive). Returns the state found:
 * 'ready', 'leased', or an ended state (nothing done); nil for an unknown
 * id. Each set takes it out by id, in O(log n).
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
  redis.call('ZREM', ready, id)
end
redis.call('ZADD', cancelled, now(), id)
return found
`)

/**
 * ARGV: limit. Cancels up to limit jobs that wait, as `cancelScript` does
 * each: the first of `ready` (by priority), then the earliest of
 * `delayed`. Each set is read from its front (ZRANGE 0 n): the work is the
 * batch's. Returns how many.
 */
export const cancelWaitingScript = script(`
local limit, t, n = tonumber(ARGV[1]), now(), 0
for _, key in ipairs({ ready, delayed }) do
  if n < limit then
    local ids = redis.call('ZRANGE', key, 0, limit - n - 1)
    if #ids > 0 then
      batch('ZREM', key, ids)
      local scored = {}
      for _, id in ipairs(ids) do
        scored[#scored + 1] = t
        scored[#scored + 1] = id
      end
      batch('ZADD', cancelled, scored)
      n = n + #ids
    end
  end
end
return n
`)

/**
 * ARGV: completed retention ms, buried retention ms, limit. Deletes up to
 * limit ended jobs past their retention, oldest first: completed, then
 * cancelled, then buried, every trace of them. Returns how many. Each set
 * is read from its oldest end (ZRANGEBYSCORE ... LIMIT): the work is the
 * batch's, not the queue's.
 */
export const purgeScript = script(`
local t, limit, n = now(), tonumber(ARGV[3]), 0
local function purge(key, age)
  if n >= limit then return end
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', t - age, 'LIMIT', 0, limit - n)
  if #ids == 0 then return end
  batch('ZREM', key, ids)
  forget(ids)
  n = n + #ids
end
purge(done, tonumber(ARGV[1]))
purge(cancelled, tonumber(ARGV[1]))
purge(buried, tonumber(ARGV[2]))
return n
`)
