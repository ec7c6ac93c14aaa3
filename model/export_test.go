package model

import (
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// SetFullAttention turns block-causal attention off or on, for tests that compare the two paths.
func SetFullAttention(m *Model, on bool) { m.fullAttention = on }

// HostAttentionLayers returns how many layer attentions the host kernel has computed on m.
func HostAttentionLayers(m *Model) int64 { return m.hostLayers.Load() }

// SampleLogits draws one token from logits as Generate's sampler does.
func SampleLogits(logits []float32, opts SampleOptions, rng *rand.Rand) int {
	var s sampler
	return s.sample(logits, &opts, rng)
}

// WeightsShared counts m's weight tensors (every layer's, the final norm and the unembedding) and how
// many of them live in buffers the host shares with the device (one copy in memory instead of a host
// slice plus the device's own); hostEmbed reports whether a separate host embedding table is kept.
func WeightsShared(m *Model) (shared, total int, hostEmbed bool) {
	ts := []*tensors.Tensor{m.finalNorm, m.unembed}
	for _, ws := range m.layerW {
		ts = append(ts, ws...)
	}
	for _, w := range ts {
		total++
		if w.IsShared() {
			shared++
		}
	}
	return shared, total, m.embed != nil
}
