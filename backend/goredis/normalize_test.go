package goredis

import (
	"errors"
	"math/big"
	"reflect"
	"testing"
)

// RESP3 booleans reach a script's caller only when the script calls
// redis.setresp(3), which the library's scripts do not; they become what a
// RESP2 client gets all the same.
func TestNormalize(t *testing.T) {
	failed := errors.New("WRONGTYPE inside")
	cases := []struct {
		name string
		in   any
		want any
		err  error
	}{
		{"true", true, int64(1), nil},
		{"false", false, int64(0), nil},
		{"nested booleans", []any{true, []any{false, "x"}}, []any{int64(1), []any{int64(0), "x"}}, nil},
		{"error inside an array", []any{int64(1), failed}, nil, failed},
	}
	for _, c := range cases {
		got, err := normalize(c.in)
		if !reflect.DeepEqual(got, c.want) || !errors.Is(err, c.err) {
			t.Errorf("%s: got %#v, %v; want %#v, %v", c.name, got, err, c.want, c.err)
		}
	}
	for _, odd := range []any{1.5, big.NewInt(7), map[any]any{"k": "v"}} {
		if _, err := normalize(odd); err == nil {
			t.Errorf("a reply of type %T was accepted", odd)
		}
	}
}
