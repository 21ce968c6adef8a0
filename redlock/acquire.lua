-- acquire.lua: take a lock if it is free and no earlier waiter is queued.
-- KEYS[1]  the lock's key
-- KEYS[2]  (fencing only) the hash of fence counters
-- ARGV[1]  the owner's token
-- ARGV[2]  the ttl in milliseconds
-- ARGV[3]  the waiter's id, or "" for a single attempt that does not queue
-- ARGV[4]  when the waiter began waiting, in ms: its place in the queue
-- ARGV[5]  how long, in ms, the waiter stays queued unless it tries again
-- ARGV[6]  the attempt's number, if the waiter takes a hand-off of the lock
--          when the holder releases it (see pass in queue.lua), or ""; a
--          waiter that has given up meanwhile (see gone) is taken for a
--          single attempt
-- Returns 1 if the key holds the token now (set by this call, or by an
-- earlier copy of it whose reply was lost; a key handed to an earlier
-- attempt of the same waiter, by number, is set to this one's token);
-- otherwise -1 less the lock's
-- remaining ttl in ms, at least 1 (2^31-1 for a key with no expiry), or -1
-- when the lock is free but earlier waiters are queued; and the waiter
-- joins the queue or stays alive in it. A waiter granted the lock stays
-- queued, first, until it releases the lock (release.lua takes it out) or
-- its life in the queue ends: were it dropped here, a node that granted it
-- in an attempt that failed elsewhere would serve the next waiter first. With
-- fencing it returns {that, the lock's fence counter here}, the counter as
-- a decimal string ("0" if none).
local w, n = ARGV[3], ARGV[6] -- the waiter, the attempt's number
if n ~= "" and redis.call("EXISTS", gone(w)) == 1 then
	w, n = "", ""
end
local v = redis.call("GET", KEYS[1])
local ok = 0
local handed, was = nil, nil
if v and v ~= ARGV[1] and n ~= "" then
	handed, was = offered(w)
end
if v == ARGV[1] then
	ok = 1
elseif v and v == handed and was < tonumber(n) then
	redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	ok = 1
elseif not v then
	local h = nil
	if redis.call("EXISTS", queue) == 1 then
		h = head(now_ms())
	end
	if h == nil or h == w then
		redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
		ok = 1
	end
end
local code = 1
if w ~= "" and n ~= "" then
	if ok == 1 then
		offer(w, n, nil, nil, ARGV[5])
	else
		offer(w, n, ARGV[1], ARGV[2], ARGV[5])
	end
end
if ok == 0 then
	if w ~= "" then
		join(w, ARGV[4], ARGV[5])
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
