-- node.lua: put before every script. It tells the client when the server it
-- last saw has been replaced by another incarnation: restarted, or its data
-- lost (FLUSHALL), which may have forgotten lock keys. Data replaced without
-- a restart (a full resync as a replica, a resumed snapshot of a machine)
-- keeps the run id and the key, and is not told: nodes are independent
-- masters.
--
-- The incarnation is kept in the key {quorumlock}:incarnation as "<run
-- id>.<time made, in microseconds> <LASTSAVE when last checked> <the
-- second it was last checked>". A script checks the run id against INFO
-- unless the server's LASTSAVE is the one kept and was earlier than the
-- second the key was last checked, and always when it is sent by its
-- source (EVAL); it makes a new incarnation if the run ids differ. Two
-- signals, each enough: LASTSAVE is the time of the server's last save, or
-- of its start, so it differs after every restart, and a restart in the
-- same second as the kept LASTSAVE comes after the key was last checked, in
-- a later second, unless the server's clock went back; and the script cache
-- empties on every restart, so the first script of ours that runs after a
-- restart runs by its source, unless someone else loaded it first. A server
-- that refuses LASTSAVE (an ACL) or does not know it (renamed away) has
-- every script check INFO. A server that lost the key (restarted without
-- its data, or flushed) gets a new incarnation from the first script to
-- run.
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

-- denied reports whether r, what redis.pcall returned, is the refusal of
-- an ACL, rather than a server that does not know the command.
local function denied(r)
	if type(r) ~= "table" or not r.err then
		return false
	end
	local e = string.lower(r.err)
	return string.find(e, "noperm", 1, true) ~= nil or string.find(e, "permission", 1, true) ~= nil or
		string.find(e, "user executing the script", 1, true) ~= nil
end

-- run_id returns the server's run id from INFO; or nil and true if INFO is
-- refused (an ACL), nil and false if INFO does not report it (not Redis).
local function run_id()
	local info = redis.pcall("INFO", "server")
	if type(info) ~= "string" then
		return nil, denied(info)
	end
	return string.match(info, "run_id:(%x+)"), false
end

-- incarnation returns the server's incarnation, checking it as said above,
-- and making a new one if the key is missing or names another run id. A
-- client that may not read INFO cannot check, and leaves the key as it is:
-- it cannot be vetted either, and is refused while its quarantine is on. A
-- server that does not report its run id (not Redis) keeps its incarnation
-- until it loses the key; vetting refuses it while the quarantine is on.
local function incarnation()
	local v = redis.call("GET", INCARNATION)
	local inc, saved, at
	if v then
		inc, saved, at = string.match(v, "^(%S+) (%S+) (%d+)$")
	end
	local ls = redis.pcall("LASTSAVE")
	if type(ls) ~= "number" then
		ls = nil
	end
	if inc and ls and not by_source and saved == tostring(ls) and tonumber(at) > ls then
		return inc
	end
	local id, refused = run_id()
	if inc and refused then
		return inc
	end
	local t = redis.call("TIME")
	local kept = tostring(ls or "-") .. " " .. t[1]
	if inc and (not id or string.sub(inc, 1, #id + 1) == id .. ".") then
		if saved .. " " .. at ~= kept then
			redis.call("SET", INCARNATION, inc .. " " .. kept)
		end
		return inc
	end
	inc = (id or "-") .. "." .. t[1] .. string.format("%06d", tonumber(t[2]))
	redis.call("SET", INCARNATION, inc .. " " .. kept)
	return inc
end
local incarnation_now = incarnation()

-- reply wraps a script's reply r for the client (see above).
local function reply(r)
	if incarnation_now == seen then
		return r
	end
	return { INCARNATION, incarnation_now, r }
end
