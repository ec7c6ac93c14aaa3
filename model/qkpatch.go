package model

import (
	"fmt"
	"slices"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/internal/attn"
)

// This file estimates the effect of patching a layer's queries or keys through its attention pattern,
// recomputed exactly (the attention-saturation fix of AtP*, Kramár et al. 2024), on the host.

// RotateQK applies layer l's rotary embedding, on the host, to queries or keys before RoPE: x is
// [1, pos, heads, d_head] as a run from position 0 captures hook_q or hook_k, and the result is what
// the run's hook_rot_q or hook_rot_k hold (up to float32 rounding: the graphs may fuse the
// multiply-add).
func (m *Model) RotateQK(l int, x *Tensor) (*Tensor, error) {
	d := m.Arch.Dims
	if l < 0 || l >= d.NLayers {
		return nil, fmt.Errorf("%w: layer %d (model has %d)", ErrBadInput, l, d.NLayers)
	}
	if len(x.Shape) != 4 || x.Shape[0] != 1 || x.Shape[3] != d.DHead || x.Numel() != len(x.Data) {
		return nil, fmt.Errorf("%w: rotate %v: want [1, pos, heads, %d]", ErrBadInput, x.Shape, d.DHead)
	}
	out := &Tensor{Shape: slices.Clone(x.Shape), Data: make([]float32, len(x.Data))}
	m.rotate(l, out.Data, x.Data, x.Shape[1], x.Shape[2])
	return out, nil
}

// rotate writes into dst the rotation of src ([pos, heads, d_head]) at positions 0..pos-1 with layer l's
// RoPE: x·cos + rotate_half(x)·sin, where rotate_half(x) = (−x[half:], x[:half]).
func (m *Model) rotate(l int, dst, src []float32, pos, heads int) {
	dh := m.Arch.DHead
	half := dh / 2
	cos, sin := ropeTables(m.Arch.LayerRoPE[l], pos, dh)
	for p := range pos {
		c, s := cos[p*dh:][:dh], sin[p*dh:][:dh]
		for h := range heads {
			o := (p*heads + h) * dh
			x, y := src[o:o+dh], dst[o:o+dh]
			for i := range half {
				y[i] = x[i]*c[i] + -x[i+half]*s[i]
				y[i+half] = x[i+half]*c[i+half] + x[i]*s[i+half]
			}
		}
	}
}

// QKPatch replaces one layer's queries (hook_q) or keys (hook_k), before RoPE, at some positions of a
// run: the patch that a Replace intervention at that site makes. Patched keys are rotated at the
// positions they are patched into.
type QKPatch struct {
	Site      hook.Site // hook.Q or hook.K
	Positions []int
	// Values is shaped like the site over the run's positions ([1, pos, heads, d_head]); only the rows at
	// Positions are read.
	Values *Tensor
}

// PatternEffects estimates, for each patch of layer l's queries or keys, its effect on a metric through
// the layer's attention pattern, recomputed exactly, and to first order from the attention output on
// (AtP*'s fix for attention saturation): per query head h,
//
//	Σ_i dz[i,h] · (z′[i,h] − z[i,h])
//
// where z is the layer's hook_z in a run, z′ the same with the patched queries or keys (the softmax over
// the new scores, the values unchanged), and dz the gradient of the metric with respect to hook_z. q, k,
// v and dz are that run's hook_q, hook_k, hook_v and the gradient, from position 0, batch 1. The result
// is [patch][head]; a key patch changes the rows of every query that sees a patched key, a query patch
// only the patched rows. Its exactness holds up to the layer's z: the rest of the network is linearised.
//
// All patches are estimated together in one pass over the attention per group of patches whose
// positions do not overlap, each about three attention products, with no [head, query, key] matrix.
func (m *Model) PatternEffects(l int, q, k, v, dz *Tensor, patches []QKPatch) ([][]float64, error) {
	d := m.Arch.Dims
	if l < 0 || l >= d.NLayers {
		return nil, fmt.Errorf("%w: layer %d (model has %d)", ErrBadInput, l, d.NLayers)
	}
	if len(q.Shape) < 2 {
		return nil, fmt.Errorf("%w: pattern effects: hook_q of shape %v", ErrBadInput, q.Shape)
	}
	T := q.Shape[1]
	for _, c := range []struct {
		name string
		t    *Tensor
		site hook.Site
	}{{"hook_q", q, hook.Q}, {"hook_k", k, hook.K}, {"hook_v", v, hook.V}, {"dz", dz, hook.Z}} {
		if want := m.Arch.siteShape(c.site, T); !slices.Equal(c.t.Shape, want) || len(c.t.Data) != numel(want) {
			return nil, fmt.Errorf("%w: pattern effects: %s of shape %v, want %v", ErrBadInput, c.name, c.t.Shape, want)
		}
	}
	for i, p := range patches {
		if p.Site != hook.Q && p.Site != hook.K {
			return nil, fmt.Errorf("%w: pattern effects: patch %d of %s (want hook_q or hook_k)", ErrBadInput, i, p.Site)
		}
		if want := m.Arch.siteShape(p.Site, T); p.Values == nil || !slices.Equal(p.Values.Shape, want) || len(p.Values.Data) != numel(want) {
			return nil, fmt.Errorf("%w: pattern effects: patch %d values, want shape %v", ErrBadInput, i, want)
		}
		if len(p.Positions) == 0 {
			return nil, fmt.Errorf("%w: pattern effects: patch %d has no positions", ErrBadInput, i)
		}
		for _, pos := range p.Positions {
			if pos < 0 || pos >= T {
				return nil, fmt.Errorf("%w: pattern effects: patch %d: position %d outside [0,%d)", ErrBadInput, i, pos, T)
			}
		}
	}
	rq, rk := make([]float32, len(q.Data)), make([]float32, len(k.Data))
	m.rotate(l, rq, q.Data, T, d.NHeads)
	m.rotate(l, rk, k.Data, T, d.NKVHeads)
	s := attn.Shape{T: T, NHeads: d.NHeads, NKVHeads: d.NKVHeads, DHead: d.DHead, Cap: m.Arch.AttnSoftcap}
	out := make([][]float64, len(patches))
	for _, group := range disjointGroups(patches) {
		ap := attn.Patches{KeyPart: make([]int32, T), QueryPart: make([]int32, T)}
		for i := range ap.KeyPart {
			ap.KeyPart[i], ap.QueryPart[i] = -1, -1
		}
		var pq, pk []float32 // patched queries and keys before RoPE
		var keys, queries []int
		for _, i := range group {
			p := patches[i]
			parts, x, src, row := ap.KeyPart, &pk, k.Data, d.NKVHeads*d.DHead
			n := len(keys)
			if p.Site == hook.Q {
				parts, x, src, row = ap.QueryPart, &pq, q.Data, d.NHeads*d.DHead
				n = len(queries)
				queries = append(queries, i)
			} else {
				keys = append(keys, i)
			}
			if *x == nil {
				*x = slices.Clone(src)
			}
			for _, pos := range p.Positions {
				parts[pos] = int32(n)
				copy((*x)[pos*row:(pos+1)*row], p.Values.Data[pos*row:(pos+1)*row])
			}
		}
		ap.NKey, ap.NQuery = len(keys), len(queries)
		if pk != nil {
			ap.K = make([]float32, len(pk))
			m.rotate(l, ap.K, pk, T, d.NKVHeads)
		}
		if pq != nil {
			ap.Q = make([]float32, len(pq))
			m.rotate(l, ap.Q, pq, T, d.NHeads)
		}
		res := make([]float64, (ap.NKey+ap.NQuery)*d.NHeads)
		if err := attn.PatternDelta(res, rq, rk, v.Data, dz.Data, ap, s, m.Arch.AttnScale, m.Arch.window(l)); err != nil {
			return nil, fmt.Errorf("layer %d: pattern effects: %w", l, err)
		}
		for x, i := range append(keys, queries...) {
			out[i] = res[x*d.NHeads : (x+1)*d.NHeads]
		}
	}
	return out, nil
}

// disjointGroups splits patches into groups in which no two patches of the same site share a position
// (a position is patched by one key patch and one query patch at most), first fit in order.
func disjointGroups(patches []QKPatch) [][]int {
	var groups [][]int
	var used []map[[2]int]bool // per group: (site, position) taken
	for i, p := range patches {
		g := 0
		for ; g < len(groups); g++ {
			free := true
			for _, pos := range p.Positions {
				if used[g][[2]int{int(p.Site), pos}] {
					free = false
					break
				}
			}
			if free {
				break
			}
		}
		if g == len(groups) {
			groups = append(groups, nil)
			used = append(used, map[[2]int]bool{})
		}
		groups[g] = append(groups[g], i)
		for _, pos := range p.Positions {
			used[g][[2]int{int(p.Site), pos}] = true
		}
	}
	return groups
}
