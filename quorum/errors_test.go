package quorum

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type addrError struct{ addr string }

func (e *addrError) Error() string { return "node " + e.addr + " down" }

func TestErrorList_err(t *testing.T) {
	errA, errB := errors.New("a failed"), &addrError{addr: "10.0.0.2:6379"}
	errStop := errors.New("stopped")
	tests := []struct {
		name        string
		failures    errorList
		answered, n int
		interrupted error
		want        string // "" for no error
	}{
		{name: "nothing to report", answered: 3, n: 5},
		{name: "nothing seen", n: 5},
		{
			name: "one failure", failures: errorList{errA}, answered: 4, n: 5,
			want: "quorum: 1 of 5 failed, 1 unanswered: a failed",
		},
		{
			name: "two failures on one line", failures: errorList{errA, errB}, answered: 5, n: 5,
			want: "quorum: 2 of 5 failed, 0 unanswered: a failed; node 10.0.0.2:6379 down",
		},
		{
			name: "interrupted with no failure", answered: 0, n: 3, interrupted: context.Canceled,
			want: "quorum: 0 of 3 failed, 3 unanswered: context canceled",
		},
		{
			name: "interrupted after failures", failures: errorList{errA, errB}, answered: 3, n: 5, interrupted: errStop,
			want: "quorum: 2 of 5 failed, 2 unanswered: a failed; node 10.0.0.2:6379 down; stopped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.failures.err(tt.answered, tt.n, tt.interrupted)
			if tt.want == "" {
				require.NoError(t, err, "an untyped nil, not a nil *multierror.Error")
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			for _, e := range tt.failures {
				assert.ErrorIs(t, err, e)
			}
			if tt.interrupted != nil {
				assert.ErrorIs(t, err, tt.interrupted)
			}
		})
	}
}

func TestErrorList_err_as(t *testing.T) {
	l := errorList{errors.New("a failed"), &addrError{addr: "10.0.0.3:6379"}}
	err := l.err(2, 3, context.DeadlineExceeded)
	var ae *addrError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "10.0.0.3:6379", ae.addr)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Len(t, l, 2, "the list itself is unchanged")
}
