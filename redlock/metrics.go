package redlock

import "github.com/quorumlock/quorumlock/redlock/observe"

// WithMetrics sets the funcs that receive the client's measurements (see
// [observe.Metrics]). The default is none, which costs nothing. It may be
// given to New only.
func WithMetrics(m observe.Metrics) ClientOption {
	return clientOnlyOption{"WithMetrics", clientOnly, func(c *config) {
		c.metrics = nil
		if !noMetrics(&m) {
			c.metrics = &m
		}
	}}
}

// noMetrics reports whether m sets no func.
func noMetrics(m *observe.Metrics) bool {
	return m.Attempt == nil && m.Acquire == nil && m.Extend == nil && m.Lost == nil &&
		m.Release == nil && m.NodeError == nil && m.NodeLatency == nil
}
