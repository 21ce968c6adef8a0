package redlock

import (
	"crypto/rand"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"fmt"
)

// A script is Lua run by its digest (EVALSHA), or by its source when the
// server does not have it cached (see [Node.run]). Every script is in a .lua
// file of this folder whose header names its KEYS and ARGV, and every one is
// idempotent: running it twice leaves what running it once does.
type script struct {
	name string // the file name, for messages
	src  string
	sha  string // hex SHA-1 of src, as EVALSHA wants it
}

func newScript(name, src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

var (
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
	//go:embed queue.lua
	queueSrc string // put before the scripts that use the waiters' queue
	//go:embed leave.lua
	leaveSrc string
	//go:embed slots.lua
	slotsSrc string

	releaseScript = newScript("release.lua", queueSrc+releaseSrc)
	leaveScript   = newScript("leave.lua", queueSrc+leaveSrc)
	statusScript  = newScript("status.lua", statusSrc)
	fenceScript   = newScript("fence.lua", fenceSrc)
	slotsScript   = newScript("slots.lua", queueSrc+slotsSrc)
)

// Reserved is the part of a key that marks it as quorumlock's own: the
// fence counters ([FenceKey], under the client's key prefix), each lock's
// queue of waiters ("{quorumlock}:q:", "{quorumlock}:w:" and
// "{quorumlock}:t:" followed by the lock's key, and for a waiter that has
// gone "{quorumlock}:g:", the lock's key, ":" and its id) and the slots of
// semaphores (the semaphore's key followed by
// "{quorumlock}:slot:" and the slot's number; see [Client.Semaphore]). No
// lock or semaphore key may contain it. The scripts derive the
// queue's keys from the lock's, which standalone Redis allows (vetting
// refuses cluster mode, where it would not).
const Reserved = "{quorumlock}:"

// FenceKey is the hash, under the client's key prefix, that holds the
// fence counters of every fenced lock name on a node.
const FenceKey = Reserved + "fence"

// salted holds a node's own copies of the scripts that set keys, each with
// a random first line, so that their digests are this node's alone. They are
// cached on the server only by this node's NOSCRIPT fallback, and the cache
// empties when the server restarts, so the node's first NOSCRIPT after a
// restart tells it of the restart (see [WithQuarantine]).
type salted struct {
	acquire, extend, heal *script
}

func (s *salted) init() error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("redlock: drawing a node's script salt: %w", err)
	}
	line := "-- node " + hex.EncodeToString(b[:]) + "\n"
	s.acquire = newScript("acquire.lua", line+queueSrc+acquireSrc)
	s.extend = newScript("extend.lua", line+extendSrc)
	s.heal = newScript("heal.lua", line+healSrc)
	return nil
}
