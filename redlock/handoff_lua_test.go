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
}

func newLuaServer(t *testing.T) *luaServer {
	mr := miniredis.RunT(t)
	conn, err := redis.Dial("tcp", mr.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &luaServer{t: t, mr: mr, conn: conn}
}

func (s *luaServer) eval(src string, keys []string, args ...any) any {
	s.t.Helper()
	a := []any{src, len(keys)}
	for _, k := range keys {
		a = append(a, k)
	}
	reply, err := s.conn.Do("EVAL", append(a, args...)...)
	require.NoError(s.t, err)
	return reply
}

// attempt runs an acquiring attempt of waiter w, numbered n ("" for none).
func (s *luaServer) attempt(key, token, w, n string) int64 {
	s.t.Helper()
	code, _ := s.eval(queueSrc+acquireSrc, []string{key}, token, 10000, w, 1, 2000, n).(int64)
	return code
}

func (s *luaServer) get(key string) string {
	v, _ := s.mr.Get(key)
	return v
}

// The scripts' rules for hand-offs, one node at a time.
func TestHandoffScripts(t *testing.T) {
	s := newLuaServer(t)
	require.EqualValues(t, 1, s.attempt("k", "holder", "", ""))
	require.Less(t, s.attempt("k", "w1-a1", "w1", "1"), int64(-1), "busy")
	require.Less(t, s.attempt("k", "w2-a1", "w2", "1"), int64(-1), "busy")

	// The release hands the lock to the head, w1, with its offer's token,
	// and tells it so.
	sub, err := redis.Dial("tcp", s.mr.Addr())
	require.NoError(t, err)
	defer sub.Close()
	psc := redis.PubSubConn{Conn: sub}
	require.NoError(t, psc.Subscribe(Reserved+"q:k"))
	_, isSub := psc.ReceiveWithTimeout(5 * time.Second).(redis.Subscription)
	require.True(t, isSub, "subscribed")
	assert.EqualValues(t, 1, s.eval(queueSrc+releaseSrc, []string{"k"}, "holder"))
	assert.Equal(t, "w1-a1", s.get("k"), "the key after the release")
	msg, isMsg := psc.ReceiveWithTimeout(5 * time.Second).(redis.Message)
	require.True(t, isMsg, "a message within 5s")
	assert.Regexp(t, `^w1 1 (\d+|-)$`, string(msg.Data), "the hand-off's message")

	// A straggling copy of an earlier attempt neither takes the key over
	// nor replaces the offer; a later attempt takes the key over.
	assert.Less(t, s.attempt("k", "w1-a0", "w1", "0"), int64(-1), "an earlier attempt finds the key busy")
	assert.Equal(t, "w1-a1", s.get("k"))
	assert.EqualValues(t, 1, s.attempt("k", "w1-a2", "w1", "2"), "a later attempt takes the handed key over")
	assert.Equal(t, "w1-a2", s.get("k"))

	// w1 releases: w2 is handed it; then w2's attempt 2 fails, so the
	// key stays w2's attempt 1's. w2's release with its id frees that key
	// too, and with no one queued the key is gone.
	assert.EqualValues(t, 1, s.eval(queueSrc+releaseSrc, []string{"k"}, "w1-a2", "w1"))
	assert.Equal(t, "w2-a1", s.get("k"))
	assert.EqualValues(t, 0, s.eval(queueSrc+releaseSrc, []string{"k"}, "w2-a2", "w2"), "another token's release")
	assert.False(t, s.mr.Exists("k"), "a key handed to an earlier attempt of the releasing waiter is freed")

	// A waiter that has left, with the mark that it has gone, is not
	// queued again by a straggling attempt.
	require.EqualValues(t, 1, s.attempt("k", "holder2", "", ""))
	s.eval(queueSrc+leaveSrc, []string{"k"}, "w3", 5000)
	assert.Less(t, s.attempt("k", "w3-a1", "w3", "1"), int64(-1), "busy")
	offers, _ := s.mr.HKeys(Reserved + "t:k")
	assert.Empty(t, offers, "offers of a waiter that has gone")
	members, _ := s.mr.ZMembers(Reserved + "q:k")
	assert.Empty(t, members, "queued waiters that have gone")
}
