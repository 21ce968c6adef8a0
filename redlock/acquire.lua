-- acquire.lua: take a lock if it is free.
-- KEYS[1]  the lock's key
-- KEYS[2]  (fencing only) the hash of fence counters
-- ARGV[1]  the owner's token
-- ARGV[2]  the ttl in milliseconds
-- Returns 1 if the key holds the token now (set by this call, or by an
-- earlier copy of it whose reply was lost), 0 if it holds another owner's.
-- With fencing it returns {that, the lock's fence counter here}, the
-- counter as a decimal string ("0" if none).
local v = redis.call("GET", KEYS[1])
local ok = 1
if v ~= ARGV[1] then
	if v then
		ok = 0
	else
		redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	end
end
if #KEYS == 1 then
	return ok
end
return {ok, redis.call("HGET", KEYS[2], "c:" .. KEYS[1]) or "0"}
