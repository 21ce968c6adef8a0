package redlock

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// A token is the random value that names one acquisition on the nodes: the
// owner's proof. Drawing, encoding and fingerprinting it happen here only.

// tokenBytes is the size of a token's random part: 128 bits.
const tokenBytes = 16

// newToken draws a token from r and encodes it as unpadded base64url.
func newToken(r io.Reader) (string, error) {
	var raw [tokenBytes]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", fmt.Errorf("redlock: reading a random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// Fingerprint returns a short, non-secret name for a lock token: the first
// 8 hex digits of its SHA-256. It tells owners apart in logs and status
// output without revealing the token.
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}
