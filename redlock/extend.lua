-- extend.lua: reset the expiry of a lock this owner holds.
-- KEYS[1]  the lock's key
-- ARGV[2]  the owner's token
-- ARGV[3]  the ttl in milliseconds
-- Returns 1 if extended, 0 if the key is absent, -1 if it holds another
-- owner's token.
local v = redis.call("GET", KEYS[1])
if v == ARGV[2] then
	return reply(redis.call("PEXPIRE", KEYS[1], ARGV[3]))
end
if v then
	return reply(-1)
end
return reply(0)
