// Package history records what the holders of Redlock locks did and checks
// the record for the ways a lock can fail its users. Unit tests, the
// integration suite, the demo and long randomized runs with injected faults
// all record into a [Recorder] and judge the result with [Recorder.Check].
//
// # Recording
//
// A [Recorder] is safe for concurrent use. Its timeline is the one of Go's
// monotonic clock: every instant is a [time.Time] taken from [time.Now] (or,
// in tests driven by a fake clock, from that one clock), and the recorder
// keeps it as the [time.Duration] since the start given to [NewRecorder],
// computed with [time.Time.Sub], which uses the monotonic readings when both
// instants carry them. Never mix a fake clock's instants with real ones, and
// never round-trip instants through Unix time.
//
// [Recorder.Grant] records a grant: which lock name, which holder (a
// client or worker label), when Lock returned, the lock's validity end
// (Lock.Until in package redlock) and an optional fencing token. The
// returned [*Hold] then records, as they happen, later validity ends
// ([Hold.Extend]), the lost signal ([Hold.Lost]), read-modify-write
// operations on the counter the lock protects ([Hold.Update]), writes to a
// fenced resource ([Hold.Write] with a [Fence], [Hold.Wrote] for another
// resource) and the end of the critical section ([Hold.End]). Nothing here
// ever takes a lock's secret token: a fencing token is a number the
// protected resource may see.
//
// # What is checked, and what each finding means
//
// A grant's hold is the interval from its grant to the earlier of its end
// and its validity end: the lock promises nothing after its validity end,
// so acting later is counted apart (see Overran below). A hold that never
// ended counts as running until the instant Check is given.
//
//   - Overlap: two holds of one name intersect. Each pair is counted once,
//     with the length of the intersection. A name may admit more holders
//     at once, as the name of a semaphore does ([Recorder.Capacity]); then
//     an overlap is a hold that begins while the capacity is already held,
//     and the report gives the most holds at once (Peak).
//   - LostUpdate: a counter update read a value other than the latest one
//     written. FinalMismatch: the counter's final value is not its first
//     read plus every recorded increment.
//   - LateLost: a holder that works under a lost signal ([Grant.Watched],
//     for instance the context Lock.Hold returns) was still acting
//     after its validity end and had not had the signal before it. The
//     library promises that signal before the validity ends.
//   - TokenOrder: a hold that began after another had ended got a fencing
//     token not greater than the other's. SharedToken: two grants of one
//     name got the same token. StaleAccepted: a fenced resource accepted a
//     token lower than one it had accepted before.
//
// Two further counts are not violations. Overran counts holds that acted
// after their validity end, whether or not they were watched: without a
// lost signal the lock made no promise, and the caller decides what that
// means. StaleRejected counts writes a [Fence] refused: a holder that
// outlived its lock was stopped by fencing, which is what fencing is for.
//
// # In-model and out-of-model faults
//
// Redlock is safe while its assumptions hold: nodes crash and come back
// with their keys (appendfsync always) or stay down longer than the longest
// ttl, messages are delayed or lost, a minority of nodes freezes or is cut
// off, clocks drift slowly, and a holder's process is not paused past its
// validity. Under such in-model faults every finding above is a violation: a
// bug in the library, in the fencing counters or in the test.
//
// Out-of-model faults break the assumptions: a node restarted without its
// data, a node's clock stepped forward, a holder paused past its validity.
// There overlaps, lost updates of an unfenced counter and late lost signals
// are expected; Redlock cannot prevent them. Fencing should turn them into
// rejected stale writes: the late holder's writes carry an older token and
// the resource refuses them, so StaleRejected grows and StaleAccepted stays
// zero. TokenOrder and SharedToken can appear there too if the fencing
// counters themselves were lost with a node's data.
package history
