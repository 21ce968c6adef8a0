-- leave.lua: take a waiter out of the queues of locks, once it holds one or
-- has given up, and tell the next waiter of each lock that is free.
-- KEYS     the lock keys whose queues the waiter leaves: one for a lock,
--          every slot's for a semaphore
-- ARGV[1]  the waiter's id
-- Returns 1.
for i = 1, #KEYS do
	use(KEYS[i])
	leave(ARGV[1])
	wake()
end
return 1
