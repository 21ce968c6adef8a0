// Package testcluster runs in-process Redis servers (miniredis), each behind
// a [redlock.Conn] that injects faults: down, paused (commands run late, in
// order), and per operation blocked, slow, and replies lost after the
// command ran. It is the one in-process cluster of quorumlock's tests,
// examples and demo.
//
// Commands reach the servers over real loopback connections through the
// redigo backend, so everything but the fault layer is the production path.
// The servers answer INFO on the wire as the fault layer does, and refuse
// SELECT of a database a default Redis does not have, so that a node made
// with redlock.ParseURL from [Server.URL], as in another process, sees the
// same server.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/backend/redigo"
	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock"
)

// Options shape a cluster. The zero value is five servers whose keys expire
// only when told to ([Cluster.FastForward]).
type Options struct {
	// Servers is how many servers to start; 0 means 5.
	Servers int
	// RealTimeTTL makes keys expire in real time, as on Redis.
	RealTimeTTL bool
	// Clock tells the servers' uptime (INFO uptime_in_seconds); nil means
	// the real clock. The servers start an hour old.
	Clock clock.Clock
}

// A Cluster is a set of in-process servers and a node on each.
type Cluster struct {
	Servers []*Server
	Nodes   []*redlock.Node
}

// Start starts a cluster. Close it when done.
func Start(o Options) (*Cluster, error) {
	if o.Servers == 0 {
		o.Servers = 5
	}
	if o.Servers < 0 {
		return nil, fmt.Errorf("testcluster: Servers is negative: %d", o.Servers)
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	c := &Cluster{}
	for i := range o.Servers {
		s, err := startServer(i, o)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Servers = append(c.Servers, s)
		c.Nodes = append(c.Nodes, s.node)
	}
	return c, nil
}

// New starts a cluster for a test or benchmark and closes it when tb ends.
func New(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	c, err := Start(o)
	if err != nil {
		tb.Fatalf("starting the in-process cluster: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Close waits for commands still running late, then closes the nodes and
// stops the servers.
func (c *Cluster) Close() {
	for _, s := range c.Servers {
		s.close()
	}
}

// Holders returns the indexes of the servers on which key holds value.
func (c *Cluster) Holders(key, value string) []int {
	var idx []int
	for i, s := range c.Servers {
		if v, err := s.Redis().Get(key); err == nil && v == value {
			idx = append(idx, i)
		}
	}
	return idx
}

// Keys returns the indexes of the servers on which key exists.
func (c *Cluster) Keys(key string) []int {
	var idx []int
	for i, s := range c.Servers {
		if s.Redis().Exists(key) {
			idx = append(idx, i)
		}
	}
	return idx
}

// FastForward moves every server's expiry clock forward by d.
func (c *Cluster) FastForward(d time.Duration) {
	for _, s := range c.Servers {
		s.Redis().FastForward(d)
	}
}

// A Server is one in-process Redis server and the faults in front of it.
type Server struct {
	index int
	mr    *miniredis.Miniredis
	addr  string
	node  *redlock.Node
	conn  *Conn
	clock clock.Clock

	mu    sync.Mutex
	boot  time.Time // on clock, for uptime
	runID string
	info  map[string]string
	deny  bool // INFO is refused, as an ACL without +info does
	seq   int
}

func startServer(i int, o Options) (*Server, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return nil, fmt.Errorf("testcluster: starting server %d: %w", i, err)
	}
	mr.ClockTTL(o.RealTimeTTL)
	s := &Server{index: i, mr: mr, addr: mr.Addr(), clock: o.Clock, info: defaultInfo()}
	s.boot = o.Clock.Now().Add(-time.Hour)
	s.newRunID()
	s.hook()
	inner, err := redigo.Open(redigo.Options{Addr: s.addr})
	if err != nil {
		mr.Close()
		return nil, err
	}
	s.conn = &Conn{inner: inner, server: s}
	node, err := redlock.NewNode(s.addr, s.conn)
	if err != nil {
		mr.Close()
		return nil, err
	}
	s.node = node
	return s, nil
}

// newRunID gives the server a run id no other server has had.
func (s *Server) newRunID() {
	s.seq++
	s.runID = fmt.Sprintf("%040x", uint64(s.index+1)<<32|uint64(s.seq))
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns redis://host:port, for redlock.ParseURL or another process.
func (s *Server) URL() string { return "redis://" + s.addr }

// Node returns the node on the server (the cluster's node of the same index).
func (s *Server) Node() *redlock.Node { return s.node }

// Conn returns the fault-injecting connection of the server's node.
func (s *Server) Conn() *Conn { return s.conn }

// Redis returns the server, to read or change its data directly.
func (s *Server) Redis() *miniredis.Miniredis { return s.mr }

// Stop stops the server; its data stays. Commands fail as they would on a
// Redis that went down: the connection is refused.
func (s *Server) Stop() { s.mr.Close() }

// Restart restarts a stopped or running server with its data, as Redis with
// appendfsync always does after a crash: a new run id, uptime from zero and
// an empty script cache.
func (s *Server) Restart() error { return s.restart(false) }

// Crash restarts the server without its data, as Redis without persistence
// does after kill -9.
func (s *Server) Crash() error { return s.restart(true) }

func (s *Server) restart(forget bool) error {
	s.mr.Close()
	if forget {
		s.mr.FlushAll()
	}
	// As a real restart: the new run id and start are what every command
	// after it sees.
	s.mu.Lock()
	s.boot = s.clock.Now()
	s.newRunID()
	s.mu.Unlock()
	if err := s.mr.Restart(); err != nil {
		return fmt.Errorf("testcluster: restarting %s: %w", s.addr, err)
	}
	s.hook() // a restarted miniredis has a new server, without the hook
	return s.flushScripts()
}

func (s *Server) flushScripts() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := redis.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("testcluster: connecting to %s: %w", s.addr, err)
	}
	defer c.Close()
	if _, err := redis.DoContext(c, ctx, "SCRIPT", "FLUSH"); err != nil {
		return fmt.Errorf("testcluster: flushing scripts on %s: %w", s.addr, err)
	}
	return nil
}

// SetInfo sets a field of the server's INFO, e.g. maxmemory_policy or role;
// an empty value removes it.
func (s *Server) SetInfo(field, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		delete(s.info, field)
		return
	}
	s.info[field] = value
}

// DenyInfo makes INFO fail with NOPERM, as for a user whose ACL lacks it.
func (s *Server) DenyInfo(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// SetRunID makes the server report another server's run id, as two
// addresses of one server would.
func (s *Server) SetRunID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runID = id
}

// RunID returns the run id the server reports.
func (s *Server) RunID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runID
}

func defaultInfo() map[string]string {
	return map[string]string{
		"redis_version":    "7.0.15",
		"redis_mode":       "standalone",
		"role":             "master",
		"maxmemory_policy": "noeviction",
		"aof_enabled":      "1",
		"cluster_enabled":  "0",
	}
}

// databases is how many databases a default Redis has (databases 16).
const databases = 16

// hook makes the server answer INFO with [Server.infoText], LASTSAVE with
// its start, and refuse
// SELECT of a database beyond the default 16, as Redis does. Restart and
// Crash set it again; restarting the miniredis directly loses it.
func (s *Server) hook() {
	s.mr.Server().SetPreHook(func(p *server.Peer, cmd string, args ...string) bool {
		switch cmd {
		case "INFO":
			text, err := s.infoText()
			if err != nil {
				p.WriteError(err.Error())
			} else {
				p.WriteBulk(text)
			}
			return true
		case "LASTSAVE": // as Redis with no saves: when the server started
			s.mu.Lock()
			boot := s.boot
			s.mu.Unlock()
			p.WriteInt(int(boot.Unix()))
			return true
		case "SELECT":
			if len(args) == 1 {
				if n, err := strconv.Atoi(args[0]); err == nil && n >= databases {
					p.WriteError("ERR DB index is out of range")
					return true
				}
			}
		}
		return false
	})
}

// errNoPerm is what Redis answers a user whose ACL forbids INFO.
var errNoPerm = errors.New("NOPERM User default has no permissions to run the 'info' command")

// infoText renders INFO as Redis does, with the uptime on the server's clock.
func (s *Server) infoText() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deny {
		return "", errNoPerm
	}
	up := int64(s.clock.Since(s.boot) / time.Second)
	text := fmt.Sprintf("# Server\r\nrun_id:%s\r\nuptime_in_seconds:%d\r\n", s.runID, up)
	for _, k := range []string{"redis_version", "redis_mode", "role", "maxmemory_policy", "aof_enabled", "cluster_enabled"} {
		if v, ok := s.info[k]; ok {
			text += k + ":" + v + "\r\n"
		}
	}
	return text, nil
}

func (s *Server) close() {
	s.conn.wait()
	_ = s.node.Close()
	s.mr.Close()
}

// ErrDown is the error of every command to a server taken down with
// [Conn.SetDown]. It matches syscall.ECONNREFUSED with errors.Is, as the
// error of a dial to a server that is down does.
var ErrDown error = downError{}

type downError struct{}

func (downError) Error() string { return "testcluster: injected: connection refused" }

// Is reports whether target is syscall.ECONNREFUSED.
func (downError) Is(target error) bool { return target == syscall.ECONNREFUSED }
