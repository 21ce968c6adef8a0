-- release.lua: delete a lock, only if this owner still holds it, and tell
-- the first waiter queued for it.
-- KEYS[1]  the lock's key
-- ARGV[1]  the owner's token
-- Returns 1 if deleted, 0 if the key is absent or holds another token.
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
	return 0
end
redis.call("DEL", KEYS[1])
wake()
return 1
