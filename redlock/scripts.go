package redlock

import (
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
)

// A script is Lua run with EVALSHA, falling back to EVAL when a node does not
// have it cached (after a restart or SCRIPT FLUSH).
type script struct {
	src  string
	hash string // hex SHA-1 of src, as EVALSHA wants it
}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, hash: hex.EncodeToString(sum[:])}
}

var (
	//go:embed extend.lua
	extendSrc string
	//go:embed release.lua
	releaseSrc string
	//go:embed status.lua
	statusSrc string

	extendScript  = newScript(extendSrc)
	releaseScript = newScript(releaseSrc)
)
