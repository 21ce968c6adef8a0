-- queue.lua: the waiters' queue of a lock, put before the scripts that use
-- it. The queue of a lock key is two keys in the reserved namespace
-- {quorumlock}: a sorted set of waiter ids by the time each began waiting
-- (the same on every node, so every node orders them alike), and a hash of
-- the server time, in ms, until which each is alive. A waiter stays alive by
-- trying again; a dead one is dropped when it reaches the head. The
-- functions act on the queue of KEYS[1] unless use names another lock key.
local lock, queue, alive

-- use makes the functions below act on the lock key k and its queue.
local function use(k)
	lock, queue, alive = k, "{quorumlock}:q:" .. k, "{quorumlock}:w:" .. k
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

-- leave takes the waiter w out of the queue.
local function leave(w)
	redis.call("ZREM", queue, w)
	redis.call("HDEL", alive, w)
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
