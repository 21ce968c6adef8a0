// Package history is test support for lock runs: a model of a resource
// protected by fencing tokens, [Fence], for tests and the demo to show a
// stale holder's writes refused.
package history
