-- fence.lua: raise a lock's fence counter to the fence its holder drew.
-- KEYS[1]  the lock's key
-- ARGV[2]  the owner's token
-- ARGV[3]  the ttl in milliseconds
-- ARGV[4]  the fence, a decimal string
-- Returns 1 if the counter is now the fence, raised by this owner (by this
-- call or an earlier copy whose reply was lost); 0 if the key does not hold
-- the token, or the counter (see fences.lua) has reached the fence
-- otherwise.
if redis.call("GET", KEYS[1]) ~= ARGV[2] then
	return reply(0)
end
local c, o, own = counter(KEYS[1])
if below(c, ARGV[4]) then
	raise(KEYS[1], ARGV[4], ARGV[2], ARGV[3])
	return reply(1)
end
if own and c == ARGV[4] and o == ARGV[2] then
	return reply(1)
end
return reply(0)
