-- status.lua: read locks without changing them.
-- KEYS  the locks' keys: one lock's, or a semaphore's slots'
-- Returns, for each key in turn, two values in one flat array: its value or
-- false, and its remaining ttl in ms (-2: no key, -1: no expiry).
local out = {}
for i = 1, #KEYS do
	out[2 * i - 1] = redis.call("GET", KEYS[i])
	out[2 * i] = redis.call("PTTL", KEYS[i])
end
return reply(out)
