package redlock

import "time"

// SetRevet sets how often nodes are vetted again, for tests, and returns
// a function that restores it.
func SetRevet(d time.Duration) (restore func()) {
	old := revet
	revet = d
	return func() { revet = old }
}
