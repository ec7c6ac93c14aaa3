package model

import (
	"fmt"
	"slices"
	"sync"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/internal/attn"
)

// Attention holds what one forward pass needs to read its attention patterns later without ever forming
// a [head_index, query_pos, key_pos] tensor: the rotated queries and keys (hook_rot_q, hook_rot_k) of
// some layers. A 4,748-token episode on SmolLM2 (30 layers, 9 heads) has 811 MB of pattern per layer
// and 24 GB in all; its rotated queries and keys are 14.6 MB a layer. Patterns are recomputed from them
// on the host, tile by tile, exactly as the model computes its scores: AttnScale·rot_q·rot_kᵀ under the
// causal mask and the layer's sliding window (Gemma-3's local layers), each query head reading its
// grouped kv head; Gemma-3's q/k norms act before RoPE, so rot_q and rot_k already include them, and
// Gemma-2's attention soft cap (Arch.AttnSoftcap) is applied to the scaled scores as in the model.
type Attention struct {
	m      *Model
	t      int
	layers []int
	q, k   map[int][]float32 // layer → [pos, head_index, d_head], [pos, kv_head_index, d_head]
	logits []float32         // the last position's

	mu  sync.Mutex
	lse map[int][]float32 // layer → row log-sum-exps [head_index, pos], computed on first use
}

// Attention runs tokens forward once and keeps the rotated queries and keys of the given layers (nil:
// every layer), from which Weighted reads attention patterns, and the last position's logits.
func (m *Model) Attention(tokens []int, layers []int) (*Attention, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%w: attention of no tokens", ErrBadInput)
	}
	if layers == nil {
		layers = AllPositions(m.Arch.NLayers)
	}
	a := &Attention{m: m, t: len(tokens), q: map[int][]float32{}, k: map[int][]float32{}, lse: map[int][]float32{}}
	var names []hook.Name
	for _, l := range layers {
		if l < 0 || l >= m.Arch.NLayers {
			return nil, fmt.Errorf("%w: attention of layer %d: model has %d layers", ErrBadInput, l, m.Arch.NLayers)
		}
		if slices.Contains(a.layers, l) {
			continue
		}
		a.layers = append(a.layers, l)
		names = append(names, hook.At(hook.RotQ, l), hook.At(hook.RotK, l))
	}
	res, err := m.Run(tokens, RunOptions{Capture: names})
	if err != nil {
		return nil, fmt.Errorf("attention: %w", err)
	}
	a.logits = res.Logits.Data
	for _, l := range a.layers {
		a.q[l] = res.Cache[hook.At(hook.RotQ, l)].Data
		a.k[l] = res.Cache[hook.At(hook.RotK, l)].Data
	}
	return a, nil
}

// Logits returns the logits [d_vocab] at the last position of the run (the prediction of the token
// after it).
func (a *Attention) Logits() []float32 { return a.logits }

// Len returns the number of positions.
func (a *Attention) Len() int { return a.t }

// Layers returns the layers kept, in the order asked for.
func (a *Attention) Layers() []int { return slices.Clone(a.layers) }

// shape is package attn's shape of the run.
func (a *Attention) shape() attn.Shape {
	d := a.m.Arch.Dims
	return attn.Shape{T: a.t, NHeads: d.NHeads, NKVHeads: d.NKVHeads, DHead: d.DHead, Cap: a.m.Arch.AttnSoftcap}
}

// rowLSE returns layer l's row log-sum-exps, computing them on first use.
func (a *Attention) rowLSE(l int) ([]float32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if lse, ok := a.lse[l]; ok {
		return lse, nil
	}
	lse := make([]float32, a.m.Arch.NHeads*a.t)
	if err := attn.LSE(lse, a.q[l], a.k[l], a.shape(), a.m.Arch.AttnScale, a.m.Arch.window(l)); err != nil {
		return nil, fmt.Errorf("layer %d attention: %w", l, err)
	}
	a.lse[l] = lse
	return lse, nil
}

// Weighted returns layer l's attention pattern weighted by rows of query weights: out [row, head_index,
// key_pos] with out[r, h, j] = Σ_i rows[r][i]·pattern[h, i, j], where pattern is the layer's
// blocks.L.attn.hook_pattern [head_index, query_pos, key_pos] (each row a softmax over the keys the
// query sees). Each row has one weight per position: a one-hot row is one query's pattern row, a row of
// 1/n over a segment's tokens the segment's mean pattern row, a distribution over positions one step
// of attention rollout. The cost is about one forward attention of the layer (query blocks that no row
// weighs are skipped); results are the same bits on any number of goroutines.
func (a *Attention) Weighted(l int, rows [][]float32) (*Tensor, error) {
	if _, ok := a.q[l]; !ok {
		return nil, fmt.Errorf("%w: attention of layer %d was not kept (have %v)", ErrBadInput, l, a.layers)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: attention of layer %d: no rows of query weights", ErrBadInput, l)
	}
	w := make([]float32, 0, len(rows)*a.t)
	for i, r := range rows {
		if len(r) != a.t {
			return nil, fmt.Errorf("%w: attention of layer %d: row %d has %d query weights for %d positions", ErrBadInput, l, i, len(r), a.t)
		}
		w = append(w, r...)
	}
	lse, err := a.rowLSE(l)
	if err != nil {
		return nil, err
	}
	out := NewTensor(len(rows), a.m.Arch.NHeads, a.t)
	if err := attn.WeightedPattern(out.Data, w, a.q[l], a.k[l], lse, a.shape(), a.m.Arch.AttnScale, a.m.Arch.window(l)); err != nil {
		return nil, fmt.Errorf("layer %d attention: %w", l, err)
	}
	return out, nil
}
