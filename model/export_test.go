package model

import "math/rand/v2"

// SetFullAttention turns block-causal attention off or on, for tests that compare the two paths.
func SetFullAttention(m *Model, on bool) { m.fullAttention = on }

// HostAttentionLayers returns how many layer attentions the host kernel has computed on m.
func HostAttentionLayers(m *Model) int64 { return m.hostLayers.Load() }

// SampleLogits draws one token from logits as Generate's sampler does.
func SampleLogits(logits []float32, opts SampleOptions, rng *rand.Rand) int {
	var s sampler
	return s.sample(logits, &opts, rng)
}

// LayerWeightsShared counts m's layer weight tensors and how many of them live in buffers the host
// shares with the device (one copy in memory instead of a host slice plus the device's own).
func LayerWeightsShared(m *Model) (shared, total int) {
	for _, ws := range m.layerW {
		for _, w := range ws {
			total++
			if w.IsShared() {
				shared++
			}
		}
	}
	return shared, total
}
