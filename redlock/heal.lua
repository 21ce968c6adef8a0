-- heal.lua: set a lock again on a node that lost it (restarted without its
-- data, flushed), once its holder has shown a quorum still holds it.
-- KEYS[1]  the lock's key
-- KEYS[2]  (fencing only) the hash of fence counters
-- ARGV[1]  the owner's token
-- ARGV[2]  the ttl in milliseconds
-- ARGV[3]  (fencing only) the lock's fence, a decimal string
-- Returns 1 if the key holds the token now, 0 if it holds another owner's.
-- With fencing, the counter is raised to the fence if below it.
-- Counters are decimal strings without leading zeros, compared exactly.
local function below(a, b)
	if #a ~= #b then
		return #a < #b
	end
	return a < b
end
local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then
	return 1
end
if v then
	return 0
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
if #KEYS == 2 then
	local c = redis.call("HGET", KEYS[2], "c:" .. KEYS[1]) or "0"
	if below(c, ARGV[3]) then
		redis.call("HSET", KEYS[2], "c:" .. KEYS[1], ARGV[3], "o:" .. KEYS[1], ARGV[1])
	end
end
return 1
