-- slots.lua: read the slots of a semaphore, and queue a waiter for those it
-- cannot take now. Each slot is an ordinary lock key with its own queue.
-- KEYS     the slots' keys, in slot order
-- ARGV[2]  the waiter's id, or "" for a single attempt that does not queue
-- ARGV[3]  when the waiter began waiting, in ms: its place in the queues
-- ARGV[4]  how long, in ms, the waiter stays queued unless it tries again
-- Returns one integer per slot: 0 if the slot is free and no earlier live
-- waiter is queued for it; -1 if it is free but an earlier waiter is
-- queued; otherwise the holder's remaining ttl in ms, at least 1 (2^31-1
-- for a key with no expiry), and after them the server's time in ms. The
-- waiter joins, or stays alive in, the queue of every slot not 0, unless it
-- has left the queues (see gone in queue.lua): this is then a straggling
-- copy of one of its reads.
local now = now_ms()
local w = ARGV[2]
local out = {}
for i = 1, #KEYS do
	use(KEYS[i])
	local state = 0
	if redis.call("EXISTS", lock) == 1 then
		state = held_for(lock)
	elseif redis.call("EXISTS", queue) == 1 then
		local h = head(now)
		if h ~= nil and h ~= w then
			state = -1
		end
	end
	if state ~= 0 and w ~= "" and not has_gone(w) then
		join(w, ARGV[3], ARGV[4])
	end
	out[i] = state
end
out[#KEYS + 1] = now
return reply(out)
