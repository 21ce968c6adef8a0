-- release.lua: delete a lock, only if this owner still holds it, and hand
-- it to the first waiter queued for it or tell that waiter (see pass).
-- KEYS[1]  the lock's key
-- ARGV[1]  the owner's token
-- ARGV[2]  (optional) the owner's id as a waiter, which leaves the queue,
--          whether or not the node still holds the token, and releases a
--          key handed to an earlier attempt of its there
-- Returns 1 if deleted, 0 if the key is absent or holds another token.
if release(ARGV[1], ARGV[2]) == ARGV[1] then
	return 1
end
return 0
