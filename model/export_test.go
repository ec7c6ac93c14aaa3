package model

// SetFullAttention turns block-causal attention off or on, for tests that compare the two paths.
func SetFullAttention(m *Model, on bool) { m.fullAttention = on }
