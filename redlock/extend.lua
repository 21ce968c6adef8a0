-- extend.lua: reset the expiry of a lock, only if this owner still holds it.
-- KEYS[1]  the lock's key
-- ARGV[1]  the owner's token
-- ARGV[2]  the new ttl in milliseconds
-- Returns 1 if extended, 0 if the key is absent or holds another token.
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
