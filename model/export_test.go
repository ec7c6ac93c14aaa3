package model

// SetFullAttention turns block-causal attention off or on, for tests that compare the two paths.
func SetFullAttention(m *Model, on bool) { m.fullAttention = on }

// HostAttentionLayers returns how many layer attentions the host kernel has computed on m.
func HostAttentionLayers(m *Model) int64 { return m.hostLayers.Load() }
