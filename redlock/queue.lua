-- queue.lua: the waiters' queue of a lock, put before the scripts that use
-- it. The queue of a lock key is two keys in the reserved namespace
-- {quorumlock}: a sorted set of waiter ids by the time each began waiting
-- (the same on every node, so every node orders them alike), a hash of the
-- server time, in ms, until which each is alive, and a hash of the hand-off
-- each waiter of a lock may take: "<ttl ms> <attempt> <token>", its latest
-- failed attempt's, or "0 <attempt> -" once an attempt was granted. A
-- waiter stays alive by trying again; a dead one is dropped when it reaches
-- the head. A waiter that takes hand-offs and has given up leaves a key
-- behind for a while ("{quorumlock}:g:" .. lock key .. ":" .. its id), so
-- that a straggling attempt of its neither queues it again nor registers
-- an offer. The functions act on the queue of KEYS[1] unless use names
-- another lock key.
local lock, queue, alive, offers

-- use makes the functions below act on the lock key k and its queue.
local function use(k)
	lock, queue, alive, offers = k, "{quorumlock}:q:" .. k, "{quorumlock}:w:" .. k, "{quorumlock}:t:" .. k
end
use(KEYS[1])

local function now_ms()
	local t = redis.call("TIME")
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- held_for returns how long, in ms and at least 1, the existing key k is
-- held yet: 2^31-1 if it has no expiry (set by another hand than ours).
local function held_for(k)
	local pttl = redis.call("PTTL", k)
	if pttl < 0 then
		return 2147483647
	end
	return math.max(pttl, 1)
end

-- head returns the first live waiter, or nil, dropping dead ones before it.
local function head(now)
	while true do
		local h = redis.call("ZRANGE", queue, 0, 0)[1]
		if not h then
			return nil
		end
		if tonumber(redis.call("HGET", alive, h) or "0") > now then
			return h
		end
		redis.call("ZREM", queue, h)
		redis.call("HDEL", alive, h)
		redis.call("HDEL", offers, h)
	end
end

-- join queues the waiter w at its place score, or keeps it there, alive
-- for life ms more.
local function join(w, score, life)
	life = tonumber(life)
	redis.call("ZADD", queue, "NX", score, w)
	redis.call("HSET", alive, w, now_ms() + life)
	redis.call("PEXPIRE", queue, 2 * life)
	redis.call("PEXPIRE", alive, 2 * life)
end

-- record returns the waiter w's record of offers (see offer) as its token
-- ("-" if none), attempt and ttl, or nil if there is none.
local function record(w)
	local o = redis.call("HGET", offers, w)
	if not o then
		return nil
	end
	local ttl, n, t = string.match(o, "^(%d+) (%d+) (.*)$")
	return t, tonumber(n), ttl
end

-- offer records that the waiter w takes a hand-off of the lock as its
-- attempt n with token t and ttl ms, unless it has made a later attempt
-- already (a straggling copy of an earlier attempt is not one); or, with t
-- nil, that its attempt n was granted and it takes none. The offers of a
-- lock last twice the life of a waiter.
local function offer(w, n, t, ttl, life)
	local _, was = record(w)
	if was and was > tonumber(n) then
		return
	end
	if t == nil then
		t, ttl = "-", 0
	end
	redis.call("HSET", offers, w, ttl .. " " .. n .. " " .. t)
	redis.call("PEXPIRE", offers, 2 * tonumber(life))
end

-- gone is the key that marks the waiter w as gone from the queue.
local function gone(w)
	return "{quorumlock}:g:" .. lock .. ":" .. w
end

-- offered returns the token, the attempt and the ttl of the hand-off the
-- waiter w takes, or nil.
local function offered(w)
	local t, n, ttl = record(w)
	if t == "-" then
		return nil
	end
	return t, n, ttl
end

-- leave takes the waiter w out of the queue.
local function leave(w)
	redis.call("ZREM", queue, w)
	redis.call("HDEL", alive, w)
	redis.call("HDEL", offers, w)
end

-- wake tells the new head, if the lock is free, that its turn has come, on
-- the channel named like the queue.
local function wake()
	if redis.call("EXISTS", lock) == 0 and redis.call("EXISTS", queue) == 1 then
		local h = head(now_ms())
		if h then
			redis.call("PUBLISH", queue, h)
		end
	end
end

-- uptime returns the server's uptime in whole seconds, as INFO reports it,
-- or "-" if it does not.
local function uptime()
	local info = redis.pcall("INFO", "server")
	if type(info) ~= "string" then
		return "-"
	end
	return string.match(info, "uptime_in_seconds:(%d+)") or "-"
end

-- pass is wake for a lock just released by the owner of token released:
-- if the new head takes a hand-off (see offer) of a token other than that,
-- the lock is set to it and the message names the head, its attempt and
-- the server's uptime; otherwise the head is woken to try again.
local function pass(released)
	if redis.call("EXISTS", queue) == 0 then
		return
	end
	local h = head(now_ms())
	if not h then
		return
	end
	local t, n, ttl = offered(h)
	if t and t ~= released then
		redis.call("SET", lock, t, "PX", ttl)
		redis.call("PUBLISH", queue, h .. " " .. n .. " " .. uptime())
		return
	end
	redis.call("PUBLISH", queue, h)
end

-- release deletes the lock if it holds token, or, given the waiter w, the
-- token of a hand-off w takes; takes w, if given, out of the queue; and
-- then passes the lock on, or wakes the head if w left and the lock is
-- free. It returns the value the lock held.
local function release(token, w)
	local v = redis.call("GET", lock)
	local free = v ~= false and (v == token or (w ~= nil and v == offered(w)))
	if free then
		redis.call("DEL", lock)
	end
	if w then
		leave(w)
	end
	if free then
		pass(v)
	elseif w then
		wake()
	end
	return v
end
