-- heal.lua: set a lock again on a node that lost it (restarted without its
-- data, flushed), once its holder has shown a quorum still holds it.
-- KEYS[1]  the lock's key
-- ARGV[2]  the owner's token
-- ARGV[3]  the ttl in milliseconds
-- ARGV[4]  the lock's fence, a decimal string, or "" without fencing
-- Returns 1 if the key holds the token now, 0 if it holds another owner's.
-- With fencing, the lock's counter (see fences.lua) is raised to the fence
-- if below it.
local v = redis.call("GET", KEYS[1])
if v == ARGV[2] then
	return reply(1)
end
if v then
	return reply(0)
end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
if ARGV[4] ~= "" and below((counter(KEYS[1])), ARGV[4]) then
	raise(KEYS[1], ARGV[4], ARGV[2], ARGV[3])
end
return reply(1)
