import { script } from './runner.js';

/**
 * The longest sealed value an entry may hold (bytes). The largest genuine one is a token entry whose
 * OpenID token STS still takes (up to 20,000 characters: about 28 KB sealed; 50 tags of the largest
 * size give a 36.5 KB entry, whose token STS refuses); a longer value is a writer's and is treated as
 * missing (it is never sent to this process).
 */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** The longest change record read from the log (bytes: a genuine one is under 2 KB); a longer one is read as a change of every entry. */
export const MAX_RECORD_BYTES = 16 * 1024;

/** A type check: `ok(key, 'hash')` is false when `key` exists with another type. */
const TYPE_CHECK = `
local function ok(k, t)
  local have = redis.call('TYPE', k)['ok']
  return have == 'none' or have == t
end
`;

// The fleet tier's Lua scripts: each step is one script call, so one round trip and atomic on the
// server. Every key a script touches is in its KEYS, and all of them carry one hash tag (see
// FleetKeys), so that each script runs on one node of a Redis Cluster; a channel a script publishes
// on is in the slot of its keys too (a sharded channel on a cluster).
//
// Entries are hashes: `v` the sealed value, `s` the change number its load began under and `a` the
// feed's epoch then (both bound into the sealed value: rewriting them in Redis makes it fail to
// open); on a token entry, `cn`, `cv`, `cs`, `ca`: its user's credentials entry (name, value,
// numbers), written there by the credentials' store so that a user cached by another instance
// costs one round trip. Whether an entry is current is decided by the instance that reads it,
// against the changes it has read from the log (ChangeIndex): no script reads another slot.

/**
 * Publishes `message` on `channel` (classic PUBLISH, or SPUBLISH when `mode` is 's': the channel
 * is then in the slot of the script's keys).
 */
const PUBLISH_FN = `
local function publish(channel, message, mode)
  if channel == '' then return end
  if mode == 's' then redis.call('SPUBLISH', channel, message) else redis.call('PUBLISH', channel, message) end
end
`;

/**
 * Reads an entry, or takes the load's lease. A token entry may carry its user's credentials; they
 * come along. The owner's marker (the last change that named the entry's user or identity) comes
 * with either answer.
 * KEYS: entry, lease, the owner's marker.
 * ARGV: lease token, lease ms, the SHA-1 (hex) of a sealed value to skip (the caller refused it) or
 * '', the longest value returned (longer ones are missing: a writer's, never sent).
 * Returns {'hit', g, v, s, a[, cn, cv, cs, ca]} | {'lease', g} | {'wait'} (g the marker or '').
 */
export const GET_OR_LEASE = script(`
local cap = tonumber(ARGV[4])
local g = ''
if redis.call('TYPE', KEYS[3])['ok'] == 'string' and redis.call('STRLEN', KEYS[3]) <= 64 then
  g = redis.call('GET', KEYS[3])
end
if redis.call('TYPE', KEYS[1])['ok'] == 'hash' and redis.call('HSTRLEN', KEYS[1], 'v') <= cap then
  local e = redis.call('HMGET', KEYS[1], 'v', 's', 'a')
  if e[1] and e[2] and e[3] and (ARGV[3] == '' or redis.sha1hex(e[1]) ~= ARGV[3]) then
    if redis.call('HSTRLEN', KEYS[1], 'cv') <= cap then
      local c = redis.call('HMGET', KEYS[1], 'cn', 'cv', 'cs', 'ca')
      if c[1] and c[2] and c[3] and c[4] then return {'hit', g, e[1], e[2], e[3], c[1], c[2], c[3], c[4]} end
    end
    return {'hit', g, e[1], e[2], e[3]}
  end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'lease', g} end
return {'wait'}
`);

/**
 * Stores a loaded entry (unless the entry holds one loaded later in the same epoch), puts it in
 * its user's token entry when it is that user's credentials, releases the lease if still ours,
 * and wakes the waiters.
 * KEYS: entry, lease, then the user's token entry (ARGV[6] not '').
 * ARGV: lease token, sealed value, ttl ms, s, a, the entry's name for the token entry (or ''),
 * channel ('' for none), message, publish mode.
 * Returns 1 (stored) or 0 (a later load's entry kept).
 */
export const PUT = script(`${PUBLISH_FN}
local store = true
if redis.call('TYPE', KEYS[1])['ok'] == 'hash' then
  local cur = redis.call('HMGET', KEYS[1], 's', 'a')
  local cs = tonumber(cur[1])
  if cur[2] == ARGV[5] and cs and cs > tonumber(ARGV[4]) then store = false end
end
if store then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[4], 'a', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if ARGV[6] ~= '' and redis.call('TYPE', KEYS[3])['ok'] == 'hash' then
    redis.call('HSET', KEYS[3], 'cn', ARGV[6], 'cv', ARGV[2], 'cs', ARGV[4], 'ca', ARGV[5])
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
publish(ARGV[7], ARGV[8], ARGV[9])
if store then return 1 end
return 0
`);

/**
 * Releases a lease if still ours (compare-and-delete) and wakes the waiters.
 * KEYS: lease. ARGV: token, channel ('' for none), message, publish mode.
 */
export const RELEASE = script(`${PUBLISH_FN}
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
publish(ARGV[2], ARGV[3], ARGV[4])
return 1
`);

/**
 * Publishes a load's wake-up on the feed's channel, on a cluster (where the load's own script runs
 * in its user's slot, and cannot publish on a sharded channel of another).
 * KEYS: the change state (for the slot only: not read). ARGV: channel, message, publish mode.
 */
export const NOTIFY = script(`${PUBLISH_FN}
publish(ARGV[1], ARGV[2], ARGV[3])
return 1
`);

/**
 * Raises an owner's marker to change `seq` of `epoch` (never lowers it within an epoch).
 * KEYS: marker. ARGV: epoch, seq, ttl ms. Returns 1.
 */
export const BUMP = script(`
local cur = redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) or ''
local tag, n = string.match(cur, '^(.*):(%d+)$')
if tag == ARGV[1] and tonumber(n) >= tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
`);

/** The most users an identity's member set holds (a genuine identity has a few). */
export const MAX_MEMBERS = 256;

/**
 * Adds a user to the set of those whose entries name an identity (up to a cap: past it, the others
 * learn the identity's changes from the log only). A key of another type (a writer's) is replaced.
 * KEYS: the identity's member set. ARGV: the user's member name, ttl ms, cap. Returns 1.
 */
export const JOIN = script(`
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'set' and t ~= 'none' then redis.call('DEL', KEYS[1]) end
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[3]) or redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  redis.call('SADD', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

/**
 * The users whose entries name an identity (at most `cap` of them).
 * KEYS: the identity's member set. ARGV: cap. Returns the members (an empty list for a key of another type).
 */
export const MEMBERS = script(`
if redis.call('TYPE', KEYS[1])['ok'] ~= 'set' then return {} end
if redis.call('SCARD', KEYS[1]) <= tonumber(ARGV[1]) then return redis.call('SMEMBERS', KEYS[1]) end
return redis.call('SRANDMEMBER', KEYS[1], ARGV[1])
`);

/** How many changes the log holds (the change index keeps as many). */
export const LOG_CHANGES = 1024;

/**
 * The feed's state, checked: `st` its epoch and number, or a new epoch (`fresh`, with the number
 * 0 and an empty log) when the state is missing or not one the fleet writes (a writer's: an epoch
 * over 64 characters, a number that is not one). Sets `renewed` when it made a new epoch.
 */
const FEED_STATE = `
local renewed = false
local function state(fresh)
  local st = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
  local seq = tonumber(st[2] or '0')
  if st[1] and #st[1] <= 64 and seq and seq >= 0 and seq < 2^53 and seq == math.floor(seq) then
    return st[1], seq
  end
  if st[1] then
    -- Not the fleet's: the numbers cannot be trusted; everything starts over.
    redis.call('DEL', KEYS[1], KEYS[2])
    seq = 0
  end
  redis.call('HSET', KEYS[1], 'epoch', fresh, 'seq', seq or 0)
  renewed = true
  return fresh, seq or 0
end
local function renew(fresh)
  redis.call('HSET', KEYS[1], 'epoch', fresh)
  renewed = true
  return fresh
end
`;

/**
 * Records a change: numbers it, appends it to the change log (the last ${LOG_CHANGES}) and wakes every
 * instance (the wake-up carries no change: instances read the log). The record is sealed for the
 * epoch and number it is to get (compare-and-set): when those are no longer next, nothing is
 * written and the script replies 'retry' with the state, to seal again. A counter below the
 * highest number the caller has seen in this epoch went back (a failover to a late replica, a
 * restore): the epoch is renewed, so that no number is given twice in one epoch. Every key's type
 * is checked before any write: one of the wrong type (a writer's) refuses the change ('type').
 * KEYS: state hash, log.
 * ARGV: a new epoch (used when the state is missing or went back), the change record (sealed by
 * the sender), channel, publish mode, the epoch and number the record was sealed for, the highest
 * number the sender has seen in that epoch.
 * Returns {'ok', epoch, seq} | {'retry', epoch, seq} | {'type'}.
 */
export const INVALIDATE = script(`${TYPE_CHECK}${PUBLISH_FN}${FEED_STATE}
if not (ok(KEYS[1], 'hash') and ok(KEYS[2], 'list')) then return {'type'} end
local epoch, seq = state(ARGV[1])
if epoch == ARGV[5] and seq < (tonumber(ARGV[7]) or 0) then epoch = renew(ARGV[1]) end
if renewed or epoch ~= ARGV[5] or tostring(seq + 1) ~= ARGV[6] then return {'retry', epoch, tostring(seq)} end
seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('LPUSH', KEYS[2], seq .. ' ' .. ARGV[2])
redis.call('LTRIM', KEYS[2], 0, ${LOG_CHANGES - 1})
publish(ARGV[3], 'I ' .. epoch .. ' ' .. seq, ARGV[4])
return {'ok', epoch, tostring(seq)}
`);

/**
 * The changes since `seq` of `epoch` (all the log holds when the epoch is another, or none is
 * known). A missing state is created (a new epoch: entries stored before it are stale).
 * KEYS: state hash, log.
 * ARGV: known epoch ('' for none), known seq, a new epoch, the longest record returned (a longer
 * one is returned as its number alone), the digest (SHA-1) of the log entry the caller read last
 * at its number (or '').
 * Returns {epoch, seq, digest of the newest log entry (or ''), ...log entries newest first} or
 * {'type'} when a key has the wrong type (a writer's: the namespace cannot be trusted). A counter
 * behind the one this instance knows in the same epoch, or a log entry at that number that is not
 * the one it read, is Redis restored from a snapshot or failed over to a late replica: changes went
 * back with it (and numbers may have been given again), so the epoch is renewed (every instance
 * drops its cache, and every shared entry is stale).
 */
export const SYNC = script(`${TYPE_CHECK}${FEED_STATE}
if not (ok(KEYS[1], 'hash') and ok(KEYS[2], 'list')) then return {'type'} end
local epoch, seq = state(ARGV[3])
local known = tonumber(ARGV[2]) or 0
if not renewed and epoch == ARGV[1] then
  if seq < known then
    epoch = renew(ARGV[3])
  elseif ARGV[5] ~= '' and known > 0 and seq - known < ${LOG_CHANGES} then
    local e = redis.call('LINDEX', KEYS[2], seq - known)
    if not e or redis.sha1hex(e) ~= ARGV[5] then epoch = renew(ARGV[3]) end
  end
end
local newest = redis.call('LINDEX', KEYS[2], 0)
local out = {epoch, tostring(seq), newest and redis.sha1hex(newest) or ''}
if renewed then return out end
if epoch ~= ARGV[1] then known = 0 end
if seq <= known then return out end
local cap = tonumber(ARGV[4])
for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, math.min(seq - known, ${LOG_CHANGES}) - 1)) do
  if #e > cap then
    local n = string.match(e, '^%d+') or ''
    if #n > 16 then n = '' end
    out[#out + 1] = n
  else
    out[#out + 1] = e
  end
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
 * change writes have the types INVALIDATE needs. KEYS: change state, log.
 * ARGV: none. Returns 'ok' or 'type' (a key of the wrong type: a writer's).
 */
export const PROBE = script(`${TYPE_CHECK}
if ok(KEYS[1], 'hash') and ok(KEYS[2], 'list') then return 'ok' end
return 'type'
`);

/** Releases a lock if still ours. KEYS: lock. ARGV: value. */
export const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);
