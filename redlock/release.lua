-- release.lua: delete a lock, only if this owner still holds it, and tell
-- the first waiter queued for it.
-- KEYS[1]  the lock's key
-- ARGV[1]  the owner's token
-- ARGV[2]  (optional) the owner's id as a waiter, which leaves the queue,
--          whether or not the node still holds the token
-- Returns 1 if deleted, 0 if the key is absent or holds another token.
local mine = redis.call("GET", KEYS[1]) == ARGV[1]
if mine then
	redis.call("DEL", KEYS[1])
end
if ARGV[2] then
	leave(ARGV[2])
end
if mine or ARGV[2] then
	wake()
end
if mine then
	return 1
end
return 0
