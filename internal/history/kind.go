package history

import "fmt"

// A Kind is a kind of violation. It encodes to JSON as its name.
type Kind uint8

// The kinds of violation; the package documentation says what each means.
const (
	// Overlap: two holds of one name intersect, or for a name with a
	// capacity above 1 (a semaphore), more holds run at once than it.
	Overlap Kind = iota + 1
	// LostUpdate: a counter update read a value other than the latest written.
	LostUpdate
	// FinalMismatch: a counter's final value is not its initial value plus
	// the recorded increments.
	FinalMismatch
	// LateLost: a watched holder acted past its validity end without a lost
	// signal before it.
	LateLost
	// TokenOrder: a hold that began after another ended got a token not
	// greater than the other's.
	TokenOrder
	// SharedToken: two grants of one name got the same fencing token.
	SharedToken
	// StaleAccepted: a fenced resource accepted a token below one it had
	// accepted before.
	StaleAccepted
)

var kindNames = [...]string{
	Overlap:       "overlap",
	LostUpdate:    "lost-update",
	FinalMismatch: "final-mismatch",
	LateLost:      "late-lost-signal",
	TokenOrder:    "token-order",
	SharedToken:   "shared-token",
	StaleAccepted: "stale-accepted",
}

// String returns the kind's name, such as "lost-update".
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// MarshalText encodes the kind as its name. It returns an error for a
// value that is not one of the kinds.
func (k Kind) MarshalText() ([]byte, error) {
	if k == 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("history: no violation kind %d", k)
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText decodes a kind's name. It returns an error naming the text
// if no kind has that name.
func (k *Kind) UnmarshalText(text []byte) error {
	for i, name := range kindNames {
		if i > 0 && name == string(text) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("history: no violation kind %q", text)
}
