package redlock

// watch follows what a node's restarts tell; see [WithQuarantine].
type watch struct{}

// noScript records that the server did not have s cached.
func (n *Node) noScript(s *script) {}
