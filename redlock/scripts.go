package redlock

import (
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
)

// A script is Lua run by its digest (EVALSHA), or by its source when the
// server does not have it cached (see [Node.run]). Every script is in a .lua
// file of this folder whose header names its KEYS and ARGV, and every one is
// idempotent: running it twice leaves what running it once does. Every
// script starts with node.lua, so that its first argument and its reply
// tell the client of a change of the server's incarnation (see
// [WithQuarantine]); the scripts are the same for every client, so a
// server caches one copy of each, however many processes use it.
type script struct {
	name string // the file name, for messages
	src  string
	sha  string // hex SHA-1 of src, as EVALSHA wants it
}

func newScript(name string, parts ...string) *script {
	src := nodeSrc
	for _, p := range parts {
		src += p
	}
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

var (
	//go:embed node.lua
	nodeSrc string // put before every script
	//go:embed fences.lua
	fencesSrc string // put before the scripts that use fence counters
	//go:embed queue.lua
	queueSrc string // put before the scripts that use the waiters' queue
	//go:embed acquire.lua
	acquireSrc string
	//go:embed extend.lua
	extendSrc string
	//go:embed release.lua
	releaseSrc string
	//go:embed status.lua
	statusSrc string
	//go:embed fence.lua
	fenceSrc string
	//go:embed heal.lua
	healSrc string
	//go:embed leave.lua
	leaveSrc string
	//go:embed slots.lua
	slotsSrc string
	//go:embed rights.lua
	rightsSrc string

	acquireScript = newScript("acquire.lua", fencesSrc, queueSrc, acquireSrc)
	extendScript  = newScript("extend.lua", extendSrc)
	healScript    = newScript("heal.lua", fencesSrc, healSrc)
	fenceScript   = newScript("fence.lua", fencesSrc, fenceSrc)
	releaseScript = newScript("release.lua", fencesSrc, queueSrc, releaseSrc)
	leaveScript   = newScript("leave.lua", fencesSrc, queueSrc, leaveSrc)
	statusScript  = newScript("status.lua", statusSrc)
	slotsScript   = newScript("slots.lua", fencesSrc, queueSrc, slotsSrc)
	rightsScript  = newScript("rights.lua", rightsSrc)
)

// Reserved is the part of a key that marks it as quorumlock's own: the
// server's incarnation ("{quorumlock}:incarnation"), the fence counters
// ("{quorumlock}:f:" followed by the lock's key) and the node's high-water
// mark of fences ("{quorumlock}:fence"), each lock's queue of waiters
// ("{quorumlock}:q:", "{quorumlock}:w:" and "{quorumlock}:t:" followed by
// the lock's key, and for a waiter that has gone "{quorumlock}:g:", the
// lock's key, ":" and its id), and the slots of semaphores (the semaphore's
// key followed by "{quorumlock}:slot:" and the slot's number; see
// [Semaphore]). Waiters are told of their turn on the channels
// "{quorumlock}:c:" followed by a waiter's id. No lock or semaphore key may
// contain it. The scripts derive these keys from the lock's, which
// standalone Redis allows (vetting refuses cluster mode, where it would
// not). A Redis user of the library needs the keys and channels that start
// with it, besides the locks' own keys.
const Reserved = "{quorumlock}:"
