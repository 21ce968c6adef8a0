-- acquire.lua: take a lock if it is free and no earlier waiter is queued.
-- KEYS[1]  the lock's key
-- KEYS[2]  (fencing only) the hash of fence counters
-- ARGV[1]  the owner's token
-- ARGV[2]  the ttl in milliseconds
-- ARGV[3]  the waiter's id, or "" for a single attempt that does not queue
-- ARGV[4]  when the waiter began waiting, in ms: its place in the queue
-- ARGV[5]  how long, in ms, the waiter stays queued unless it tries again
-- Returns 1 if the key holds the token now (set by this call, or by an
-- earlier copy of it whose reply was lost); otherwise -1 less the lock's
-- remaining ttl in ms, at least 1 (2^31-1 for a key with no expiry), or -1
-- when the lock is free but earlier waiters are queued; and the waiter
-- joins the queue or stays alive in it. A waiter granted the lock stays
-- queued, first, until it releases the lock (release.lua takes it out) or
-- its life in the queue ends: were it dropped here, a node that granted it
-- in an attempt that failed elsewhere would serve the next waiter first. With
-- fencing it returns {that, the lock's fence counter here}, the counter as
-- a decimal string ("0" if none).
local v = redis.call("GET", KEYS[1])
local ok = 0
if v == ARGV[1] then
	ok = 1
elseif not v then
	local h = nil
	if redis.call("EXISTS", queue) == 1 then
		h = head(now_ms())
	end
	if h == nil or h == ARGV[3] then
		redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
		ok = 1
	end
end
local code = 1
if ok == 0 then
	if ARGV[3] ~= "" then
		join(ARGV[3], ARGV[4], ARGV[5])
	end
	code = -1
	if v then
		code = -1 - held_for(KEYS[1])
	end
end
if #KEYS == 1 then
	return code
end
return {code, redis.call("HGET", KEYS[2], "c:" .. KEYS[1]) or "0"}
