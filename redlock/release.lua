-- release.lua: delete a lock, only if this owner still holds it.
-- KEYS[1]  the lock's key
-- ARGV[1]  the owner's token
-- Returns 1 if deleted, 0 if the key is absent or holds another token.
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
