import { script } from './runner.js';

// The fleet tier's Lua scripts: each step is one script call, so one round trip and atomic on the
// server. Keys are named by the caller (every key a script touches is in KEYS, but for the identity
// generation a token entry names itself: the token's identity is known only once it is loaded).
// Entries are hashes: `v` the sealed value; `u`, `i` and `a` the generations of its user, its
// identity and the whole namespace when it was loaded (`k`: the key of that identity generation,
// for token entries); an entry whose generations moved since is stale and never served.

/**
 * Reads an entry, or takes the load's lease. A token entry may name its user's credentials entry
 * (fields `c`, `ck`: the entry and its identity generation key); when that one is current too, it
 * comes along, so that a user cached by another instance costs one round trip, not two.
 * KEYS: entry, lease, user generation, identity generation, namespace generation.
 * ARGV: lease token, lease ms, a sealed value to skip (the caller refused it: due for refresh), or ''.
 * Returns {'hit', value[, credentials entry key, credentials value]} | {'lease', gu, gi, ga} | {'wait'}.
 */
export const GET_OR_LEASE = script(`
local gu = redis.call('GET', KEYS[3]) or '0'
local gi = redis.call('GET', KEYS[4]) or '0'
local ga = redis.call('GET', KEYS[5]) or '0'
local e = redis.call('HMGET', KEYS[1], 'u', 'i', 'a', 'k', 'v', 'c', 'ck')
if e[5] and e[1] == gu and e[3] == ga and e[5] ~= ARGV[3] then
  local ei = gi
  if e[4] and e[4] ~= '' then ei = redis.call('GET', e[4]) or '0' end
  if e[2] == ei then
    if e[6] and e[7] then
      local c = redis.call('HMGET', e[6], 'u', 'i', 'a', 'v')
      if c[4] and c[1] == gu and c[3] == ga and c[2] == (redis.call('GET', e[7]) or '0') then
        return {'hit', e[5], e[6], c[4]}
      end
    end
    return {'hit', e[5]}
  end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'lease', gu, gi, ga} end
return {'wait'}
`);

/**
 * Stores a loaded entry (unless a change moved its generations during the load), releases the
 * lease if still ours, and wakes the waiters.
 * KEYS: entry, lease, user generation, identity generation, namespace generation.
 * ARGV: lease token, sealed value, ttl ms, gu, gi, ga (as read with the lease), channel, message,
 * the identity generation key of a token entry (its identity known now) or '', the token entry of
 * the user whose credentials these are or ''.
 */
export const PUT = script(`
local gu = redis.call('GET', KEYS[3]) or '0'
local gi = redis.call('GET', KEYS[4]) or '0'
local ga = redis.call('GET', KEYS[5]) or '0'
if gu == ARGV[4] and gi == ARGV[5] and ga == ARGV[6] then
  local k = ARGV[9]
  if k ~= '' then gi = redis.call('GET', k) or '0' end
  -- A generation must outlive the entries stamped with it: expired, it would read '0' again.
  for _, g in ipairs({KEYS[3], KEYS[4], k}) do
    if g ~= '' and redis.call('PTTL', g) >= 0 and redis.call('PTTL', g) < tonumber(ARGV[3]) then
      redis.call('PEXPIRE', g, ARGV[3])
    end
  end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'u', gu, 'i', gi, 'a', ga, 'k', k, 'v', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  -- Credentials of a user: their token entry names them (see GET_OR_LEASE).
  if ARGV[10] ~= '' and redis.call('EXISTS', ARGV[10]) == 1 then
    redis.call('HSET', ARGV[10], 'c', KEYS[1], 'ck', KEYS[4])
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 1
`);

/**
 * Releases a lease if still ours (compare-and-delete) and wakes the waiters.
 * KEYS: lease. ARGV: token, channel, message.
 */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`);

/**
 * Publishes a change: bumps the generations of the users and identities named (so their shared
 * entries are stale), appends it to the change log (the last 256) and sends it to every instance.
 * KEYS: state hash, log, then generation keys (the namespace generation for a change of every
 * entry). ARGV: a new epoch (used when the state is new), the change (JSON), channel, generation
 * ttl ms, the sender's instance id, the namespace generation's key (it never expires: one key, and
 * expired it could come back to a value an older entry carries).
 * Returns {epoch, seq}.
 */
export const INVALIDATE = script(`
for i = 3, #KEYS do
  redis.call('INCR', KEYS[i])
  if KEYS[i] ~= ARGV[6] then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local entry = seq .. ' ' .. ARGV[5] .. ' ' .. ARGV[2]
redis.call('LPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], 0, 255)
redis.call('PUBLISH', ARGV[3], 'I ' .. epoch .. ' ' .. entry)
return {epoch, tostring(seq)}
`);

/**
 * The changes since `seq` of `epoch`.
 * KEYS: state hash, log, namespace generation.
 * ARGV: known epoch, known seq, a new epoch.
 * Returns {epoch, seq, ...entries newest first}; {epoch, seq, 'gap'} when the log no longer holds
 * them all; {'', '0'} when nothing was ever published (or Redis lost it). A counter behind the one
 * this instance knows in the same epoch is Redis restored from a snapshot or failed over to a late
 * replica: changes and generations went back with it, so the epoch is renewed (every instance drops
 * its cache) and every shared entry is made stale.
 */
export const SYNC = script(`
local st = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not st[1] then
  -- Gone while this instance knew it: flushed, or rolled back to before the first change.
  if ARGV[1] ~= '' then redis.call('INCR', KEYS[3]) end
  return {'', '0'}
end
local seq = tonumber(st[2])
local known = tonumber(ARGV[2])
if st[1] == ARGV[1] and seq < known then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[3])
  redis.call('INCR', KEYS[3])
  return {ARGV[3], st[2]}
end
if st[1] ~= ARGV[1] and ARGV[1] ~= '' then return {st[1], st[2]} end
if st[1] ~= ARGV[1] then known = 0 end
if seq <= known then return {st[1], st[2]} end
if seq - known > 256 then return {st[1], st[2], 'gap'} end
local out = {st[1], st[2]}
for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, seq - known - 1)) do out[#out + 1] = e end
return out
`);

/**
 * Takes a lock for an owner.
 * KEYS: lock. ARGV: value (owner hash ':' random), ttl ms, owner hash.
 * Returns 'ok', 'same' (held by the same owner elsewhere) or 'other'.
 */
export const LOCK = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'ok' end
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[3] + 1) == ARGV[3] .. ':' then return 'same' end
return 'other'
`);

/** Releases a lock if still ours. KEYS: lock. ARGV: value. */
export const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);
