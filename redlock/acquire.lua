-- acquire.lua: take a lock if it is free.
-- KEYS[1]  the lock's key
-- ARGV[1]  the owner's token
-- ARGV[2]  the ttl in milliseconds
-- Returns 1 if the key holds the token now (set by this call, or by an
-- earlier copy of it whose reply was lost), 0 if it holds another owner's.
local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then
	return 1
end
if v then
	return 0
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
