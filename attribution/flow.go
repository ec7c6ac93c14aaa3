package attribution

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/trace"
)

// Attention-flow method names, as written in the method column of the Parquet tables.
const (
	// MethodAttention is raw attention: the mass that queries put on keys, per layer and head.
	MethodAttention = "attention"
	// MethodRollout is attention rollout (Abnar & Zuidema 2020).
	MethodRollout = "rollout"
)

// The attention-flow key columns besides the content segments.
const (
	// KeySink is the first token (position 0), which takes most of the attention of most heads in most
	// models (the attention sink) whatever it is.
	KeySink = "first_token"
	// KeyOther is every other key outside the content segments: the chat template's tokens and the
	// whitespace-only separators between segments.
	KeyOther = "other"
	// KindSink and KindOther are their kinds.
	KindSink  trace.Kind = "sink"
	KindOther trace.Kind = "other"
)

// FlowOptions configure AttentionFlow.
type FlowOptions struct {
	// Progress, if set, is called with done = 0 after the forward pass, then after each layer's
	// pattern pass.
	Progress func(done, total int)
}

// Flow is where attention goes in one episode, aggregated to segments: raw attention per layer
// (and head) and attention rollout. It is descriptive, not causal: attention weights say what a head
// reads, not what changes the prediction (the values read may be small or cancel, and the residual
// stream carries information past attention); compare with deletion or patching before concluding.
type Flow struct {
	// Queries are the rows: the content segments before the target in episode order (those of the
	// segment matrix, whitespace-only segments left out; the segment holding the token before the target
	// counts with its tokens so far), then the target node, whose one query is the token before the target
	// (the position whose prediction is the target token).
	Queries []MatrixNode
	// Keys are the columns: the content segments (Queries without the target), then the first token
	// (KeySink) and the rest (KeyOther). A key token belongs to the segment owning it (trace.Rendered.
	// TokenSegment), position 0 always to KeySink; every query row's masses add up to 1 over Keys.
	Keys []MatrixNode
	// Layers and Heads are the model's.
	Layers, Heads int
	// Target[l][h][k] is the attention that the query predicting the target pays to key column k at
	// layer l, head h.
	Target [][][]float64
	// Segment[l][q][k] is the head-mean attention of query row q (the mean over its tokens of each
	// token's pattern row) on key column k at layer l. Its last row is Target's head mean.
	Segment [][][]float64
	// TargetTokens[t] is the target query's attention to position t averaged over layers and heads
	// (positions 0..target−1).
	TargetTokens []float64
	// RolloutTokens[t] is attention rollout's target row: with Â_l = ½(mean_h A_l + I) (rows
	// renormalised), e_{target−1}ᵀ·Â_{L−1}·…·Â_0 over positions 0..target−1; it adds up to 1.
	RolloutTokens []float64
	// Rollout[q][k] is the rollout of query row q (its tokens' mean) aggregated to key column k; the last
	// row sums RolloutTokens.
	Rollout [][]float64
	// Value is log p(target token) in the run.
	Value float64
	// Metric is log p(target token) at the token before it, for the token-level Results.
	Metric model.Metric
}

// flowNodes lists the query rows of an attention flow: the segment matrix's content nodes, plus the
// content segment holding the token before the target when it goes on past the target (cut there),
// then the target node.
func flowNodes(r *trace.Rendered, target int) []MatrixNode {
	nodes := matrixNodes(r, target)
	content, tgt := nodes[:len(nodes)-1], nodes[len(nodes)-1]
	s := r.Segments[r.TokenSegment[target-1]]
	if s.Kind != trace.KindTemplate && s.Found && s.Tokens.Start < target && s.Tokens.End > target &&
		!slices.ContainsFunc(content, func(n MatrixNode) bool { return n.ID == s.ID }) &&
		strings.TrimSpace(r.Text[r.Offsets[s.Tokens.Start][0]:r.Offsets[target-1][1]]) != "" {
		content = append(content, MatrixNode{ID: s.ID, Kind: s.Kind, Label: Label(r.Episode, s.ID),
			Tokens: trace.Span{Start: s.Tokens.Start, End: target}})
		slices.SortStableFunc(content, func(a, b MatrixNode) int { return a.Tokens.Start - b.Tokens.Start })
	}
	return append(content, tgt)
}

// AttentionFlow reads every layer's attention of the episode up to the token before target (one
// forward pass keeping rotated queries and keys, model.Attention) and aggregates it to segments:
// target attention per layer and head, the segment × segment attention per layer, and attention
// rollout. Each layer costs one query-weighted pattern pass ([query rows + rollout rows, head, key],
// never [head, pos, pos]), so the whole rollout costs O(layers) passes. target is the target token's
// index.
func AttentionFlow(m *model.Model, r *trace.Rendered, target int, opts FlowOptions) (*Flow, error) {
	if target < 1 || target >= len(r.IDs) {
		return nil, fmt.Errorf("%w: target token %d outside 1..%d", ErrBadInput, target, len(r.IDs)-1)
	}
	T := target // positions 0..target−1
	queries := flowNodes(r, target)
	content := queries[:len(queries)-1]
	keys := slices.Clone(content)
	keys = append(keys, MatrixNode{ID: KeySink, Kind: KindSink, Label: "position 0", Tokens: trace.Span{Start: 0, End: 1}},
		MatrixNode{ID: KeyOther, Kind: KindOther, Label: "template tokens and blank separators"})
	sink, other := len(keys)-2, len(keys)-1
	col := make([]int, T) // key column of each position
	byID := map[string]int{}
	for i, n := range content {
		byID[n.ID] = i
	}
	for t := range col {
		c, ok := byID[r.Segments[r.TokenSegment[t]].ID]
		switch {
		case t == 0:
			c = sink
		case !ok:
			c = other
		}
		col[t] = c
	}
	nq, d := len(queries), m.Dims()
	f := &Flow{Queries: queries, Keys: keys, Layers: d.NLayers, Heads: d.NHeads,
		Metric: model.Metric{Kind: model.LogProb, Position: target - 1, Target: r.IDs[target]}}
	// Fixed query rows: each segment's tokens' mean; the target row one-hot at target−1.
	fixed := make([][]float32, nq)
	for i, n := range queries {
		row := make([]float32, T)
		if n.Target {
			row[T-1] = 1
		} else {
			for t := n.Tokens.Start; t < n.Tokens.End; t++ {
				row[t] = 1 / float32(n.Tokens.Len())
			}
		}
		fixed[i] = row
	}
	a, err := m.Attention(r.IDs[:T], nil)
	if err != nil {
		return nil, fmt.Errorf("attention flow: %w", err)
	}
	f.Value = MetricValue(a.Logits(), f.Metric)
	if opts.Progress != nil {
		opts.Progress(0, d.NLayers)
	}
	f.Target = make([][][]float64, d.NLayers)
	f.Segment = make([][][]float64, d.NLayers)
	f.TargetTokens = make([]float64, T)
	// Rollout rows, propagated from the top layer down: w ← w·½(mean_h A_l + I), renormalised.
	roll := make([][]float64, nq)
	for i := range roll {
		roll[i] = make([]float64, T)
		for t, x := range fixed[i] {
			roll[i][t] = float64(x)
		}
	}
	H := float64(d.NHeads)
	for done, l := 0, d.NLayers-1; l >= 0; done, l = done+1, l-1 {
		rows := slices.Clone(fixed)
		if l < d.NLayers-1 { // at the top layer the rollout rows are the fixed rows
			for _, w := range roll {
				row := make([]float32, T)
				for t, x := range w {
					row[t] = float32(x)
				}
				rows = append(rows, row)
			}
		}
		out, err := a.Weighted(l, rows)
		if err != nil {
			return nil, fmt.Errorf("attention flow: %w", err)
		}
		// pattern(r, h) is row r's weighted pattern in head h over keys 0..T−1.
		pattern := func(r, h int) []float32 { return out.Row(r, h) }
		f.Segment[l] = make([][]float64, nq)
		for q := range nq {
			seg := make([]float64, len(keys))
			for h := range d.NHeads {
				for t, x := range pattern(q, h) {
					seg[col[t]] += float64(x) / H
				}
			}
			f.Segment[l][q] = seg
		}
		tq := nq - 1
		f.Target[l] = make([][]float64, d.NHeads)
		for h := range d.NHeads {
			mass := make([]float64, len(keys))
			for t, x := range pattern(tq, h) {
				mass[col[t]] += float64(x)
				f.TargetTokens[t] += float64(x) / H / float64(d.NLayers)
			}
			f.Target[l][h] = mass
		}
		base := 0
		if l < d.NLayers-1 {
			base = nq
		}
		for q := range nq {
			next := make([]float64, T)
			sum := 0.0
			for h := range d.NHeads {
				for t, x := range pattern(base+q, h) {
					next[t] += float64(x) / H
				}
			}
			for t := range next {
				next[t] = 0.5*next[t] + 0.5*roll[q][t]
				sum += next[t]
			}
			for t := range next {
				next[t] /= sum
			}
			roll[q] = next
		}
		if opts.Progress != nil {
			opts.Progress(done+1, d.NLayers)
		}
	}
	f.RolloutTokens = roll[nq-1]
	f.Rollout = make([][]float64, nq)
	for q, w := range roll {
		agg := make([]float64, len(keys))
		for t, x := range w {
			agg[col[t]] += x
		}
		f.Rollout[q] = agg
	}
	return f, nil
}

// Result returns a token-level view of the flow for BySegment, TokenRows and the token viewer: method
// MethodRollout gives RolloutTokens, MethodAttention TargetTokens (the target query's attention averaged
// over layers and heads), as Score and Magnitude (both non-negative, adding up to 1).
func (f *Flow) Result(method string) (*Result, error) {
	var s []float64
	switch method {
	case MethodRollout:
		s = f.RolloutTokens
	case MethodAttention:
		s = f.TargetTokens
	default:
		return nil, fmt.Errorf("%w: attention flow method %q (want %s or %s)", ErrBadInput, method, MethodAttention, MethodRollout)
	}
	return &Result{Method: method, Metric: f.Metric, Value: f.Value, Score: slices.Clone(s), Magnitude: slices.Clone(s)}, nil
}

// LayerMean returns Segment averaged over layers: [query row][key column].
func (f *Flow) LayerMean() [][]float64 {
	out := make([][]float64, len(f.Queries))
	for q := range out {
		out[q] = make([]float64, len(f.Keys))
		for l := range f.Segment {
			for k, x := range f.Segment[l][q] {
				out[q][k] += x / float64(len(f.Segment))
			}
		}
	}
	return out
}

// TopKey returns the content key column that the target query attends to most, averaged over layers and
// heads (−1 when there is no content key).
func (f *Flow) TopKey() int {
	best, arg := math.Inf(-1), -1
	mean := f.LayerMean()[len(f.Queries)-1]
	for k := range f.Keys[:len(f.Keys)-2] {
		if mean[k] > best {
			best, arg = mean[k], k
		}
	}
	return arg
}
