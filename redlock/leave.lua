-- leave.lua: take a waiter out of a lock's queue, once it holds the lock or
-- has given up, and tell the next one if the lock is free.
-- KEYS[1]  the lock's key
-- ARGV[1]  the waiter's id
-- Returns 1.
leave(ARGV[1])
wake()
return 1
