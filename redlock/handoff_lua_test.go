package redlock

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// luaServer is an in-process Redis on which a test runs the scripts by
// their source, with the names of a lock's queue keys.
type luaServer struct {
	t    *testing.T
	mr   *miniredis.Miniredis
	conn redis.Conn
	inc  string // the server's incarnation, as the last reply told it
}

func newLuaServer(t *testing.T) *luaServer {
	mr := miniredis.RunT(t)
	conn, err := redis.Dial("tcp", mr.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &luaServer{t: t, mr: mr, conn: conn}
}

// run runs s by its source with keys and args after the first, which is
// the incarnation last seen, and returns its reply unwrapped.
func (s *luaServer) run(sc *script, keys []string, args ...any) any {
	s.t.Helper()
	a := []any{sc.src, len(keys)}
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, "!"+s.inc)
	reply, err := s.conn.Do("EVAL", append(a, args...)...)
	require.NoError(s.t, err, sc.name)
	if w, ok := reply.([]any); ok && len(w) == 3 {
		if tag, _ := w[0].([]byte); string(tag) == incarnationKey {
			s.inc = string(w[1].([]byte))
			return w[2]
		}
	}
	return reply
}

// attempt runs an acquiring attempt of waiter w, numbered n ("" for none),
// whose place in the queue is at place ms.
func (s *luaServer) attemptAt(key, token, w, n string, place int64) int64 {
	s.t.Helper()
	switch r := s.run(acquireScript, []string{key}, token, 10000, "", w, place, 2000, n).(type) {
	case int64:
		return r
	case []any:
		code, _ := r[0].(int64)
		return code
	}
	return 0
}

func (s *luaServer) attempt(key, token, w, n string) int64 {
	s.t.Helper()
	return s.attemptAt(key, token, w, n, time.Now().UnixMilli())
}

func (s *luaServer) release(key string, args ...any) int64 {
	s.t.Helper()
	code, _ := s.run(releaseScript, []string{key}, args...).(int64)
	return code
}

func (s *luaServer) get(key string) string {
	v, _ := s.mr.Get(key)
	return v
}

// listener is a subscription to waiters' channels.
type listener struct {
	t   *testing.T
	psc redis.PubSubConn
}

func (s *luaServer) listen(waiters ...string) *listener {
	s.t.Helper()
	sub, err := redis.Dial("tcp", s.mr.Addr())
	require.NoError(s.t, err)
	s.t.Cleanup(func() { _ = sub.Close() })
	l := &listener{t: s.t, psc: redis.PubSubConn{Conn: sub}}
	for _, w := range waiters {
		require.NoError(s.t, l.psc.Subscribe(Reserved+"c:"+w))
		_, isSub := l.psc.ReceiveWithTimeout(5 * time.Second).(redis.Subscription)
		require.True(s.t, isSub, "subscribed")
	}
	return l
}

// next returns the next message, or fails.
func (l *listener) next() (channel, message string) {
	l.t.Helper()
	msg, isMsg := l.psc.ReceiveWithTimeout(5 * time.Second).(redis.Message)
	require.True(l.t, isMsg, "a message within 5s")
	return msg.Channel, string(msg.Data)
}

// The scripts' rules for hand-offs, one node at a time.
func TestHandoffScripts(t *testing.T) {
	s := newLuaServer(t)
	require.EqualValues(t, 1, s.attempt("k", "holder", "", ""))
	require.Less(t, s.attempt("k", "w1-a1", "w1", "1"), int64(-1), "busy")
	require.Less(t, s.attempt("k", "w2-a1", "w2", "1"), int64(-1), "busy")
	require.NotEmpty(t, s.inc, "the scripts told the server's incarnation")

	// The release hands the lock to the head, w1, with its offer's token,
	// and tells it so on its channel.
	l := s.listen("w1", "w2")
	assert.EqualValues(t, 1, s.release("k", "holder"))
	assert.Equal(t, "w1-a1", s.get("k"), "the key after the release")
	ch, msg := l.next()
	assert.Equal(t, Reserved+"c:w1", ch)
	assert.Equal(t, "h 1 "+s.inc+" k", msg, "the hand-off's message")

	// A straggling copy of an earlier attempt neither takes the key over
	// nor replaces the offer; a later attempt takes the key over.
	assert.Less(t, s.attempt("k", "w1-a0", "w1", "0"), int64(-1), "an earlier attempt finds the key busy")
	assert.Equal(t, "w1-a1", s.get("k"))
	assert.EqualValues(t, 1, s.attempt("k", "w1-a2", "w1", "2"), "a later attempt takes the handed key over")
	assert.Equal(t, "w1-a2", s.get("k"))

	// w1 releases: w2 is handed it; then w2's attempt 2 fails, so the
	// key stays w2's attempt 1's. w2's release with its id frees that key
	// too, and with no one queued the key is gone.
	assert.EqualValues(t, 1, s.release("k", "w1-a2", "w1", 5000))
	assert.Equal(t, "w2-a1", s.get("k"))
	_, msg = l.next()
	assert.Equal(t, "h 1 "+s.inc+" k", msg, "w2's hand-off")
	assert.EqualValues(t, 0, s.release("k", "w2-a2", "w2", 5000), "another token's release")
	assert.False(t, s.mr.Exists("k"), "a key handed to an earlier attempt of the releasing waiter is freed")

	// A waiter that has left, with the mark that it has gone, is not
	// queued again by a straggling attempt.
	require.EqualValues(t, 1, s.attempt("k", "holder2", "", ""))
	s.run(leaveScript, []string{"k"}, "w3", 5000)
	assert.Less(t, s.attempt("k", "w3-a1", "w3", "1"), int64(-1), "busy")
	offers, _ := s.mr.HKeys(Reserved + "t:k")
	assert.Empty(t, offers, "offers of a waiter that has gone")
	members, _ := s.mr.ZMembers(Reserved + "q:k")
	assert.Empty(t, members, "queued waiters that have gone")
}

// A waiter that released the lock it was granted is gone: a straggling
// attempt of its neither queues it again nor leaves an offer that the next
// release would hand the lock to.
func TestHandoffScripts_goneAfterRelease(t *testing.T) {
	s := newLuaServer(t)
	require.EqualValues(t, 1, s.attempt("k", "w1-a1", "w1", "1"), "granted to the waiter")
	require.EqualValues(t, 1, s.release("k", "w1-a1", "w1", 5000))
	require.EqualValues(t, 1, s.attempt("k", "holder", "", ""))
	// w1's attempt 0, sent before attempt 1, arrives late.
	assert.Less(t, s.attempt("k", "w1-a0", "w1", "0"), int64(-1), "busy")
	members, _ := s.mr.ZMembers(Reserved + "q:k")
	assert.Empty(t, members, "the waiter queued again by its straggling attempt")
	assert.EqualValues(t, 1, s.release("k", "holder"))
	assert.False(t, s.mr.Exists("k"), "the lock handed to a waiter that had released it")
}

// The undo of a waiter's failed attempt, on a node where it was granted,
// leaves the waiter first and does not tell it that the lock is free: it
// knows, and a message would only make it try again at once.
func TestHandoffScripts_undoDoesNotWakeItsWaiter(t *testing.T) {
	s := newLuaServer(t)
	l := s.listen("w1")
	require.EqualValues(t, 1, s.attempt("k", "w1-a1", "w1", "1"), "granted here, busy elsewhere")
	assert.EqualValues(t, 1, s.release("k", "w1-a1", "w1", ""), "the undo")
	assert.False(t, s.mr.Exists("k"))
	members, _ := s.mr.ZMembers(Reserved + "q:k")
	assert.Empty(t, members, "a waiter granted at once is not queued")

	// Queued behind a holder, then granted after the holder's key expired
	// here: the undo leaves it first, and says nothing.
	require.EqualValues(t, 1, s.attempt("k", "holder", "", ""))
	require.Less(t, s.attempt("k", "w1-a2", "w1", "2"), int64(-1), "busy")
	s.mr.Del("k") // the holder's key expired here
	require.EqualValues(t, 1, s.attempt("k", "w1-a3", "w1", "3"))
	assert.EqualValues(t, 1, s.release("k", "w1-a3", "w1", ""), "the undo")
	members, _ = s.mr.ZMembers(Reserved + "q:k")
	assert.Equal(t, []string{"w1"}, members, "the waiter stays queued")
	l.psc.Conn.Send("PING")
	l.psc.Conn.Flush()
	_, isPong := l.psc.ReceiveWithTimeout(5 * time.Second).(redis.Pong)
	assert.True(t, isPong, "the next thing on the waiter's channel is the PING's answer, not a wake-up")
}

// A release hands the lock only to a waiter that hears of it: one whose
// process died, or that could not subscribe, is not handed the lock, which
// stays free for it to take or, once its life in the queue ends, for the
// next.
func TestHandoffScripts_noHandoffUnheard(t *testing.T) {
	s := newLuaServer(t)
	require.EqualValues(t, 1, s.attempt("k", "holder", "", ""))
	require.Less(t, s.attempt("k", "w1-a1", "w1", "1"), int64(-1), "busy")
	assert.EqualValues(t, 1, s.release("k", "holder"))
	assert.False(t, s.mr.Exists("k"), "the lock handed to a waiter with no subscription")
}

// A busy answer tells the server's time, and a waiter's place is the one
// its client gives, the same on every node.
func TestHandoffScripts_place(t *testing.T) {
	s := newLuaServer(t)
	require.EqualValues(t, 1, s.attempt("k", "holder", "", ""))
	r, ok := s.run(acquireScript, []string{"k"}, "other", 10000, "", "", 0, 2000, "").([]any)
	require.True(t, ok, "a busy answer is an array")
	require.Len(t, r, 3)
	at, _ := r[2].(int64)
	assert.InDelta(t, time.Now().UnixMilli(), at, 60_000, "the server's time in ms")
	early := time.Now().Add(-time.Hour).UnixMilli()
	require.Less(t, s.attemptAt("k", "early", "early", "1", early), int64(-1), "busy")
	score, err := s.mr.ZScore(Reserved+"q:k", "early")
	require.NoError(t, err)
	assert.EqualValues(t, early, score, "the place as given")
}
