package attribution_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// bruteNodeValues runs tokens in full (no prefix, no batch) and reads each node's metric the way the
// matrix defines it, from the full logits: the mean over the node's tokens of log-softmax at the token
// (node spans given in the run's own token indices), or the target's log p; or, with a readout, the
// residual at the node's last token (the target node: the token before it) dotted with the direction.
func bruteNodeValues(t *testing.T, m *model.Model, toks []int, spans []trace.Span, target []bool, ro *attribution.Readout) []float64 {
	t.Helper()
	ropts := model.RunOptions{LogitPositions: model.AllPositions(len(toks))}
	if ro != nil {
		ropts.Capture = []hook.Name{ro.Site}
	}
	res, err := m.Run(toks, ropts)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Dims().DVocab
	out := make([]float64, len(spans))
	for j, sp := range spans {
		if ro != nil {
			q := sp.End - 1
			if target[j] {
				q = sp.Start - 1
			}
			var d float64
			for k, v := range res.Cache[ro.Site].Row(0, q) {
				d += float64(v) * float64(ro.Vector[k])
			}
			out[j] = d
			continue
		}
		sum, n := 0.0, 0
		for q := max(1, sp.Start); q < sp.End; q++ {
			sum += attribution.MetricValue(res.Logits.Data[(q-1)*V:q*V], model.Metric{Kind: model.LogProb, Target: toks[q]})
			n++
		}
		out[j] = sum / float64(n)
	}
	return out
}

// TestSegmentMatrixBruteForce checks every entry of the deletion matrix (built from one packed pass per
// source after the whole episode's keys and values) against a full single run of the episode with that
// segment deleted, for the log-likelihood metric and for a direction readout: to 1e-4 absolute (float32
// sums in another order; log-likelihoods are O(10)).
func TestSegmentMatrixBruteForce(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	checkMatrixBruteForce(t, f.m, r, tg.Token)
}

// TestSegmentMatrixFirstSegment is TestSegmentMatrixBruteForce on a rendering whose first content
// segment starts at token 0 (a template that prints nothing before the first message): with it deleted,
// the token that becomes the first has nothing to predict it and is left out of its segment's mean.
func TestSegmentMatrixFirstSegment(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	n := tg.Token
	g := &trace.Rendered{Episode: r.Episode, Text: strings.Repeat("x", n+1), IDs: r.IDs[:n+1], Offsets: make([][2]int, n+1),
		TokenSegment: make([]int, n+1)}
	g.Segments = []trace.RenderedSegment{{ID: trace.TemplateID, Kind: trace.KindTemplate, Message: -1,
		Char: trace.Span{End: n + 1}, Tokens: trace.Span{End: n + 1}, Found: true}}
	for i := range 4 {
		sp := trace.Span{Start: n * i / 4, End: n * (i + 1) / 4}
		g.Segments = append(g.Segments, trace.RenderedSegment{ID: fmt.Sprintf("part[%d]", i), Kind: trace.KindEmail, Char: sp, Tokens: sp, Found: true})
	}
	checkMatrixBruteForce(t, f.m, g, n)
}

// checkMatrixBruteForce checks every entry of the deletion matrix of r (built from one packed pass per
// source after the whole episode's keys and values) against a full single run of the episode with that
// segment deleted, for the log-likelihood metric and for a direction readout: to 1e-4 absolute (float32
// sums in another order; log-likelihoods are O(10)).
func checkMatrixBruteForce(t *testing.T, m *model.Model, r *trace.Rendered, target int) {
	t.Helper()
	dir := attribution.RandomDirections(1, m.Dims().DModel, 5)[0]
	for _, ro := range []*attribution.Readout{nil, {Name: "rand", Site: hook.ResidPostAt(1), Vector: dir}} {
		sm, err := attribution.DeletionMatrix(m, r, target, attribution.MatrixOptions{Readout: ro})
		if err != nil {
			t.Fatal(err)
		}
		if n := sm.Nodes[len(sm.Nodes)-1]; !n.Target || n.Tokens.Start != target || len(sm.Sources) != len(sm.Nodes)-1 {
			t.Fatalf("nodes end with %+v; %d sources of %d nodes", n, len(sm.Sources), len(sm.Nodes))
		}
		if sm.Computed >= sm.Tokens {
			t.Errorf("computed %d of %d tokens: the deletions reused nothing", sm.Computed, sm.Tokens)
		}
		spans := make([]trace.Span, len(sm.Nodes))
		isTarget := make([]bool, len(sm.Nodes))
		for j, n := range sm.Nodes {
			spans[j], isTarget[j] = n.Tokens, n.Target
		}
		base := bruteNodeValues(t, m, r.IDs[:target+1], spans, isTarget, ro)
		for j := range base {
			if math.Abs(base[j]-sm.Base[j]) > 1e-4 {
				t.Errorf("metric %s: base of %s = %v, brute force %v", sm.Metric, sm.Nodes[j].ID, sm.Base[j], base[j])
			}
		}
		for s, si := range sm.Sources {
			sp := sm.Nodes[si].Tokens
			toks := append(slices.Clone(r.IDs[:sp.Start]), r.IDs[sp.End:target+1]...)
			shifted := make([]trace.Span, 0, len(spans))
			for _, x := range spans[si+1:] {
				shifted = append(shifted, trace.Span{Start: x.Start - sp.Len(), End: x.End - sp.Len()})
			}
			want := bruteNodeValues(t, m, toks, shifted, isTarget[si+1:], ro)
			for j := range sm.Nodes {
				v := sm.Value[s][j]
				if j <= si {
					if !math.IsNaN(v) || !math.IsNaN(sm.Effect[s][j]) {
						t.Errorf("without %s: %s is not after it but has value %v", sm.Nodes[si].ID, sm.Nodes[j].ID, v)
					}
					continue
				}
				if w := want[j-si-1]; math.Abs(v-w) > 1e-4 || sm.Effect[s][j] != sm.Base[j]-v {
					t.Errorf("metric %s, without %s: %s = %v (effect %v), brute force %v", sm.Metric, sm.Nodes[si].ID, sm.Nodes[j].ID, v,
						sm.Effect[s][j], w)
				}
			}
		}
	}
}

// TestSegmentMatrixErrors: a target before every segment, a target outside the episode, and a readout
// of the wrong width are refused with ErrBadInput.
func TestSegmentMatrixErrors(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	for name, c := range map[string]struct {
		target int
		opts   attribution.MatrixOptions
	}{
		"target first":  {1, attribution.MatrixOptions{}},
		"target past":   {len(r.IDs), attribution.MatrixOptions{}},
		"no such kinds": {tg.Token, attribution.MatrixOptions{Sources: []trace.Kind{trace.KindToolResult}}},
		"readout width": {tg.Token, attribution.MatrixOptions{Readout: &attribution.Readout{Site: hook.ResidPostAt(0), Vector: make([]float32, 3)}}},
	} {
		if _, err := attribution.DeletionMatrix(f.m, r, c.target, c.opts); !errors.Is(err, attribution.ErrBadInput) {
			t.Errorf("%s: err = %v, want ErrBadInput", name, err)
		}
	}
}

// TestGraphPlantedChain prunes a hand-made matrix with a planted chain A → B → C → target, a weak
// direct edge A → target, a distractor D whose only edge is weak, and a negative edge: the graph keeps
// exactly the chain, and the widest path is the chain.
func TestGraphPlantedChain(t *testing.T) {
	nan := math.NaN()
	ids := []string{"A", "B", "C", "D", "target"}
	sm := &attribution.SegmentMatrix{Metric: attribution.MatrixLogProb, Sources: []int{0, 1, 2, 3}}
	for i, id := range ids {
		sm.Nodes = append(sm.Nodes, attribution.MatrixNode{ID: id, Kind: "email", Tokens: trace.Span{Start: 10 * i, End: 10*i + 5},
			Target: id == "target"})
	}
	sm.Effect = [][]float64{
		{nan, 1.0, 0.02, 0.0, 0.1},  // A: supports B, barely C, a little the target
		{nan, nan, 1.0, -0.5, 0.01}, // B: supports C, works against D
		{nan, nan, nan, 0.0, 1.0},   // C: supports the target
		{nan, nan, nan, nan, 0.05},  // D: a weak distractor
	}
	g, err := sm.Graph("ep", 0.8)
	if err != nil {
		t.Fatal(err)
	}
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+"→"+e.To)
	}
	if want := []string{"A→B", "B→C", "C→target"}; !slices.Equal(edges, want) {
		t.Errorf("edges %v, want %v", edges, want)
	}
	var nodes []string
	for _, n := range g.Nodes {
		nodes = append(nodes, n.ID)
	}
	if want := []string{"A", "B", "C", "target"}; !slices.Equal(nodes, want) {
		t.Errorf("nodes %v, want %v", nodes, want)
	}
	if want := []string{"A", "B", "C", "target"}; !slices.Equal(g.Path, want) {
		t.Errorf("widest path %v, want %v", g.Path, want)
	}
	// Keeping everything adds the weaker positive edges into the target, never the negative one.
	all, err := sm.Graph("ep", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all.Edges {
		if e.Weight <= 0 {
			t.Errorf("edge %+v with non-positive weight", e)
		}
	}
	if len(all.Edges) != 7 { // A→B A→C A→t B→C B→t C→t D→t
		t.Errorf("keep 1: %d edges, want 7", len(all.Edges))
	}
	if _, err := sm.Graph("ep", 0); !errors.Is(err, attribution.ErrBadInput) {
		t.Errorf("keep 0: err = %v", err)
	}
}

// TestGraphKeepsWidestPath: the widest path follows the bottleneck, not the single strongest edge out
// of a node (A's strongest support goes to a dead end), and appears whole in the graph.
func TestGraphKeepsWidestPath(t *testing.T) {
	nan := math.NaN()
	sm := &attribution.SegmentMatrix{Metric: attribution.MatrixLogProb, Sources: []int{0, 1, 2}}
	for i, id := range []string{"A", "B", "C", "target"} {
		sm.Nodes = append(sm.Nodes, attribution.MatrixNode{ID: id, Tokens: trace.Span{Start: i, End: i + 1}, Target: id == "target"})
	}
	sm.Effect = [][]float64{
		{nan, 0.9, 0.0, 0.0},
		{nan, nan, 0.0, 0.9},
		{nan, nan, nan, 5.0},
	}
	g, err := sm.Graph("ep", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"C", "target"}; !slices.Equal(g.Path, want) {
		t.Fatalf("path %v, want %v", g.Path, want)
	}
	sm.Effect[2][3] = 0.5 // now A → B → target (width 0.9) is the widest
	sm.Effect[0][2] = 10  // A's strongest support goes to C, whose path is narrower (0.5)
	g, err = sm.Graph("ep", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A", "B", "target"}; !slices.Equal(g.Path, want) {
		t.Fatalf("path %v, want %v", g.Path, want)
	}
	found := 0
	for _, e := range g.Edges {
		if e.From == "A" && e.To == "B" || e.From == "B" && e.To == "target" {
			found++
		}
	}
	if found != 2 {
		t.Errorf("graph edges %+v lack the widest path's", g.Edges)
	}
}
