-- distillguard quota release: free the lease's concurrency slot and reconcile its token
-- charge with the actual usage. Idempotent: releasing twice changes nothing.
-- Mirrors MemoryQuotas._release in quotas_memory.py.
-- KEYS: log1, tok1, fly1[, log2, tok2, fly2] (as in quotas_acquire.lua)
-- ARGV: lease, actual_tokens (-1 = keep the estimate), est_tokens, window_ms

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = ARGV[1]
local actual = tonumber(ARGV[2])
local est = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local n = #KEYS / 3

for i = 0, n - 1 do
  local log, tok, fly = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  redis.call('ZREM', fly, lease)
  if actual >= 0 then
    local at = redis.call('ZSCORE', log, lease)
    if at and tonumber(at) > now - window then
      -- the admission charge is still in the window: set it to the actual usage
      local cur = tonumber(redis.call('HGET', tok, lease) or '0')
      redis.call('HSET', tok, lease, actual)
      if actual ~= cur then redis.call('HINCRBY', tok, '_sum', actual - cur) end
    elseif actual > est then
      -- the admission charge has left the window: charge the excess now, once
      local id = lease .. ':o'
      if not redis.call('ZSCORE', log, id) then
        redis.call('ZADD', log, now, id)
        redis.call('HSET', tok, id, actual - est)
        redis.call('HINCRBY', tok, '_sum', actual - est)
        redis.call('PEXPIRE', log, window + 1000)
        redis.call('PEXPIRE', tok, window + 1000)
      end
    end
  end
end
return 1
