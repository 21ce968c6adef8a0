-- node.lua: put before every script. It tells the client when the server it
-- last saw has been replaced by another incarnation: restarted, or its data
-- lost (FLUSHALL), which may have forgotten lock keys.
--
-- The incarnation is kept in the key {quorumlock}:incarnation as "<run
-- id>.<time made, in microseconds> <LASTSAVE when last checked>". A script
-- checks the run id against INFO when the server's LASTSAVE differs from
-- the one kept, and when it is sent by its source (EVAL), and makes a new
-- incarnation if the run ids differ or INFO is refused. Two signals, each
-- enough: LASTSAVE is the time of the server's last save, or of its start
-- (so it changes on every restart, unless one comes within the same second
-- as a save); and the script cache empties on every restart, so the first
-- script of ours that runs after a restart, in any database, runs by its
-- source. A server that lost the key (restarted without its data, or
-- flushed) gets a new incarnation from the first script to run.
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
-- an ACL, rather than a server that does not know the command (not Redis).
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

-- last_save returns the server's LASTSAVE; "-" if the server does not
-- know the command (not Redis); or nil if it refuses it (an ACL), and then
-- every script checks the run id.
local function last_save()
	local t = redis.pcall("LASTSAVE")
	if type(t) == "number" then
		return tostring(t)
	end
	if denied(t) then
		return nil
	end
	return "-"
end

-- incarnation returns the server's incarnation, checking it against the
-- run id as said above, and making a new one if the key is missing, names
-- another run id, or cannot be checked because INFO is refused. A server
-- that does not report its run id (not Redis) keeps its incarnation until
-- it loses the key: such a server cannot be vetted either, and is refused
-- while the client's quarantine is on.
local function incarnation()
	local v = redis.call("GET", INCARNATION)
	local inc, saved
	if v then
		inc, saved = string.match(v, "^(%S+) (%S+)$")
	end
	local ls = last_save()
	if inc and ls and saved == ls and not by_source then
		return inc
	end
	ls = ls or "?"
	local id, refused = run_id()
	if inc and ((id and string.sub(inc, 1, #id + 1) == id .. ".") or (not id and not refused)) then
		if saved ~= ls then
			redis.call("SET", INCARNATION, inc .. " " .. ls)
		end
		return inc
	end
	local t = redis.call("TIME")
	inc = (id or "-") .. "." .. t[1] .. string.format("%06d", tonumber(t[2]))
	redis.call("SET", INCARNATION, inc .. " " .. ls)
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
