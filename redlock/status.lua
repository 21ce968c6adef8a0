-- status.lua: read a lock without changing it.
-- KEYS[1]  the lock's key
-- Returns {value or false, remaining ttl in ms (-2: no key, -1: no expiry)}.
return {redis.call("GET", KEYS[1]), redis.call("PTTL", KEYS[1])}
