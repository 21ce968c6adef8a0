-- queue.lua: the waiters' queue of a lock, put before the scripts that use
-- it (after node.lua and fences.lua). The queue of a lock key is three keys in the
-- reserved namespace {quorumlock}: a sorted set of waiter ids by the time
-- each began waiting (by the nodes' clocks, as the client estimated it
-- from their answers, and the same on every node, so every node orders them
-- alike), a hash of the server time, in ms,
-- until which each is alive, and a hash of the hand-off each waiter of a
-- lock may take: "<ttl ms> <attempt> <token>", its latest failed
-- attempt's, or "0 <attempt> -" once an attempt was granted. A waiter stays
-- alive by trying again; a dead one is dropped when it reaches the head.
-- A waiter that has left the queue (given up, or released the lock it was
-- granted) leaves a key behind for a while ("{quorumlock}:g:" .. lock key
-- .. ":" .. its id), so that a straggling attempt of its neither queues it
-- again nor registers an offer.
--
-- A waiter hears of its turn on a channel of its own, "{quorumlock}:c:" ..
-- its id: "w <lock key>" when the lock is free and it is first, "h <attempt>
-- <incarnation> <lock key>" when the lock was handed to it. The lock is
-- handed to it only if the message reached it: a waiter whose process has
-- died, or that cannot subscribe, is not handed the lock, and a waiter
-- that cannot be told finds the lock when it tries again.
--
-- The functions act on the queue of KEYS[1] unless use names another lock
-- key.
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

-- gone is the key that marks the waiter w as gone from the queue.
local function gone(w)
	return "{quorumlock}:g:" .. lock .. ":" .. w
end

-- has_gone reports whether the waiter w has left the queue for good.
local function has_gone(w)
	return redis.call("EXISTS", gone(w)) == 1
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

-- offered returns the token, the attempt and the ttl of the hand-off the
-- waiter w takes, or nil.
local function offered(w)
	local t, n, ttl = record(w)
	if t == "-" then
		return nil
	end
	return t, n, ttl
end

-- keep_alive keeps the waiter w alive for life ms more, if it is queued:
-- for an attempt of its that was granted here, which may have failed
-- elsewhere.
local function keep_alive(w, life)
	if redis.call("ZSCORE", queue, w) then
		redis.call("HSET", alive, w, now_ms() + tonumber(life))
	end
end

-- leave takes the waiter w out of the queue; for ms > 0 it is marked gone
-- for that long.
local function leave(w, ms)
	redis.call("ZREM", queue, w)
	redis.call("HDEL", alive, w)
	redis.call("HDEL", offers, w)
	if ms and tonumber(ms) > 0 then
		redis.call("SET", gone(w), 1, "PX", ms)
	end
end

-- tell publishes message on the waiter w's channel and reports whether it
-- reached a subscriber. A publish refused (an ACL without the channel)
-- reaches no one; it never fails the script, which has changed keys by
-- then.
local function tell(w, message)
	local n = redis.pcall("PUBLISH", "{quorumlock}:c:" .. w, message)
	return type(n) == "number" and n > 0
end

-- pass hands a lock just released by the owner of token released to the
-- first live waiter, if it takes a hand-off of a token other than that and
-- hears of it: the lock is set to that token. A head that takes none is
-- told that the lock is free, unless it is self, the waiter whose own
-- attempt is being undone: the lock is its to take, and it knows.
local function pass(released, self)
	if redis.call("EXISTS", queue) == 0 then
		return
	end
	local h = head(now_ms())
	if not h or h == self then
		return
	end
	local t, n, ttl = offered(h)
	if t and t ~= released then
		if tell(h, "h " .. n .. " " .. incarnation_now .. " " .. lock) then
			redis.call("SET", lock, t, "PX", ttl)
		end
		return
	end
	tell(h, "w " .. lock)
end

-- wake tells the new head, if the lock is free, that its turn has come.
local function wake()
	if redis.call("EXISTS", lock) == 0 and redis.call("EXISTS", queue) == 1 then
		local h = head(now_ms())
		if h then
			tell(h, "w " .. lock)
		end
	end
end

-- release deletes the lock if it holds token and with it the lock's fence
-- counter. With the waiter w given, ms says what becomes of w: for ms ""
-- (the undo of w's failed attempt) it stays queued and is not told;
-- otherwise it leaves the queue, marked gone for ms, and a lock that holds
-- the token of a hand-off w takes is deleted too. Then the lock is passed on, or the head woken if w
-- left and the lock is free. It returns the value the lock held.
local function release(token, w, ms)
	local stays = w ~= nil and ms == ""
	local v = redis.call("GET", lock)
	local free = v ~= false and (v == token or (w ~= nil and not stays and v == offered(w)))
	if free then
		redis.call("DEL", lock, fence_of(lock))
	end
	if w and not stays then
		leave(w, ms)
	end
	if free then
		pass(v, stays and w or nil)
	elseif w and not stays then
		wake()
	end
	return v
end
