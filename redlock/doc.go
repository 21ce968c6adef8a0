// Package redlock implements the Redlock algorithm: one lock held across N
// independent Redis masters, granted only while a majority of them agree.
//
// # Using it
//
// Build one [Node] per master, with [ParseURL] (redigo underneath) or with
// [NewNode] from a [Conn]: the modules backend/goredis and backend/rueidis
// make one from a go-redis or rueidis client you already have, and
// backend/redigo from a redigo pool. Then make a [Client] with [New]. [Client.Lock] waits for the lock until its context ends;
// [Client.TryLock] makes one attempt. The returned [*Lock] is held until
// [Lock.Until]; [Lock.Extend] renews it once, [Lock.Hold] keeps renewing it
// in the background and [Client.Do] wraps the whole pattern around a
// function. [Lock.Unlock] releases it and reports whether it was still held.
// [Client.Status] shows what each node holds. [Client.Semaphore] gives the
// [Semaphore] of n permits of a name, each a [*Permit] (see "Semaphores"
// below). Every call that does I/O takes
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
// [Client.Lock] waits in a queue of waiters that every node keeps for the
// lock, first come, first served across clients. A release hands a lock
// without fencing to the first waiter on each node itself, if the waiter
// hears of it: the node sets the key to the token of that waiter's latest
// attempt and tells the waiter, which holds the lock once a majority has,
// until the start of that attempt plus the ttl, less the drift allowance. Why that is as safe as a
// grant is told at the type handoff in handoff.go. Waiters for a fenced
// lock or a semaphore are woken instead, and try again.
//
// # What Redlock guarantees, and what it does not
//
// While [Lock.Until] lies in the future, no other client following this
// algorithm can hold the same lock, provided that:
//
//   - the nodes are independent masters (no replication between them; a
//     replica promoted after a failover may not have the key). Vetting
//     refuses replicas and cluster-mode nodes;
//   - no node forgets a key while it is held: nodes keep their keys across
//     a crash (appendonly yes, appendfsync always, as the repository's
//     docker-compose.yml runs them), or stay out of the vote for longer
//     than the longest ttl after a restart, which the quarantine does by
//     default for the ttls of the client that set it (see below); nothing evicts lock keys (maxmemory-policy
//     noeviction, which vetting requires: the volatile-* policies evict
//     exactly the keys with a ttl); and no third party deletes them (DEL,
//     FLUSHALL, FLUSHDB);
//   - no node's clock jumps. Redis expires keys by its wall clock, so a node
//     whose clock steps forward drops keys early; the drift factor covers
//     only slow drift between clocks;
//   - the holder's process does not pause (GC, swap, SIGSTOP) past
//     [Lock.Until] between checking the lock and acting on the protected
//     resource.
//
// The last point cannot be fixed by any lock service alone: a paused holder
// may act after its lock expired and another took it. Fencing tokens, below,
// let the protected resource refuse such a holder, and they keep their
// order when the other assumptions but the first two fail.
//
// # Restart quarantine
//
// A node that restarts without its data can grant a lock that is still
// held. So a node's grant counts only if the node has been up for longer
// than the quarantine ([WithQuarantine]; by default the ttl plus its drift
// allowance, which must cover the longest ttl any client uses on those
// nodes).
//
// Nodes learn of restarts from the server's incarnation, which every
// script tells: the key {quorumlock}:incarnation holds the server's run id
// and when the library made the key. Every script's first argument is the
// incarnation its node last saw, and its reply names the incarnation only
// when that differs. A script reads the key, and checks it against the run
// id in INFO unless the server's LASTSAVE is the one kept with the key and
// earlier than the second the key was last checked, and always when the
// script is sent by its source; it makes a new incarnation if the run ids
// differ, and a lost key (no persistence, FLUSHALL) is made anew by the
// first script to run. LASTSAVE is the time of the server's last save, or
// of its start, so after a restart it differs from the one kept, or, if
// the restart fell in the same second as that save, it is no earlier than
// the second the key was last checked (unless the server's clock went
// back); a server that refuses LASTSAVE, or does not know it (renamed
// away), has every script read INFO. And the script cache empties on every
// restart, so the first script of ours that runs after it runs by its
// source, unless another process loaded it first. It costs no extra round
// trip (a GET and a LASTSAVE inside each script), and the server caches one
// copy of each script however many processes use it.
//
// What that protects, and on which assumptions:
//
//   - A client whose node saw an earlier incarnation knows that the server
//     restarted or lost its data since. Its grants from that node count
//     only once the quarantine has passed from when the client noticed,
//     by the client's clock (monotonic, for [clock.Real]): the client
//     notices no earlier than the node saw the new incarnation, which is no
//     earlier than the restart. This holds whatever the server's clock
//     does, short of going back across a restart. It assumes that every
//     process of the library that uses the server may read INFO (one that
//     may not cannot check, and leaves the key as it is: vetting refuses
//     it while the quarantine is on), and that nobody else writes
//     {quorumlock}:incarnation. A client whose node's INFO shows another
//     run id than the incarnation's counts a restart too, when the node is
//     next vetted (every minute in use), and a script resent over a
//     connection the server closed makes the node probe INFO before its
//     next grant counts. Data replaced without a restart (a full resync as
//     a replica, a resumed snapshot of a machine) keeps the run id and the
//     key, and is not noticed: nodes must be independent masters.
//   - A client that meets a server for the first time (a new process, or
//     new [Node]s) cannot tell when it last restarted: its node is suspect,
//     and a grant from it counts only if an INFO read after the grant shows
//     the server up for longer than the quarantine, measured back from
//     that read. Redis counts its uptime by its wall clock, so for such a
//     client a restart followed by a forward clock step on the server ends
//     the quarantine early: two failures outside the model, which together
//     defeat it. Keep clients long-lived, and nodes made once per process.
//   - A server whose INFO is refused (an ACL without +info) or does not
//     report its run id and uptime can be neither vetted nor quarantined,
//     and is refused while the quarantine is on.
//
// A consequence: nodes that have just started, such as a freshly deployed
// cluster, grant nothing until the quarantine has passed. Nodes in use are
// vetted again every minute.
//
// # Fencing tokens
//
// With [WithFencing] each lock carries a token, [Lock.Fence], drawn in two
// phases. In phase one the acquiring script returns, with its answer, the
// node's counter for the lock's key; the client draws f, the highest
// counter among the answers plus one. In phase two a script raises the
// counter to f on each node, only where the key still holds this lock's
// token, and only if the counter is below f (or is already f, raised by
// this same lock: a resent copy). The lock is granted with f only if a
// quorum raised it within the validity.
//
// A node keeps a lock's counter, under its key whatever the client's key
// prefix, for at most a ttl after the lock's last grant: a grant makes it
// (or renews it), a raise sets it with the lock's ttl, the lock's release
// deletes it, and Extend does not renew it. The node also
// keeps a high-water mark, the highest fence ever raised on it for any
// lock, and a lock with no counter counts as being at the mark: a counter
// is made at the mark. So every reading of a lock's counter on a node is
// at least every fence raised for that lock there: the mark is, and a
// counter starts at the mark and is only raised. That is all the argument
// below needs of the counters.
//
// Assume every node keeps its data: a fence raised on a node stays at or
// below what the node reads for the lock from then on. Then:
//
//   - No two grants of a lock share a fence. Two grants with fence f would
//     have raised it on two quorums, which share a node; there the first
//     to run left the lock reading at least f, and the second found it at
//     f or above, not raised by its own token (a counter made anew is at
//     the mark, owned by no one), and failed.
//   - A grant whose acquisition begins after another grant of the same lock
//     was made carries a higher fence. Let A be granted f: a quorum ran A's
//     raise before A was granted. B's acquisition begins later, and its
//     phase one reaches a quorum, which shares a node with A's; there B's
//     script runs after A's raise and reads at least f, so B draws more.
//
// Neither argument uses time, so both hold when holders overlap because
// an assumption above failed: a holder paused past its validity, a node's
// clock that jumped, a lock key evicted by a volatile-* policy or deleted.
// (An allkeys-* policy can evict the high-water mark, which has no ttl,
// and then fences can repeat: vetting refuses both kinds.) The first
// holder's late
// write then carries a lower token than its successor's, and a resource that
// refuses tokens below the highest it has accepted refuses it. They do not
// hold if a node loses its data: the quarantine keeps mutual exclusion, but
// not the counters: fencing needs nodes with appendfsync always, and
// refuses nodes without an append-only file (INFO does not tell
// appendfsync, so vetting cannot check it). Fences of different locks are
// unrelated, and a lock's fences may jump, since a counter made anew starts
// at the mark. Counters are decimal strings, compared exactly. Fencing
// costs one more round-trip per acquisition.
//
// # Semaphores
//
// [Client.Semaphore] gives the n permits of n permits of a name, so that up to n
// holders work at once. A semaphore is n slots, each an ordinary lock with a
// key of its own (the semaphore's key followed by "{quorumlock}:slot:" and
// the slot's number), and a permit is the [*Lock] of one slot: it is
// granted, renewed, lost and released exactly as a lock is, with the same
// lost signal. At most n holders hold a permit at once, under every
// condition listed above: each holder holds a slot, while its permit's
// [Lock.Until] lies in the future no other holder holds the same slot, and
// there are n slots. Nothing is counted on a node, and nothing needs to be:
// counting holders per node, with each node admitting n and a grant needing
// a quorum, does not bound them, since with 5 nodes, a quorum of 3 and n = 2,
// three holders can each be granted by 3 nodes without any node admitting
// more than 2 (9 grants fit in 10 places).
//
// To find a free slot, a caller reads every slot on every node in one round
// and tries, one at a time, those that may be free on a quorum; the reading
// only guides the choice, and a slot is taken only by a grant of its lock. A
// caller that finds every slot busy queues for all of them, in one order
// across clients, and is woken when a slot is released to it (see
// [Semaphore] for the fairness this gives). The slots' keys contain
// [Reserved], which no lock key may, so a semaphore and a lock of the same
// name are apart.
//
// # Timeouts and background work
//
// Every Redis command is bounded by the node timeout ([WithNodeTimeout],
// a twentieth of the ttl by default: 500ms for 10s), dialing and handshakes included, whatever the caller's
// context says, so that what was sent is always answered or timed out
// before it is undone. A lock's commands reach each node one at a time, in
// the order their rounds began: a release never overtakes the SET it undoes. A cancelled context makes a call return at once; the commands it
// started finish in the background within the node timeout, and
// [Client.Close] waits for them.
package redlock
