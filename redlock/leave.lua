-- leave.lua: take a waiter out of the queues of locks, once it holds one or
-- has given up, release a lock handed to it meanwhile, and tell the next
-- waiter of each lock that is free.
-- KEYS     the lock keys whose queues the waiter leaves: one for a lock,
--          every slot's for a semaphore
-- ARGV[1]  the waiter's id
-- ARGV[2]  (optional) for a waiter that takes hand-offs, how long, in ms,
--          its straggling attempts are told that it has gone
-- Returns 1.
for i = 1, #KEYS do
	use(KEYS[i])
	if ARGV[2] then
		redis.call("SET", gone(ARGV[1]), 1, "PX", ARGV[2])
	end
	release(nil, ARGV[1])
end
return 1
