-- All windows of one request in one atomic step (one round trip).
--
-- The same sliding-window-counter algorithm and key layout as the `limits`
-- package's acquire_sliding_window.lua (so its strategies can read the counters,
-- e.g. for `manage.py ratelimit_status`), extended to N windows that are granted
-- all together or not at all: a request refused by its tenant window does not
-- use up its key window.
--
-- KEYS[2i-1], KEYS[2i]: previous and current counter of window i.
-- ARGV[1]: cost, ARGV[2]: N, then per window: limit, expiry (s), enforced (1/0).
-- Times are milliseconds. Returns {allowed, then per window: previous count,
-- previous ttl, current count, current ttl, over (1/0)}.

local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local rows = {}
local allowed = 1

for i = 1, n do
    local previous_key, current_key = KEYS[2 * i - 1], KEYS[2 * i]
    local base = 2 + (i - 1) * 3
    local limit = tonumber(ARGV[base + 1])
    local expiry = tonumber(ARGV[base + 2]) * 1000
    local enforced = tonumber(ARGV[base + 3])

    local current_ttl = tonumber(redis.call('pttl', current_key))
    if current_ttl > 0 and current_ttl < expiry then
        -- The current window ended: it becomes the previous one.
        redis.call('rename', current_key, previous_key)
        redis.call('set', current_key, 0, 'PX', current_ttl + expiry)
    end

    local previous_count = tonumber(redis.call('get', previous_key)) or 0
    local previous_ttl = tonumber(redis.call('pttl', previous_key)) or 0
    local current_count = tonumber(redis.call('get', current_key)) or 0
    current_ttl = tonumber(redis.call('pttl', current_key)) or 0
    if previous_ttl < 0 then previous_ttl = 0 end
    if current_ttl < 0 then current_ttl = 0 end

    local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
    local over = 0
    if weighted + cost > limit then
        over = 1
        if enforced == 1 then allowed = 0 end
    end
    rows[i] = {previous_count, previous_ttl, current_count, current_ttl, over, expiry}
end

local result = {allowed}
for i = 1, n do
    local row = rows[i]
    if allowed == 1 then
        local current_key = KEYS[2 * i]
        if row[4] > 0 then
            redis.call('incrby', current_key, cost)
        else
            redis.call('set', current_key, cost, 'PX', row[6] * 2)
            row[4] = row[6] * 2
        end
        row[3] = row[3] + cost
    end
    for j = 1, 5 do result[#result + 1] = row[j] end
end
return result
