// Package redlock implements the Redlock algorithm: one lock held across N
// independent Redis masters, granted only while a majority of them agree.
//
// # Using it
//
// Build one [Node] per master, with [ParseURL] or [NewNode], and a [Client]
// with [New]. [Client.Lock] waits for the lock until its context ends;
// [Client.TryLock] makes one attempt. The returned [*Lock] is held until
// [Lock.Until]; [Lock.Extend] renews it once, [Lock.Hold] keeps renewing it
// in the background and [Client.Do] wraps the whole pattern around a
// function. [Lock.Unlock] releases it and reports whether it was still held.
// [Client.Status] shows what each node holds. Every call that does I/O takes
// a context first. A decided outcome is told by four sentinels, matched with
// [errors.Is]: [ErrNotObtained], [ErrLost], [ErrNotHeld] and
// [ErrInvalidArgument]. Two kinds of error decide nothing and match none of
// them: a call interrupted by its context (the error wraps the context's
// cause), and an Extend or Unlock that could not reach enough nodes to know
// (the lock stays held until [Lock.Until], or expires by its ttl). Per-node
// causes are [*NodeError]s in the same chain, for [errors.As].
//
// # The algorithm
//
// To acquire, the client draws a 128-bit random token, notes the monotonic
// time, and sends SET key token NX PX ttl to every node at once, each call
// bounded by the node timeout. It returns as soon as a majority said OK, or
// as soon as a majority has become impossible: a slow or dead minority costs
// nothing. The lock is held if a majority agreed and the validity
//
//	ttl - elapsed - (ttl*driftFactor + 2ms)
//
// is positive; [Lock.Until] is the start plus that validity, on the local
// monotonic clock. Otherwise the attempt is undone on every node, including
// nodes that answer after the attempt has returned: each node's release is
// sent only once its SET has returned or timed out, so a late SET cannot
// leave a key behind (unless the node is frozen for longer than the node
// timeout, in which case the key expires by its ttl). Extend and Unlock are
// Lua scripts that act only if the key still holds this lock's token, so
// they never touch another owner's lock. Unlock, too, never sends a release
// to a node before that node's acquiring SET has returned.
//
// # What Redlock guarantees, and what it does not
//
// While [Lock.Until] lies in the future, no other client following this
// algorithm can hold the same lock, provided that:
//
//   - the nodes are independent masters (no replication between them; a
//     replica promoted after a failover may not have the key);
//   - a node that crashes comes back with its keys, or stays down for longer
//     than the longest ttl: run Redis with appendonly yes and appendfsync
//     always (as the repository's docker-compose.yml does), since a node
//     that restarts empty can grant the lock to a second owner;
//   - no node's clock jumps. Redis expires keys by its wall clock, so a node
//     whose clock steps forward drops keys early; the drift factor covers
//     only slow drift between clocks;
//   - the holder's process does not pause (GC, swap, SIGSTOP) past
//     [Lock.Until] between checking the lock and acting on the protected
//     resource.
//
// The last point cannot be fixed by any lock service alone: a paused holder
// may act after its lock expired and another took it. Where that matters,
// the protected resource must reject stale writers, for instance with
// fencing tokens. Redlock is an efficiency and mutual-exclusion aid for
// cooperating processes, not a consensus system.
//
// # Timeouts and background work
//
// Every Redis command is bounded by a read deadline of the node timeout
// ([WithNodeTimeout], 50ms by default), whatever the caller's context says,
// so that what was sent is always answered or timed out before it is
// undone. A cancelled context makes a call return at once; the commands it
// started finish in the background within the node timeout, and
// [Client.Close] waits for them.
package redlock
