-- node.lua: put before every script. It tells the client when the server it
-- last saw has been replaced by another incarnation: restarted, or its data
-- lost (FLUSHALL), which may have forgotten lock keys.
--
-- The incarnation is the value of the key {quorumlock}:incarnation: the
-- server's run id (INFO), a dot and the server time, in microseconds, at
-- which the key was made. A script sent by its digest (EVALSHA) reads it. A
-- script sent by its source (EVAL) also checks it against the server's run
-- id and makes a new one if they differ: the script cache empties when the
-- server restarts, so after a restart some script of ours runs by its
-- source before any runs by its digest, and that one finds the new run id.
-- A server that lost the key (restarted without its data, or flushed) gets
-- a new one from the first script to run.
-- ARGV[1]  the incarnation the client last saw on this server, "" if none;
--          after a "!" when the script is sent by its source
-- A script's reply is returned as it is when the incarnation is the one the
-- client saw, and otherwise as {"{quorumlock}:incarnation", the
-- incarnation, the reply}.
local INCARNATION = "{quorumlock}:incarnation"
local seen, by_source = ARGV[1], false
if string.sub(seen, 1, 1) == "!" then
	seen, by_source = string.sub(seen, 2), true
end

-- run_id returns the server's run id from INFO, or nil if INFO is refused
-- (an ACL) or does not report it.
local function run_id()
	local info = redis.pcall("INFO", "server")
	if type(info) ~= "string" then
		return nil
	end
	return string.match(info, "run_id:(%x+)")
end

-- incarnation returns the server's incarnation, making a new one if the
-- key is missing or, for a script sent by its source, names another run
-- id. Without a run id (INFO refused, or a server that does not tell it) a
-- restart that kept the data is not told: such a server cannot be vetted
-- either, and is refused while the client's quarantine is on.
local function incarnation()
	local v = redis.call("GET", INCARNATION)
	if v and not by_source then
		return v
	end
	local id = run_id()
	if v and (not id or string.sub(v, 1, #id + 1) == id .. ".") then
		return v
	end
	local t = redis.call("TIME")
	v = (id or "-") .. "." .. t[1] .. string.format("%06d", tonumber(t[2]))
	redis.call("SET", INCARNATION, v)
	return v
end
local incarnation_now = incarnation()

-- reply wraps a script's reply r for the client (see above).
local function reply(r)
	if incarnation_now == seen then
		return r
	end
	return { INCARNATION, incarnation_now, r }
end
