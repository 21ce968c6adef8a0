package quorum

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// errorList collects the failures of one round.
type errorList []error

// err aggregates the failures, and the reason the wait was interrupted if
// it was, with go-multierror on one line, e.g.
// "quorum: 2 of 5 failed, 1 unanswered: a; b". It returns nil when there is
// nothing to report.
func (l errorList) err(answered, n int, interrupted error) error {
	failures := len(l)
	if interrupted != nil {
		l = append(l, interrupted)
	}
	if len(l) == 0 {
		return nil
	}
	m := &multierror.Error{Errors: l, ErrorFormat: func(errs []error) string {
		var b strings.Builder
		fmt.Fprintf(&b, "quorum: %d of %d failed, %d unanswered: ", failures, n, n-answered)
		for i, e := range errs {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(e.Error())
		}
		return b.String()
	}}
	return m.ErrorOrNil()
}
