-- The gateway's one round trip per request: read the cached principal of a
-- bearer key and take a token from its bucket, atomically, on Redis's clock
-- (so every gateway replica shares one notion of "now").
--
-- Buckets belong to the user, not to the key (bucket:user:<uid>): a regenerated
-- or second key draws from the same bucket. A cached principal names its bucket
-- (field 'b'), so 'auth' finds it without knowing the user beforehand.
--
-- Modes (ARGV[1]):
--   auth   KEYS: principal:<h>, -, authfail:<ip>, principal:epoch
--          ARGV: mode, failure_limit, failure_window
--   store  KEYS: principal:<h>, bucket:user:<uid>, authfail:<ip>, principal:epoch,
--                principal:user:<uid>[, principal:plan:<pid>]
--          ARGV: mode, failure_limit, failure_window, epoch_seen, principal_json,
--                capacity, window, expires_at ('' = never), ttl, key_hash
--          Caches what the accounts service answered (unless an invalidation
--          happened meanwhile: the epoch moved) and then behaves like auth.
--   deny   KEYS: principal:<h>, -, authfail:<ip>
--          ARGV: mode, failure_limit, failure_window, negative_ttl
--          Caches "no such key" briefly and counts a failure.
--   fail   KEYS: -, -, authfail:<ip>
--          ARGV: mode, failure_limit, failure_window
--          Counts a failure (missing or malformed credentials).
--   ip     KEYS: -, bucket:ip:<ip>
--          ARGV: mode, -, -, capacity, window
--          A plain bucket per client address (unauthenticated endpoints).
--   charge KEYS: principal:<h>
--          ARGV: mode, -, -, cost
--          Takes `cost` more tokens (at most the capacity) for a request that
--          already took one in `auth` (a bulk request costs by its size); all
--          or nothing. Replies like `ip`.
--
-- Replies are one string of newline-separated fields (one bulk reply is much
-- cheaper for the client to read than an array; orjson never writes a raw
-- newline, so the principal's JSON can come last, whole):
--   ok       allowed limit remaining reset retry_after principal_json
--   miss     epoch                     -- not cached: ask accounts, then 'store'
--   fail     failures window_ttl       -- failures > limit means 429, else 401
--   bucket   allowed limit remaining reset retry_after         -- mode ip
-- reset and retry_after are decimal seconds (reset: unix time).

local mode = ARGV[1]

local function reply(...)
  return table.concat({...}, '\n')
end

local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function take(key, capacity, window, now, cost)
  cost = math.min(cost or 1, capacity)
  local rate = capacity / window
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = capacity
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    tokens = math.min(capacity, tonumber(state[1]) + elapsed * rate)
  end
  local allowed = 0
  local retry = 0
  if tokens >= cost then
    tokens = tokens - cost
    allowed = 1
  else
    retry = (cost - tokens) / rate
  end
  redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  local reset = now + (capacity - tokens) / rate
  return {allowed, capacity, math.floor(tokens), tostring(reset), tostring(retry)}
end

local function fail()
  local count = redis.call('INCR', KEYS[3])
  if count == 1 then
    redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
  end
  local ttl = redis.call('TTL', KEYS[3])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
    ttl = tonumber(ARGV[3])
  end
  return reply('fail', count, ttl)
end

local function granted(bucket, principal, capacity, window, now)
  local b = take(bucket, capacity, window, now)
  return reply('ok', b[1], b[2], b[3], b[4], b[5], principal)
end

if mode == 'ip' then
  local b = take(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]), clock())
  return reply('bucket', b[1], b[2], b[3], b[4], b[5])
end

if mode == 'charge' then
  local cached = redis.call('HMGET', KEYS[1], 'cap', 'win', 'b')
  if not cached[3] then  -- evicted meanwhile: the next request looks the key up again
    return reply('bucket', 1, 0, 0, '0', '0')
  end
  local b = take(cached[3], tonumber(cached[1]), tonumber(cached[2]), clock(), tonumber(ARGV[4]))
  return reply('bucket', b[1], b[2], b[3], b[4], b[5])
end

if mode == 'fail' then
  return fail()
end

if mode == 'deny' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'neg', '1')
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  return fail()
end

local now = clock()

if mode == 'store' then
  local capacity = tonumber(ARGV[6])
  local window = tonumber(ARGV[7])
  local expires = tonumber(ARGV[8])
  if expires and expires <= now then
    return fail()
  end
  local epoch = redis.call('GET', KEYS[4]) or '0'
  if epoch == ARGV[4] then
    local ttl = tonumber(ARGV[9])
    if expires then
      ttl = math.max(1, math.min(ttl, math.ceil(expires - now)))
    end
    redis.call('DEL', KEYS[1])
    redis.call(
      'HSET', KEYS[1], 'p', ARGV[5], 'cap', ARGV[6], 'win', ARGV[7], 'exp', ARGV[8], 'b', KEYS[2]
    )
    redis.call('EXPIRE', KEYS[1], ttl)
    for i = 5, #KEYS do
      redis.call('SADD', KEYS[i], ARGV[10])
      -- the index outlives every entry it names, so an eviction always finds them
      if redis.call('TTL', KEYS[i]) < ttl + 5 then
        redis.call('EXPIRE', KEYS[i], ttl + 5)
      end
    end
  end
  return granted(KEYS[2], ARGV[5], capacity, window, now)
end

-- mode == 'auth'
local cached = redis.call('HMGET', KEYS[1], 'p', 'cap', 'win', 'exp', 'neg', 'b')
if cached[1] and cached[6] then
  local expires = tonumber(cached[4])
  if not (expires and expires <= now) then
    return granted(cached[6], cached[1], tonumber(cached[2]), tonumber(cached[3]), now)
  end
  return fail()
end
if cached[5] then
  return fail()
end
-- An address over its failure limit may not make the accounts service look up
-- more keys; cached principals above still pass, so a neighbour behind the same
-- NAT keeps working.
local failures = tonumber(redis.call('GET', KEYS[3]) or '0')
if failures >= tonumber(ARGV[2]) then
  return fail()
end
return reply('miss', redis.call('GET', KEYS[4]) or '0')
