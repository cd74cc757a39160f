import { script } from './runner.js';

/**
 * The longest sealed value an entry may hold (bytes). The largest genuine one is a token entry whose
 * OpenID token STS still takes (up to 20,000 characters: about 28 KB sealed; 50 tags of the largest
 * size give a 36.5 KB entry, whose token STS refuses); a longer value is a writer's and is treated as
 * missing (it is never sent to this process).
 */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** The longest change record the log may hold (bytes); a longer one is read as a gap (every entry dropped). */
export const MAX_RECORD_BYTES = 64 * 1024;

/** A type check: `ok(key, 'hash')` is false when `key` exists with another type. */
const TYPE_CHECK = `
local function ok(k, t)
  local have = redis.call('TYPE', k)['ok']
  return have == 'none' or have == t
end
`;

// The fleet tier's Lua scripts: each step is one script call, so one round trip and atomic on the
// server. Every key a script is given is in KEYS; two are read from an entry (a token entry's
// credentials entry, and an entry's identity generation key), which the key builder's hash tag
// keeps in the same cluster slot.
//
// Generations. The change feed numbers changes (`seq` in the state hash). A change sets the
// generation of each user and identity it names to its number (as `a:n`, `a` the namespace
// generation it was set under: one set under another counts as missing, so numbers from before a
// rollback never compare with numbers after it). An entry records `s`, the number
// current when its load began (read with the lease), and `a`, the namespace generation (a random
// value, renewed when Redis lost or rolled back the feed). It is current while `a` is unchanged and
// every generation it depends on EXISTS and is at most `s`: a change made during or after its load
// makes it stale for good; a generation missing (evicted, expired, deleted) never validates it. The
// sealed value binds `s` and `a` (AEAD additional data), so rewriting them in Redis cannot make an
// old value current. Entries are hashes: `v` the sealed value, `s`, `a`, `k` the key of its
// identity's generation, and, on a token entry, `c` its user's credentials entry.

/**
 * Reads an entry, or takes the load's lease. A token entry may name its user's credentials entry;
 * when that one is current too, it comes along (a user cached by another instance costs one round
 * trip). Taking the lease creates the change state when it is missing (and then renews the
 * namespace generation: entries stored before are stale), and the missing generations of the load's
 * user and identity at the current number (a stale entry carries a lower `s`).
 * KEYS: entry, lease, change state, namespace generation, then the user's generation (ARGV[4] '1'),
 * then the identity's generation (ARGV[5] '1').
 * ARGV: lease token, lease ms, the SHA-1 (hex) of a sealed value to skip (the caller refused it: due
 * for refresh) or '', has user, has identity, generation ttl ms, a fresh random value (epoch and
 * namespace generation of a new change state), the longest value returned (longer ones are missing).
 * Returns {'hit', v, s, a[, credentials entry key, v, s, a]} | {'lease', s, a} | {'wait'}.
 */
export const GET_OR_LEASE = script(`
local ga = redis.call('GET', KEYS[4])
local n = 5
local ku, ki
if ARGV[4] == '1' then ku = KEYS[n]; n = n + 1 end
if ARGV[5] == '1' then ki = KEYS[n] end
-- A generation is 'a:n' (set under namespace generation a); one of another a counts as missing.
local function gen(gk)
  -- A key of another type (a writer's) counts as missing, as an error would degrade the tier.
  if redis.call('TYPE', gk)['ok'] ~= 'string' then return nil end
  local g = redis.call('GET', gk)
  if not g or not ga then return nil end
  local tag, n = string.match(g, '^(.*):(%d+)$')
  if tag ~= ga then return nil end
  return tonumber(n)
end
local function upto(gk, s)
  local n = gen(gk)
  return n ~= nil and n <= s
end
local function current(es, ea, ek)
  local s = tonumber(es)
  if not ga or ea ~= ga or not s or not ek or ek == '' then return false end
  if ku and not upto(ku, s) then return false end
  return upto(ek, s)
end
local cap = tonumber(ARGV[8])
-- A value longer than the cap is a writer's: missing (never read, never sent).
local function small(k)
  return redis.call('TYPE', k)['ok'] == 'hash' and redis.call('HSTRLEN', k, 'v') <= cap
end
local e = {}
if small(KEYS[1]) then e = redis.call('HMGET', KEYS[1], 's', 'a', 'k', 'v', 'c') end
if e[4] and (ARGV[3] == '' or redis.sha1hex(e[4]) ~= ARGV[3]) and current(e[1], e[2], e[3]) then
  if e[5] and small(e[5]) then
    local c = redis.call('HMGET', e[5], 's', 'a', 'k', 'v')
    if c[4] and current(c[1], c[2], c[3]) then return {'hit', e[4], e[1], e[2], e[5], c[4], c[1], c[2]} end
  end
  return {'hit', e[4], e[1], e[2]}
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'wait'} end
-- A new (or lost and recreated) change state: whatever was stored before it is stale.
if redis.call('HSETNX', KEYS[3], 'epoch', ARGV[7]) == 1 or not ga then
  ga = ARGV[7]
  redis.call('SET', KEYS[4], ga)
end
local s = redis.call('HGET', KEYS[3], 'seq') or '0'
if ku and not gen(ku) then redis.call('SET', ku, ga .. ':' .. s, 'PX', ARGV[6]) end
if ki and not gen(ki) then redis.call('SET', ki, ga .. ':' .. s, 'PX', ARGV[6]) end
return {'lease', s, ga}
`);

/**
 * Stores a loaded entry unless a generation it depends on moved past the number read with the
 * lease (a change during the load: the value may predate it), releases the lease if still ours,
 * and wakes the waiters. A missing generation is created at the current number (the entry is then
 * stored only if nothing changed during the load).
 * KEYS: entry, lease, change state, namespace generation, the generation of the value's identity,
 * then the user's generation (ARGV[8] '1'), then the user's token entry (credentials; ARGV[9] '1').
 * ARGV: lease token, sealed value, ttl ms, s and a (read with the lease), channel, message, has
 * user, has token entry, generation ttl ms.
 * Returns 1 (stored) or 0 (a change overlapped the load: not stored).
 */
export const PUT = script(`
local s0 = tonumber(ARGV[4])
local ga = ARGV[5]
local ok = redis.call('GET', KEYS[4]) == ga
local gens = {KEYS[5]}
local n = 6
local kt
if ARGV[8] == '1' then gens[2] = KEYS[n]; n = n + 1 end
if ARGV[9] == '1' then kt = KEYS[n] end
local st = redis.call('HMGET', KEYS[3], 'epoch', 'seq')
-- The change state gone during the load (flushed, evicted): nothing can be compared.
if not st[1] then ok = false end
local s = tonumber(st[2] or '0')
for _, gk in ipairs(gens) do
  if not ok then break end
  -- A generation key of another type (a writer's) counts as missing, and is overwritten.
  local gv = redis.call('TYPE', gk)['ok'] == 'string' and redis.call('GET', gk) or ''
  local tag, n = string.match(gv, '^(.*):(%d+)$')
  local g = tag == ga and tonumber(n) or nil
  if not g then
    redis.call('SET', gk, ga .. ':' .. s, 'PX', ARGV[10])
    g = s
  end
  if g > s0 then ok = false end
end
if ok then
  -- A generation outlives the entries that depend on it.
  for _, gk in ipairs(gens) do
    local t = redis.call('PTTL', gk)
    if t >= 0 and t < tonumber(ARGV[3]) then redis.call('PEXPIRE', gk, ARGV[3]) end
  end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 's', ARGV[4], 'a', ARGV[5], 'k', KEYS[5], 'v', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if kt and redis.call('TYPE', kt)['ok'] == 'hash' then redis.call('HSET', kt, 'c', KEYS[1]) end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[6], ARGV[7])
if ok then return 1 end
return 0
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
 * Records a change: numbers it, sets the generations of the users and identities named to its
 * number (their entries are stale from now on), appends it to the change log (the last 256) and
 * wakes every instance (the wake-up carries no change: instances read the log). The record is
 * sealed for the epoch and number it is to get (compare-and-set): when those are no longer next,
 * nothing is written and the script replies 'retry' with the state, to seal again. Every key's type
 * is checked before any write: one of the wrong type (a writer's) refuses the change ('type').
 * KEYS: state hash, log, namespace generation, then the generation keys.
 * ARGV: a new epoch (used when the state is new), the change record (sealed by the sender), channel,
 * generation ttl ms, a fresh namespace generation, '1' for a change of every entry, the epoch and
 * number the record was sealed for.
 * Returns {'ok', epoch, seq} | {'retry', epoch, seq} | {'type'}.
 */
export const INVALIDATE = script(`${TYPE_CHECK}
if not (ok(KEYS[1], 'hash') and ok(KEYS[2], 'list') and ok(KEYS[3], 'string')) then return {'type'} end
-- A generation key of another type (a writer's) is simply overwritten by the SET below.
local st = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local next = tonumber(st[2] or '0') + 1
if not st[1] or st[1] ~= ARGV[7] or tostring(next) ~= ARGV[8] then
  if not st[1] then
    -- A new feed (first change, or the old one lost): entries stored before it are stale.
    redis.call('HSET', KEYS[1], 'epoch', ARGV[1])
    redis.call('SET', KEYS[3], ARGV[5])
    st[1] = ARGV[1]
  end
  return {'retry', st[1], tostring(next - 1)}
end
if ARGV[6] == '1' or redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ARGV[5]) end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = st[1]
local ga = redis.call('GET', KEYS[3])
for i = 4, #KEYS do redis.call('SET', KEYS[i], ga .. ':' .. seq, 'PX', ARGV[4]) end
redis.call('LPUSH', KEYS[2], seq .. ' ' .. ARGV[2])
redis.call('LTRIM', KEYS[2], 0, 255)
redis.call('PUBLISH', ARGV[3], 'I ' .. epoch .. ' ' .. seq)
return {'ok', epoch, tostring(seq)}
`);

/**
 * The changes since `seq` of `epoch`.
 * KEYS: state hash, log, namespace generation.
 * ARGV: known epoch, known seq, a new epoch (and namespace generation, when one is renewed), the
 * longest record returned.
 * Returns {epoch, seq, ...log entries newest first}; {epoch, seq, 'gap'} when the log cannot hold
 * them all (or holds a record longer than the cap); {'', '0'} when nothing was ever published (or
 * Redis lost it); {'type'} when a key has the wrong type (a writer's: the namespace cannot be
 * trusted). A counter behind the one
 * this instance knows in the same epoch is Redis restored from a snapshot or failed over to a late
 * replica: changes and generations went back with it, so the epoch is renewed (every instance drops
 * its cache) and every shared entry is made stale.
 */
export const SYNC = script(`${TYPE_CHECK}
if not (ok(KEYS[1], 'hash') and ok(KEYS[2], 'list') and ok(KEYS[3], 'string')) then return {'type'} end
local st = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not st[1] then
  -- Gone while this instance knew it: flushed, or rolled back to before the first change.
  if ARGV[1] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
  return {'', '0'}
end
local seq = tonumber(st[2] or '0')
local seqText = tostring(seq)
local known = tonumber(ARGV[2])
if st[1] == ARGV[1] and seq < known then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[3])
  redis.call('SET', KEYS[3], ARGV[3])
  return {ARGV[3], seqText}
end
if st[1] ~= ARGV[1] and ARGV[1] ~= '' then return {st[1], seqText} end
if st[1] ~= ARGV[1] then known = 0 end
if seq <= known then return {st[1], seqText} end
if seq - known > 256 then return {st[1], seqText, 'gap'} end
local out = {st[1], seqText}
local cap = tonumber(ARGV[4])
for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, seq - known - 1)) do
  if #e > cap then return {st[1], seqText, 'gap'} end
  out[#out + 1] = e
end
return out
`);

/**
 * Takes a lock for an owner.
 * KEYS: lock. ARGV: value (owner name ':' random), ttl ms, owner name.
 * Returns 'ok', 'same' (held by the same owner elsewhere) or 'other'.
 */
export const LOCK = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'ok' end
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[3] + 1) == ARGV[3] .. ':' then return 'same' end
return 'other'
`);

/**
 * Whether Redis answers and can record a change (before an identity-changing call): the keys every
 * change writes have the types INVALIDATE needs. KEYS: change state, log, namespace generation.
 * ARGV: none. Returns 'ok' or 'type' (a key of the wrong type: a writer's).
 */
export const PROBE = script(`${TYPE_CHECK}
if ok(KEYS[1], 'hash') and ok(KEYS[2], 'list') and ok(KEYS[3], 'string') then return 'ok' end
return 'type'
`);

/** Releases a lock if still ours. KEYS: lock. ARGV: value. */
export const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);
