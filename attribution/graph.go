package attribution

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// GraphNode is a node of a segment attribution graph.
type GraphNode struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Label  string `json:"label,omitempty"`
	Start  int    `json:"token_start"`
	End    int    `json:"token_end"`
	Target bool   `json:"target,omitempty"`
}

// GraphEdge is an edge of a segment attribution graph: deleting From lowers To's metric by Weight.
type GraphEdge struct {
	From   string  `json:"from"`
	To     string  `json:"to"`
	Weight float64 `json:"weight"`
}

// SegmentGraph is a segment matrix pruned to the edges that carry most of each node's support and lie on
// a path to the target: "system goal → replacement email → affair email → reasoning → action".
type SegmentGraph struct {
	Episode string      `json:"episode"`
	Metric  string      `json:"metric"`
	Keep    float64     `json:"keep"` // the cumulative share of each node's positive support kept
	Nodes   []GraphNode `json:"nodes"`
	Edges   []GraphEdge `json:"edges"`
	// Path is the widest path into the target (the chain whose weakest edge is strongest; the longer
	// one among equally wide), node ids from its first source to the target; empty when no positive
	// edge reaches the target.
	Path []string `json:"path"`
}

// Graph prunes the matrix to a graph: for every node, its positive incoming edges from the strongest
// down until they sum to keep (0 < keep ≤ 1) of its total positive support; then only the edges and
// nodes on some path into the target, plus the widest path's. Negative entries (a source whose deletion raises the metric) are
// left out: the graph shows support.
func (sm *SegmentMatrix) Graph(episode string, keep float64) (*SegmentGraph, error) {
	if !(keep > 0 && keep <= 1) {
		return nil, fmt.Errorf("%w: graph: keep %g outside (0, 1]", ErrBadInput, keep)
	}
	n := len(sm.Nodes)
	in := make([][]GraphEdge, n) // kept incoming edges per node, by node index in From/To ids
	w := func(s, j int) float64 { return sm.Effect[s][j] }
	for j := range n {
		type cand struct {
			s int
			w float64
		}
		var cs []cand
		total := 0.0
		for s, si := range sm.Sources {
			if si >= j {
				continue
			}
			if v := w(s, j); v > 0 && !math.IsNaN(v) {
				cs = append(cs, cand{s, v})
				total += v
			}
		}
		slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(b.w, a.w), cmp.Compare(a.s, b.s)) })
		sum := 0.0
		for _, c := range cs {
			if sum >= keep*total*(1-1e-12) {
				break
			}
			in[j] = append(in[j], GraphEdge{From: sm.Nodes[sm.Sources[c.s]].ID, To: sm.Nodes[j].ID, Weight: c.w})
			sum += c.w
		}
	}
	// Walk back from the target over kept edges.
	on := make([]bool, n)
	on[n-1] = true
	for j := n - 1; j >= 0; j-- {
		if !on[j] {
			continue
		}
		for _, e := range in[j] {
			on[sm.Index(e.From)] = true
		}
	}
	// The widest path is always drawn, even where its edges fell below the cut.
	path := sm.widestPath()
	for k := 0; k+1 < len(path); k++ {
		i, j := sm.Index(path[k]), sm.Index(path[k+1])
		on[i], on[j] = true, true
		if !slices.ContainsFunc(in[j], func(e GraphEdge) bool { return e.From == path[k] }) {
			s := slices.Index(sm.Sources, i)
			in[j] = append(in[j], GraphEdge{From: path[k], To: path[k+1], Weight: sm.Effect[s][j]})
		}
	}
	g := &SegmentGraph{Episode: episode, Metric: sm.Metric, Keep: keep, Path: path}
	for j, nd := range sm.Nodes {
		if !on[j] {
			continue
		}
		g.Nodes = append(g.Nodes, GraphNode{ID: nd.ID, Kind: string(nd.Kind), Label: nd.Label, Start: nd.Tokens.Start, End: nd.Tokens.End,
			Target: nd.Target})
		g.Edges = append(g.Edges, in[j]...)
	}
	return g, nil
}

// widestPath returns the path into the target that maximises its smallest edge effect, over the whole
// matrix's positive entries (node ids, source first). A single strong edge into the target beats a
// chain of weaker ones; between equally wide paths the longer chain wins (it explains more).
func (sm *SegmentMatrix) widestPath() []string {
	n := len(sm.Nodes)
	srcOf := map[int]int{} // node index → row of Effect
	for s, si := range sm.Sources {
		srcOf[si] = s
	}
	// best[i] is the widest path from node i to the target: its width and the next node.
	width := make([]float64, n)
	next := make([]int, n)
	hops := make([]int, n)
	for i := range width {
		width[i], next[i] = math.Inf(-1), -1
	}
	width[n-1] = math.Inf(1)
	for i := n - 2; i >= 0; i-- {
		s, ok := srcOf[i]
		if !ok {
			continue
		}
		for j := i + 1; j < n; j++ {
			e := sm.Effect[s][j]
			if !(e > 0) || math.IsInf(width[j], -1) {
				continue
			}
			if v := math.Min(e, width[j]); v > width[i] || v == width[i] && hops[j]+1 > hops[i] {
				width[i], next[i], hops[i] = v, j, hops[j]+1
			}
		}
	}
	start := -1
	for i := 0; i < n-1; i++ {
		if next[i] >= 0 && (start < 0 || width[i] > width[start] || width[i] == width[start] && hops[i] > hops[start]) {
			start = i
		}
	}
	if start < 0 {
		return nil
	}
	var path []string
	for i := start; i >= 0; i = next[i] {
		path = append(path, sm.Nodes[i].ID)
		if i == n-1 {
			break
		}
	}
	return path
}
