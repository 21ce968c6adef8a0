-- acquire.lua: take a lock if it is free and no earlier waiter is queued.
-- KEYS[1]  the lock's key
-- ARGV[2]  the owner's token
-- ARGV[3]  the ttl in milliseconds
-- ARGV[4]  "" without fencing; with fencing, anything else (the lock's
--          fence is not drawn yet)
-- ARGV[5]  the waiter's id, or "" for a single attempt that does not queue
-- ARGV[6]  when the waiter began waiting, in ms: its place in the queue
-- ARGV[7]  how long, in ms, the waiter stays queued unless it tries again
-- ARGV[8]  the attempt's number, if the waiter takes a hand-off of the lock
--          when the holder releases it (see pass in queue.lua), or ""
-- A waiter that has left the queue meanwhile (see gone in queue.lua) is
-- taken for a single attempt: this is a straggling copy of one of its
-- attempts.
-- Returns 1 if the key holds the token now (set by this call, or by an
-- earlier copy of it whose reply was lost; a key handed to an earlier
-- attempt of the same waiter, by number, is set to this one's token), or
-- with fencing {1, the lock's fence counter here} (see fences.lua), the
-- counter as a decimal string; a lock granted that had no counter gets
-- one, at the node's high-water mark. Otherwise it returns {code, the
-- counter with fencing or "", the server's time in ms}, code being -1 less
-- the lock's remaining ttl in ms, at least 1 (2^31-1 for a key with no
-- expiry), or -1 when the lock is free but earlier waiters are queued: the
-- waiter joins the queue or stays alive in it, and the client learns the
-- nodes' time for the places of its waiters. A waiter granted the lock
-- stays queued, first, until it releases the lock (release.lua takes it
-- out) or its life in the queue ends, and its grant keeps it alive: were it
-- dropped here, a node that granted it in an attempt that failed elsewhere
-- would serve the next waiter first.
local token, ttl = ARGV[2], ARGV[3]
local w, n = ARGV[5], ARGV[8] -- the waiter, the attempt's number
if w ~= "" and has_gone(w) then
	w, n = "", ""
end
local v = redis.call("GET", KEYS[1])
local ok = 0
local handed, was = nil, nil
if v and v ~= token and n ~= "" then
	handed, was = offered(w)
end
if v == token then
	ok = 1
elseif v and v == handed and was < tonumber(n) then
	redis.call("SET", KEYS[1], token, "PX", ttl)
	ok = 1
elseif not v then
	local h = nil
	if redis.call("EXISTS", queue) == 1 then
		h = head(now_ms())
	end
	if h == nil or h == w then
		redis.call("SET", KEYS[1], token, "PX", ttl)
		ok = 1
	end
end
if w ~= "" and n ~= "" then
	if ok == 1 then
		offer(w, n, nil, nil, ARGV[7])
	else
		offer(w, n, token, ttl, ARGV[7])
	end
end
if ok == 1 then
	if w ~= "" then
		keep_alive(w, ARGV[7])
	end
	if ARGV[4] == "" then
		return reply(1)
	end
	local c, _, own = counter(KEYS[1])
	if own then
		redis.call("PEXPIRE", fence_of(KEYS[1]), ttl)
	else
		redis.call("SET", fence_of(KEYS[1]), c .. " -", "PX", ttl)
	end
	return reply({ 1, c })
end
if w ~= "" then
	join(w, ARGV[6], ARGV[7])
end
local code = -1
if v then
	code = -1 - held_for(KEYS[1])
end
local c = ""
if ARGV[4] ~= "" then
	c = counter(KEYS[1])
end
return reply({ code, c, now_ms() })
