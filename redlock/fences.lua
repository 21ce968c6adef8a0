-- fences.lua: the fence counters, put before the scripts that read, raise
-- or delete them. A lock key k may have a counter, "{quorumlock}:f:" .. k,
-- holding "<fence> <owner's token>" ("<fence> -" as made by an acquisition,
-- before any raise), with the lock's ttl; and the node has one high-water
-- mark, FENCE_HIGH, the highest fence ever raised on it for any lock. A lock
-- without a counter counts as being at the high-water mark. So what a node
-- keeps for fencing is bounded by the locks in use, and every reading of a
-- lock's counter is at least every fence raised for it on the node: the
-- high-water mark is, and a counter is made from it and only ever raised.
-- Counters are decimal strings without leading zeros, compared exactly.
local FENCE_HIGH = "{quorumlock}:fence"

-- fence_of is the key of the fence counter of the lock key k.
local function fence_of(k)
	return "{quorumlock}:f:" .. k
end

-- below reports whether the counter a is below b.
local function below(a, b)
	if #a ~= #b then
		return #a < #b
	end
	return a < b
end

-- counter returns the fence counter of the lock key k and its owner, and
-- true; or, if k has none, the node's high-water mark, nil and false.
local function counter(k)
	local v = redis.call("GET", fence_of(k))
	if v then
		local c, o = string.match(v, "^(%d+) (.*)$")
		return c, o, true
	end
	return redis.call("GET", FENCE_HIGH) or "0", nil, false
end

-- raise sets the counter of the lock key k to the fence f, raised by owner,
-- for ttl ms, and the high-water mark to f if it is below.
local function raise(k, f, owner, ttl)
	redis.call("SET", fence_of(k), f .. " " .. owner, "PX", ttl)
	if below(redis.call("GET", FENCE_HIGH) or "0", f) then
		redis.call("SET", FENCE_HIGH, f)
	end
end
