-- rights.lua: tell whether the client's Redis user may publish on the
-- waiters' channels (see queue.lua), as a release does.
-- Returns "" if it may, or the server's refusal.
local r = redis.pcall("PUBLISH", "{quorumlock}:c:-", "")
if type(r) == "table" and r.err then
	return reply(r.err)
end
return reply("")
