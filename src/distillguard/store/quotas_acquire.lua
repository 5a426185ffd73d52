-- distillguard quota admission: all subjects (account, then organisation) checked and
-- charged in one atomic step, so concurrent callers on any number of replicas can never
-- be admitted past a limit. Mirrors MemoryQuotas._acquire in quotas_memory.py exactly.
--
-- Per subject three keys (same hash tag, so this also runs on Redis Cluster):
--   log  ZSET  charge id -> admission time (ms); a charge id is a lease id, or
--              "<lease id>:o" for tokens charged after the admission left the window
--   tok  HASH  charge id -> tokens; "_sum" = tokens in the window; "_req" = requests
--   fly  ZSET  lease id -> lease expiry (ms): the concurrency slots in use
-- KEYS: log1, tok1, fly1[, log2, tok2, fly2]
-- ARGV: lease, est_tokens, window_ms, ttl_ms, shadow (0|1), concurrency_retry_ms,
--       then per subject: name, rpm, tpm, concurrency (-1 = unlimited)
-- Returns {ok, reason, retry_ms (-1 = never), now_ms, remaining_requests, remaining_tokens}
-- (remaining: the smallest over the subjects; -1 = unlimited).

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = ARGV[1]
local est = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local shadow = ARGV[5] == '1'
local conc_retry = tonumber(ARGV[6])
local n = #KEYS / 3
local CHUNK = 500

local function expire(log, tok)
  while true do
    local old = redis.call('ZRANGEBYSCORE', log, '-inf', now - window, 'LIMIT', 0, CHUNK)
    if #old == 0 then return end
    local vals = redis.call('HMGET', tok, unpack(old))
    local s, r = 0, 0
    for j = 1, #old do
      s = s + (tonumber(vals[j]) or 0)
      if string.sub(old[j], -2) ~= ':o' then r = r + 1 end
    end
    -- (never HINCRBY by -0: Lua prints it as "-0", which Redis refuses)
    if s ~= 0 then redis.call('HINCRBY', tok, '_sum', -s) end
    if r ~= 0 then redis.call('HINCRBY', tok, '_req', -r) end
    redis.call('HDEL', tok, unpack(old))
    redis.call('ZREM', log, unpack(old))
  end
end

-- ms until enough token charges leave the window for `need` tokens to fit
local function token_retry(log, tok, need)
  local freed, start = 0, 0
  while true do
    local ids = redis.call('ZRANGE', log, start, start + CHUNK - 1, 'WITHSCORES')
    if #ids == 0 then return window end
    local names = {}
    for j = 1, #ids, 2 do names[#names + 1] = ids[j] end
    local vals = redis.call('HMGET', tok, unpack(names))
    for j = 1, #names do
      freed = freed + (tonumber(vals[j]) or 0)
      if freed >= need then return tonumber(ids[2 * j]) + window - now end
    end
    start = start + CHUNK
  end
end

local ok, reason, retry, never = true, '', 0, false
local rem_req, rem_tok = -1, -1
for i = 0, n - 1 do
  local log, tok, fly = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  local name = ARGV[7 + 4 * i]
  local rpm = tonumber(ARGV[8 + 4 * i])
  local tpm = tonumber(ARGV[9 + 4 * i])
  local conc = tonumber(ARGV[10 + 4 * i])
  expire(log, tok)
  redis.call('ZREMRANGEBYSCORE', fly, '-inf', now)
  local req = tonumber(redis.call('HGET', tok, '_req') or '0')
  local sum = tonumber(redis.call('HGET', tok, '_sum') or '0')
  local function fail(what, ms)
    if ok then reason = name .. '_' .. what end
    ok = false
    if ms < 0 then never = true elseif ms > retry then retry = ms end
  end
  if rpm >= 0 then
    if req + 1 > rpm then
      if rpm == 0 then
        fail('rpm', -1)
      else
        -- the request charge whose expiry makes room (overflow charges ignored: a lower bound)
        local e = redis.call('ZRANGE', log, req - rpm, req - rpm, 'WITHSCORES')
        fail('rpm', e[2] and (tonumber(e[2]) + window - now) or window)
      end
    end
    local left = rpm - req - 1
    if rem_req < 0 or left < rem_req then rem_req = math.max(left, 0) end
  end
  if tpm >= 0 then
    if sum + est > tpm then
      if est > tpm then fail('tpm', -1) else fail('tpm', token_retry(log, tok, sum + est - tpm)) end
    end
    local left = tpm - sum - est
    if rem_tok < 0 or left < rem_tok then rem_tok = math.max(left, 0) end
  end
  if conc >= 0 and redis.call('ZCARD', fly) + 1 > conc then
    fail('concurrency', conc == 0 and -1 or conc_retry)
  end
end

if ok or shadow then
  local keep = math.max(window, ttl) + 1000
  for i = 0, n - 1 do
    local log, tok, fly = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
    redis.call('ZADD', log, now, lease)
    redis.call('HSET', tok, lease, est)
    if est ~= 0 then redis.call('HINCRBY', tok, '_sum', est) end
    redis.call('HINCRBY', tok, '_req', 1)
    redis.call('ZADD', fly, now + ttl, lease)
    redis.call('PEXPIRE', log, keep)
    redis.call('PEXPIRE', tok, keep)
    redis.call('PEXPIRE', fly, keep)
  end
end
if never then retry = -1 end
return {ok and 1 or 0, reason, retry, now, rem_req, rem_tok}
