-- release.lua: delete a lock, only if this owner still holds it, and hand
-- it to the first waiter queued for it or tell that waiter (see pass).
-- KEYS[1]  the lock's key
-- ARGV[2]  the owner's token
-- ARGV[3]  (optional) the owner's id as a waiter
-- ARGV[4]  with ARGV[3]: how long, in ms, the waiter is marked gone as it
--          leaves the queue (0: not marked), whether or not the node still
--          holds the token, releasing a key handed to an earlier attempt of
--          its there too; or "" for the undo of the waiter's failed
--          attempt, after which it stays queued and is not told that the
--          lock is free
-- Returns 1 if deleted, 0 if the key is absent or holds another token.
local w = ARGV[3]
if w == "" then
	w = nil
end
if release(ARGV[2], w, ARGV[4]) == ARGV[2] then
	return reply(1)
end
return reply(0)
