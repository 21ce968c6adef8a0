-- fence.lua: raise a lock's fence counter to the fence its holder drew.
-- KEYS[1]  the lock's key
-- KEYS[2]  the hash of fence counters
-- ARGV[1]  the owner's token
-- ARGV[2]  the fence, a decimal string
-- Returns 1 if the counter is now the fence, raised by this owner (by this
-- call or an earlier copy whose reply was lost); 0 if the key does not hold
-- the token, or the counter already reached the fence under another owner.
-- Counters are decimal strings without leading zeros, compared exactly.
local function below(a, b)
	if #a ~= #b then
		return #a < #b
	end
	return a < b
end
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
	return 0
end
local c = redis.call("HGET", KEYS[2], "c:" .. KEYS[1]) or "0"
if below(c, ARGV[2]) then
	redis.call("HSET", KEYS[2], "c:" .. KEYS[1], ARGV[2], "o:" .. KEYS[1], ARGV[1])
	return 1
end
if c == ARGV[2] and redis.call("HGET", KEYS[2], "o:" .. KEYS[1]) == ARGV[1] then
	return 1
end
return 0
