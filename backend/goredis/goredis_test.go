package goredis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/quorumlock/quorumlock/backend/goredis"
)

func TestNew_refusesClientsThatOutliveDeadlines(t *testing.T) {
	cases := []struct {
		name string
		opt  redis.Options
		want string // in the error
	}{
		{"no context deadlines", redis.Options{}, "ContextTimeoutEnabled"},
		{"no read deadline", redis.Options{ContextTimeoutEnabled: true, ReadTimeout: -2}, "ReadTimeout"},
		{"no write deadline", redis.Options{ContextTimeoutEnabled: true, WriteTimeout: -2}, "WriteTimeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Addr = "127.0.0.1:1"
			rdb := redis.NewClient(&c.opt)
			defer rdb.Close()
			if _, err := goredis.New(rdb); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v; want an error naming %s", err, c.want)
			}
		})
	}
	if _, err := goredis.New(nil); err == nil {
		t.Error("New(nil) returned no error")
	}
	for _, rt := range []time.Duration{-1, 0, time.Second} {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, ReadTimeout: rt})
		if _, err := goredis.New(rdb); err != nil {
			t.Errorf("New with ReadTimeout %v: %v", rt, err)
		}
		_ = rdb.Close()
	}
}

func TestConn_Close_leavesClientOpen(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	conn, err := goredis.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("the client after Conn.Close: %v", err)
	}
}
