package model

import (
	"fmt"
	"slices"
	"sync"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// This file reuses the keys and values of a token prefix across runs (a KV cache): segment ablations
// that delete a segment share everything before it with the base run, and episodes that share a system
// prompt share its keys and values. A run with a Prefix computes only the positions after it; its
// queries attend to the stored keys, so logits and activations equal those of the full run up to float32
// summation order.

// Prefix holds the rotated keys (hook_rot_k) and values (hook_v) of every layer for a token prefix.
// Make one with Model.NewPrefix or Model.PrefixFromCache and pass it in RunOptions.Prefix. A Prefix is
// immutable and safe for concurrent use by runs on the model that made it.
type Prefix struct {
	tokens []int
	k, v   []*Tensor // per layer, [1, n, n_kv_heads, d_head]

	once    sync.Once
	tp      int
	padK    []*tensors.Tensor // per layer, [1, tp, n_kv_heads, d_head], zero after n
	padV    []*tensors.Tensor
	nLayers int
}

// Len returns the number of prefix tokens (0 for a nil Prefix, which RunOptions.Prefix reads as none).
func (p *Prefix) Len() int {
	if p == nil {
		return 0
	}
	return len(p.tokens)
}

// Tokens returns a copy of the prefix tokens.
func (p *Prefix) Tokens() []int { return slices.Clone(p.tokens) }

// PrefixSites returns the hook sites a Prefix is made of: hook_rot_k and hook_v of every layer. Capture
// them in a run to turn that run into a Prefix with PrefixFromCache.
func (m *Model) PrefixSites() []hook.Name {
	var names []hook.Name
	for l := 0; l < m.Arch.NLayers; l++ {
		names = append(names, hook.At(hook.RotK, l), hook.At(hook.V, l))
	}
	return names
}

// NewPrefix runs tokens once and keeps their keys and values.
func (m *Model) NewPrefix(tokens []int) (*Prefix, error) {
	res, err := m.Run(tokens, RunOptions{Capture: m.PrefixSites()})
	if err != nil {
		return nil, err
	}
	return m.PrefixFromCache(tokens, res.Cache)
}

// PrefixFromCache builds a Prefix from a run over tokens that captured PrefixSites (a run with
// interventions yields the prefix of the intervened run).
func (m *Model) PrefixFromCache(tokens []int, c Cache) (*Prefix, error) {
	d := m.Arch.Dims
	want := []int{1, len(tokens), d.NKVHeads, d.DHead}
	p := &Prefix{tokens: slices.Clone(tokens), nLayers: d.NLayers}
	for l := 0; l < d.NLayers; l++ {
		for i, n := range []hook.Name{hook.At(hook.RotK, l), hook.At(hook.V, l)} {
			t := c[n]
			if t == nil {
				return nil, fmt.Errorf("%w: prefix: cache has no %s", ErrBadInput, n)
			}
			if !slices.Equal(t.Shape, want) {
				return nil, fmt.Errorf("%w: prefix: %s has shape %v, want %v", ErrBadInput, n, t.Shape, want)
			}
			if i == 0 {
				p.k = append(p.k, t)
			} else {
				p.v = append(p.v, t)
			}
		}
	}
	return p, nil
}

// ExtendPrefix returns the Prefix of tokens from a run with RunOptions{Prefix: p} that captured
// PrefixSites: p's keys and values before the run's Offset, the run's own from there on.
func (m *Model) ExtendPrefix(p *Prefix, tokens []int, res *Result) (*Prefix, error) {
	if p == nil {
		return m.PrefixFromCache(tokens, res.Cache)
	}
	off := res.Offset
	if off > p.Len() || !slices.Equal(p.tokens[:off], tokens[:off]) {
		return nil, fmt.Errorf("%w: prefix: run offset %d does not continue the %d-token prefix", ErrBadInput, off, p.Len())
	}
	c := Cache{}
	for l := 0; l < p.nLayers; l++ {
		for i, n := range []hook.Name{hook.At(hook.RotK, l), hook.At(hook.V, l)} {
			after := res.Cache[n]
			if after == nil {
				return nil, fmt.Errorf("%w: prefix: run did not capture %s", ErrBadInput, n)
			}
			before := p.k[l]
			if i == 1 {
				before = p.v[l]
			}
			row := before.Shape[2] * before.Shape[3]
			if after.Shape[1] != len(tokens)-off || after.Numel() != after.Shape[1]*row {
				return nil, fmt.Errorf("%w: prefix: %s has shape %v after offset %d of %d tokens", ErrBadInput, n, after.Shape, off, len(tokens))
			}
			joined := &Tensor{Shape: []int{1, len(tokens), before.Shape[2], before.Shape[3]}, Data: make([]float32, 0, len(tokens)*row)}
			joined.Data = append(append(joined.Data, before.Data[:off*row]...), after.Data...)
			c[n] = joined
		}
	}
	return m.PrefixFromCache(tokens, c)
}

// Truncate returns the prefix of its first n tokens (sharing storage with p). Truncate(0) returns nil,
// which RunOptions.Prefix reads as no prefix.
func (p *Prefix) Truncate(n int) (*Prefix, error) {
	if n < 0 || n > len(p.tokens) {
		return nil, fmt.Errorf("%w: prefix: truncate to %d of %d tokens", ErrBadInput, n, len(p.tokens))
	}
	if n == 0 {
		return nil, nil
	}
	if n == len(p.tokens) {
		return p, nil
	}
	q := &Prefix{tokens: p.tokens[:n:n], nLayers: p.nLayers}
	for l := range p.k {
		for _, pair := range [][2]*[]*Tensor{{&q.k, &p.k}, {&q.v, &p.v}} {
			src := (*pair[1])[l]
			row := src.Shape[2] * src.Shape[3]
			*pair[0] = append(*pair[0], &Tensor{Shape: []int{1, n, src.Shape[2], src.Shape[3]}, Data: src.Data[: n*row : n*row]})
		}
	}
	return q, nil
}

// TruncateAligned truncates to at most n tokens, rounding n down to a multiple of a grid of max(256,
// Len()/8) positions (in 64s). Runs that delete one segment after another and truncate at each
// segment's start then share a handful of prefix lengths, so their graphs (one compilation per shape,
// about a second each on XLA) are reused; the cost is recomputing fewer than a grid's worth of
// positions.
func (p *Prefix) TruncateAligned(n int) (*Prefix, error) {
	if n < 0 || n > len(p.tokens) {
		return nil, fmt.Errorf("%w: prefix: truncate to %d of %d tokens", ErrBadInput, n, len(p.tokens))
	}
	g := max(256, (len(p.tokens)/8+63)/64*64)
	return p.Truncate(n / g * g)
}

// padded returns layer l's keys and values padded to a multiple of bucket positions, built once.
func (p *Prefix) padded(l, bucket int) (k, v *tensors.Tensor, tp int) {
	p.once.Do(func() {
		n := len(p.tokens)
		p.tp = (n + bucket - 1) / bucket * bucket
		for l := 0; l < p.nLayers; l++ {
			for _, pair := range []struct {
				dst *[]*tensors.Tensor
				src *Tensor
			}{{&p.padK, p.k[l]}, {&p.padV, p.v[l]}} {
				s := pair.src.Shape
				data := make([]float32, p.tp*s[2]*s[3])
				copy(data, pair.src.Data)
				*pair.dst = append(*pair.dst, tensors.FromFlatDataAndDimensions(data, 1, p.tp, s[2], s[3]))
			}
		}
	})
	return p.padK[l], p.padV[l], p.tp
}

// fitPrefix checks that pf (nil: none) was made by m and that tokens extend it, and returns the prefix
// to run after: pf itself, or, when the tokens are just pf's, pf without its last position, which is
// then recomputed (nil for a one-token prefix).
func (m *Model) fitPrefix(tokens []int, pf *Prefix) (*Prefix, error) {
	if pf == nil {
		return nil, nil
	}
	if pf.nLayers != m.Arch.NLayers || pf.k[0].Shape[2] != m.Arch.NKVHeads || pf.k[0].Shape[3] != m.Arch.DHead {
		return nil, fmt.Errorf("%w: prefix was made by a different model", ErrBadInput)
	}
	P := pf.Len()
	if len(tokens) < P || !slices.Equal(tokens[:P], pf.tokens) {
		return nil, fmt.Errorf("%w: prefix: the %d tokens do not extend the %d-token prefix", ErrBadInput, len(tokens), P)
	}
	if len(tokens) == P { // nothing after the prefix
		return pf.Truncate(P - 1)
	}
	return pf, nil
}

// refuseAttnCapture fails for attention scores and patterns among names: runs in context compute
// attention in the host kernel, which never forms them.
func refuseAttnCapture(names []hook.Name, context string) error {
	for _, n := range names {
		if n.Site == hook.AttnScores || n.Site == hook.Pattern {
			return fmt.Errorf("%w: %s cannot be captured in %s", ErrBadInput, n, context)
		}
	}
	return nil
}

// runWithPrefix runs the tokens after opts.Prefix, attending to its stored keys and values.
func (m *Model) runWithPrefix(tokens []int, opts RunOptions) (*Result, error) {
	pf, err := m.fitPrefix(tokens, opts.Prefix)
	if err != nil {
		return nil, err
	}
	if pf != opts.Prefix {
		opts.Prefix = pf
		return m.Run(tokens, opts)
	}
	P := pf.Len()
	ivs, err := shiftInterventions(opts.Interventions, P, len(tokens))
	if err != nil {
		return nil, err
	}
	if err := refuseAttnCapture(opts.Capture, "a run with a prefix"); err != nil {
		return nil, err
	}
	positions := opts.LogitPositions
	if positions == nil {
		positions = []int{len(tokens) - 1}
	}
	rel := make([]int, len(positions))
	for i, pos := range positions {
		if pos < P || pos >= len(tokens) {
			return nil, fmt.Errorf("%w: prefix: logit position %d outside [%d,%d)", ErrBadInput, pos, P, len(tokens))
		}
		rel[i] = pos - P
	}
	p, err := m.newPass(tokens[P:], ivs)
	if err != nil {
		return nil, err
	}
	if _, long := m.bucket(P + p.tp); (long || p.chunked) && !m.hostAttentionOn() {
		// Too long for one attention graph: run everything and keep the positions after the prefix.
		full := opts
		full.Prefix = nil
		res, err := m.Run(tokens, full)
		if err != nil {
			return nil, err
		}
		for n, t := range res.Cache {
			res.Cache[n] = dropPositions(t, P)
		}
		res.Offset = P
		return res, nil
	}
	p.prefix, p.offset = pf, P
	opts.LogitPositions = rel
	res, err := m.runPass(p, opts)
	if err != nil {
		return nil, err
	}
	res.Positions = slices.Clone(positions)
	res.Offset = P
	return res, nil
}

// shiftInterventions maps a run's interventions onto the positions after a P-token prefix: listed
// positions (which must all lie after the prefix) move back by P, Replace values lose their first P
// positions. Interventions on attention scores and patterns, and mean ablations over the run's own
// positions, are refused. Interventions without positions apply to every position after the prefix:
// for the run to equal the full intervened run, the prefix's keys and values must have been made under
// the same interventions (the caller's contract: a prefix does not record how it was made).
func shiftInterventions(ivs []Intervention, P, T int) ([]Intervention, error) {
	out := make([]Intervention, len(ivs))
	for i, iv := range ivs {
		switch {
		case iv.Hook.Site == hook.AttnScores || iv.Hook.Site == hook.Pattern:
			return nil, fmt.Errorf("%w: prefix: interventions on %s are not supported in runs with a prefix", ErrBadInput, iv.Hook)
		case iv.Kind == Mean && iv.Values == nil:
			return nil, fmt.Errorf("%w: prefix: a mean over the run's positions on %s is not supported in runs with a prefix (pass the mean as Values)",
				ErrBadInput, iv.Hook)
		}
		if iv.Positions != nil {
			pos := make([]int, len(iv.Positions))
			for k, q := range iv.Positions {
				if q < P {
					return nil, fmt.Errorf("%w: prefix: intervention on %s at position %d, inside the %d-token prefix", ErrBadInput, iv.Hook, q, P)
				}
				pos[k] = q - P
			}
			iv.Positions = pos
		}
		if iv.Kind == Replace {
			if iv.Values == nil || len(iv.Values.Shape) < 2 || iv.Values.Shape[0] != 1 || iv.Values.Shape[1] != T {
				return nil, fmt.Errorf("%w: %s: replace values have shape %v, want [1, %d, …]", ErrBadInput, iv.Hook, shapeOf(iv.Values), T)
			}
			iv.Values = dropPositions(iv.Values, P)
		}
		out[i] = iv
	}
	return out, nil
}

// dropPositions removes the first n positions of a [1, pos, ...] tensor.
func dropPositions(t *Tensor, n int) *Tensor {
	shape := slices.Clone(t.Shape)
	row := numel(shape[2:])
	shape[1] -= n
	return &Tensor{Shape: shape, Data: t.Data[n*row:]}
}
