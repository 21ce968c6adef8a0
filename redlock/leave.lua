-- leave.lua: take a waiter out of the queues of locks, once it has given
-- up, release a lock handed to it meanwhile, and tell the next waiter of
-- each lock that is free.
-- KEYS     the lock keys whose queues the waiter leaves: one for a lock,
--          every slot's for a semaphore
-- ARGV[2]  the waiter's id
-- ARGV[3]  how long, in ms, its straggling attempts are told that it has
--          gone
-- Returns 1.
for i = 1, #KEYS do
	use(KEYS[i])
	release(nil, ARGV[2], ARGV[3])
end
return reply(1)
