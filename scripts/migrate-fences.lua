-- migrate-fences.lua: carry the fence counters of quorumlock before its
-- per-key counters (one hash per key prefix, "<prefix>{quorumlock}:fence",
-- fields "c:<lock key>" and "o:<lock key>") over to the node's high-water
-- mark of fences, "{quorumlock}:fence", so that every fence drawn from then
-- on is higher than any drawn before. Run it once on every node, after the
-- last client of the old version has stopped and before the first of the
-- new one locks with fencing:
--
--   redis-cli -h HOST -p PORT --eval scripts/migrate-fences.lua \
--     '{quorumlock}:fence' 'app:{quorumlock}:fence' ...
--
-- KEYS  the old hashes: "{quorumlock}:fence" for clients without a key
--       prefix, and "<prefix>{quorumlock}:fence" for each prefix in use
-- Deletes each hash, and sets the high-water mark to the highest counter
-- found in them if that is higher. Returns the high-water mark. Running it
-- again changes nothing.
local function below(a, b)
	if #a ~= #b then
		return #a < #b
	end
	return a < b
end
local high = "0"
for _, k in ipairs(KEYS) do
	if redis.call("TYPE", k).ok == "hash" then
		local fields = redis.call("HGETALL", k)
		for i = 1, #fields, 2 do
			if string.sub(fields[i], 1, 2) == "c:" and below(high, fields[i + 1]) then
				high = fields[i + 1]
			end
		end
		redis.call("DEL", k)
	end
end
local mark = "{quorumlock}:fence"
local now = redis.call("GET", mark) or "0"
if below(now, high) then
	redis.call("SET", mark, high)
	return high
end
return now
