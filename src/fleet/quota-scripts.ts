import { script } from './runner.js';

// The token bucket of InMemoryQuotaStore, in Lua, with time from Redis's own clock (TIME): the
// callers' clocks are each process's monotonic clock, meaningless across a fleet.
//
// A bucket is a hash { tokens, at } (at: Redis time in ms, sub-ms from TIME's microseconds). A
// missing bucket is full, so a full bucket is deleted rather than stored, and a stored one expires
// once it would have refilled (plus a margin): idle buckets vanish. Numbers written with
// redis.call keep their full double precision; a script's number reply is truncated to an integer,
// so retryInMs is rounded up in Lua and is at least 1.
const COMMON = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local margin = tonumber(ARGV[1])

local function level(key, rate, burst)
  local v = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(v[1])
  local at = tonumber(v[2])
  if tokens == nil or at == nil then return burst, false end
  -- A clock that went back (a failover to another server) refills nothing.
  if at > now then return math.min(burst, tokens), true end
  return math.min(burst, tokens + (now - at) / 1000 * rate), false
end

local function save(key, tokens, rate, burst)
  if tokens >= burst then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 'tokens', tokens, 'at', now)
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + margin)
end
`;

/**
 * One take. KEYS: the bucket, then the cap bucket when there is one. ARGV: margin ms, rate, burst,
 * floor, then the cap's rate and burst. Replies 0 when granted, else the ms until it could be (≥ 1).
 */
export const TAKE = script(`${COMMON}
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local needed = tonumber(ARGV[4]) + 1
local tokens, back = level(KEYS[1], rate, burst)
local wait = 0
if tokens < needed then wait = (needed - tokens) / rate * 1000 end
local capTokens, capBack, capRate, capBurst
if KEYS[2] ~= nil then
  capRate = tonumber(ARGV[5])
  capBurst = tonumber(ARGV[6])
  capTokens, capBack = level(KEYS[2], capRate, capBurst)
  if capTokens < 1 then wait = math.max(wait, (1 - capTokens) / capRate * 1000) end
end
if wait > 0 then
  -- Refused: both buckets left as they are (their stored level and expiry still hold), except a
  -- level stamped in the future, which restarts at this server's time as in memory.
  if back then save(KEYS[1], tokens, rate, burst) end
  if capBack then save(KEYS[2], capTokens, capRate, capBurst) end
  return math.max(1, math.ceil(wait))
end
save(KEYS[1], tokens - 1, rate, burst)
if KEYS[2] ~= nil then save(KEYS[2], capTokens - 1, capRate, capBurst) end
return 0
`);

/** One refund. KEYS: the bucket. ARGV: margin ms, rate, burst. Replies 0. */
export const REFUND = script(`${COMMON}
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tokens = level(KEYS[1], rate, burst)
save(KEYS[1], math.min(burst, tokens + 1), rate, burst)
return 0
`);

/**
 * An instance's heartbeat. KEYS: the live set (a sorted set of random instance ids, scored by Redis
 * time in ms). ARGV: the instance id, how long an instance stays live without a beat (ms). Drops the
 * instances not heard of within it (and any scored ahead of this server's clock, after a failover),
 * and replies how many are live, this one included.
 */
export const HEARTBEAT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - live))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. (now + live), '+inf')
redis.call('PEXPIRE', KEYS[1], 2 * live)
return redis.call('ZCARD', KEYS[1])
`);

/** An instance leaves the live set (a clean stop). KEYS: the live set. ARGV: the instance id. Replies 0 or 1. */
export const LEAVE = script(`return redis.call('ZREM', KEYS[1], ARGV[1])`);
