-- queue.lua: the waiters' queue of a lock, put before the scripts that use
-- it. The queue of the lock KEYS[1] is two keys in the reserved namespace
-- {quorumlock}: a sorted set of waiter ids by the time each began waiting
-- (the same on every node, so every node orders them alike), and a hash of
-- the server time, in ms, until which each is alive. A waiter stays alive by
-- trying again; a dead one is dropped when it reaches the head.
local queue = "{quorumlock}:q:" .. KEYS[1]
local alive = "{quorumlock}:w:" .. KEYS[1]

local function now_ms()
	local t = redis.call("TIME")
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
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

-- leave takes the waiter w out of the queue.
local function leave(w)
	redis.call("ZREM", queue, w)
	redis.call("HDEL", alive, w)
end

-- wake tells the new head, if the lock is free, that its turn has come, on
-- the channel named like the queue.
local function wake()
	if redis.call("EXISTS", KEYS[1]) == 0 and redis.call("EXISTS", queue) == 1 then
		local h = head(now_ms())
		if h then
			redis.call("PUBLISH", queue, h)
		end
	end
end
