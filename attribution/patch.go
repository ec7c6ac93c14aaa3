package attribution

import (
	"fmt"
	"math"
	"slices"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// AlignedSegment is a content segment of the clean episode and, when it has one, its counterpart in the
// corrupted episode.
type AlignedSegment struct {
	ID      string // the clean segment's id
	Kind    trace.Kind
	Label   string
	Clean   trace.Span // token span in the clean rendering
	Corrupt trace.Span // token span in the corrupted rendering (empty when not aligned)
	Aligned bool       // a counterpart of the same length exists: position k of one maps to position k of the other
	// Rewritten is true when the counterpart's tokens differ (a segment rewritten to the same length),
	// false when they are the same tokens (whose activations still differ through the context).
	Rewritten bool
}

// Alignment pairs a clean and a corrupted rendering segment by segment: the content segments before each
// one's target, matched in order by their tokens (a longest common subsequence over segments), and in
// the stretches between matches, segments of the same kind and token length paired in order (a segment
// rewritten neutral). Positions are never matched across unequal segments: a clean segment the
// corrupted episode lacks (a deleted email) is not aligned.
type Alignment struct {
	Clean, Corrupt             *trace.Rendered
	CleanTarget, CorruptTarget int // target token indices
	Segments                   []AlignedSegment
}

// contentBefore lists the found, non-empty content segments before target, in token order; the segment
// holding the target counts with its tokens before it (the start of the action: "to: …, body: …").
func contentBefore(r *trace.Rendered, target int) []trace.RenderedSegment {
	var out []trace.RenderedSegment
	for _, s := range r.Segments {
		if s.Kind == trace.KindTemplate || !s.Found || s.Tokens.Len() == 0 || s.Tokens.Start >= target {
			continue
		}
		s.Tokens.End = min(s.Tokens.End, target)
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b trace.RenderedSegment) int { return a.Tokens.Start - b.Tokens.Start })
	return out
}

// Align aligns a clean and a corrupted rendering (see Alignment). The targets must be the same token
// (the metric is its log-probability in both runs), and at least one segment must be the same in both.
func Align(clean, corrupt *trace.Rendered, cleanTarget, corruptTarget int) (*Alignment, error) {
	for _, c := range []struct {
		r *trace.Rendered
		t int
	}{{clean, cleanTarget}, {corrupt, corruptTarget}} {
		if c.t < 1 || c.t >= len(c.r.IDs) {
			return nil, fmt.Errorf("%w: episode %s: target token %d outside 1..%d", ErrBadInput, c.r.Episode.ID, c.t, len(c.r.IDs)-1)
		}
	}
	if a, b := clean.IDs[cleanTarget], corrupt.IDs[corruptTarget]; a != b {
		return nil, fmt.Errorf("%w: the clean target (token %d, id %d) and the corrupted target (token %d, id %d) differ: the metric needs one token",
			ErrBadInput, cleanTarget, a, corruptTarget, b)
	}
	cs, xs := contentBefore(clean, cleanTarget), contentBefore(corrupt, corruptTarget)
	same := func(i, j int) bool {
		return cs[i].Kind == xs[j].Kind && slices.Equal(clean.IDs[cs[i].Tokens.Start:cs[i].Tokens.End], corrupt.IDs[xs[j].Tokens.Start:xs[j].Tokens.End])
	}
	// Longest common subsequence of segments by kind and tokens.
	n, m := len(cs), len(xs)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if same(i, j) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	match := make([]int, n) // clean segment → corrupted segment, −1
	for i := range match {
		match[i] = -1
	}
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case same(i, j) && lcs[i][j] == lcs[i+1][j+1]+1:
			match[i] = j
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			j++
		}
	}
	if lcs[0][0] == 0 {
		return nil, fmt.Errorf("%w: episodes %s and %s: no content segment before the targets is the same in both: not a clean/corrupted pair",
			ErrBadInput, clean.Episode.ID, corrupt.Episode.ID)
	}
	al := &Alignment{Clean: clean, Corrupt: corrupt, CleanTarget: cleanTarget, CorruptTarget: corruptTarget}
	for _, s := range cs {
		al.Segments = append(al.Segments, AlignedSegment{ID: s.ID, Kind: s.Kind, Label: Label(clean.Episode, s.ID), Clean: s.Tokens})
	}
	pair := func(i, j int, rewritten bool) {
		a := &al.Segments[i]
		a.Corrupt, a.Aligned, a.Rewritten = xs[j].Tokens, true, rewritten
	}
	// Matches, and between consecutive matches the same-kind, same-length segments in order.
	pi, pj := -1, -1
	for i := 0; i <= n; i++ {
		if i < n && match[i] < 0 {
			continue
		}
		ni, nj := n, m
		if i < n {
			ni, nj = i, match[i]
		}
		used := pj + 1
		for a := pi + 1; a < ni; a++ {
			for b := used; b < nj; b++ {
				if cs[a].Kind == xs[b].Kind && cs[a].Tokens.Len() == xs[b].Tokens.Len() {
					pair(a, b, true)
					used = b + 1
					break
				}
			}
		}
		if i < n {
			pair(i, match[i], false)
		}
		pi, pj = ni, nj
	}
	return al, nil
}

// PatchOptions configure Patch, AttributionPatch and AttributionPatchStar.
type PatchOptions struct {
	Sites  []hook.Site // block sites to patch (nil: resid_pre, attn_out, mlp_out)
	Layers []int       // layers (nil: all)
	// Kinds limits the patched segments to these kinds (nil: every aligned segment).
	Kinds []trace.Kind
	// Heads also patches each attention head's output (hook_z) over every aligned position, per layer.
	Heads bool
	// LastPositions, if positive, also patches each site at each of the last that many aligned
	// positions before the target, one position at a time: the layer × position grid.
	LastPositions int
	// Contrast, if positive, makes the metric the logit difference logit[target] − logit[Contrast]
	// (a token id) instead of log p(target). A saturated model (log p ≈ 0) leaves log p's gradient near
	// zero and its changes at float32 noise; the logit difference keeps its scale.
	Contrast int
	// Progress, if set, is called after each patched run.
	Progress func(done, total int)
}

// metric is the patching metric of the target token id tok, read at position pos.
func (o PatchOptions) metric(tok, pos int) model.Metric {
	if o.Contrast > 0 {
		return model.Metric{Kind: model.LogitDiff, Position: pos, Target: tok, Contrast: o.Contrast}
	}
	return model.Metric{Kind: model.LogProb, Position: pos, Target: tok}
}

// PatchCell is one patch: a site at a layer (and head, or −1) over one aligned segment's positions.
type PatchCell struct {
	Site    hook.Name
	Head    int // −1: every head (the whole site)
	Segment int // index into Alignment.Segments; −1 for every aligned position (the per-head patches)
	// Position is the clean token patched (one position, in its segment), or −1 for the whole segment.
	Position int
	// Value is the metric with the patch; Restored is (Value − Corrupt) / (Clean − Corrupt): 1 when the
	// patch restores the clean metric, 0 when it changes nothing.
	Value, Restored float64
}

// PatchResult is a grid of patches from a clean run into a corrupted one.
type PatchResult struct {
	Method         string // "patch", "atp" or "atp*"
	Clean, Corrupt float64
	Cells          []PatchCell
	Runs           int // patched runs (Patch) or backward passes (AttributionPatch)
	Tokens         int // context tokens of all runs
	Computed       int // tokens actually run (the rest came from the corrupted run's keys and values)
}

func (o PatchOptions) sites(m *model.Model) ([]hook.Name, error) {
	sites := o.Sites
	if sites == nil {
		sites = []hook.Site{hook.ResidPre, hook.AttnOut, hook.MLPOut}
	}
	layers := o.Layers
	if layers == nil {
		layers = model.AllPositions(m.Dims().NLayers)
	}
	var out []hook.Name
	for _, s := range sites {
		if !s.InBlock() || s == hook.AttnScores || s == hook.Pattern {
			return nil, fmt.Errorf("%w: patching %s is not supported (patch residual, attention output, MLP or head sites)", ErrBadInput, s)
		}
		for _, l := range layers {
			if l < 0 || l >= m.Dims().NLayers {
				return nil, fmt.Errorf("%w: layer %d (model has %d)", ErrBadInput, l, m.Dims().NLayers)
			}
			out = append(out, hook.At(s, l))
		}
	}
	return out, nil
}

// plan returns a grid's sites, the segments to patch, and every site whose activations it reads (the
// sites, and hook_z of every layer for the per-head cells).
func (o PatchOptions) plan(m *model.Model, al *Alignment) (sites []hook.Name, segs []int, read []hook.Name, err error) {
	if sites, err = o.sites(m); err != nil {
		return nil, nil, nil, err
	}
	if segs, err = al.segmentsToPatch(o.Kinds); err != nil {
		return nil, nil, nil, err
	}
	read = slices.Clone(sites)
	if o.Heads {
		for l := range m.Dims().NLayers {
			read = append(read, hook.At(hook.Z, l))
		}
	}
	return sites, segs, read, nil
}

// segmentsToPatch returns the indices of the aligned segments of the kinds.
func (al *Alignment) segmentsToPatch(kinds []trace.Kind) ([]int, error) {
	var out []int
	for i, s := range al.Segments {
		if s.Aligned && (kinds == nil || slices.Contains(kinds, s.Kind)) {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no aligned segment of kinds %v to patch", ErrBadInput, kinds)
	}
	return out, nil
}

// lastPositions returns the last n aligned (segment, offset) pairs before the targets, in order.
func (al *Alignment) lastPositions(n int) [][2]int {
	var out [][2]int
	for i := len(al.Segments) - 1; i >= 0 && len(out) < n; i-- {
		s := al.Segments[i]
		if !s.Aligned {
			continue
		}
		for k := s.Clean.Len() - 1; k >= 0 && len(out) < n; k-- {
			out = append(out, [2]int{i, k})
		}
	}
	slices.Reverse(out)
	return out
}

// metricAt is the metric of the target token from a run whose only logit position is the target's
// predecessor.
func metricAt(res *model.Result, metric model.Metric) float64 {
	return MetricValue(res.Logits.Row(0), metric)
}

// baseRuns returns the metric mt of the clean and corrupted runs, the clean run's activations at the
// sites, and the corrupted run's keys and values.
func (al *Alignment) baseRuns(m *model.Model, sites []hook.Name, mt model.Metric) (clean, corrupt float64, cleanCache model.Cache, pf *model.Prefix, err error) {
	cr, err := m.Run(al.Clean.IDs[:al.CleanTarget], model.RunOptions{Capture: sites, LogitPositions: []int{al.CleanTarget - 1}})
	if err != nil {
		return 0, 0, nil, nil, fmt.Errorf("clean run: %w", err)
	}
	xt := al.Corrupt.IDs[:al.CorruptTarget]
	xr, err := m.Run(xt, model.RunOptions{Capture: m.PrefixSites(), LogitPositions: []int{al.CorruptTarget - 1}})
	if err != nil {
		return 0, 0, nil, nil, fmt.Errorf("corrupted run: %w", err)
	}
	if pf, err = m.PrefixFromCache(xt, xr.Cache); err != nil {
		return 0, 0, nil, nil, err
	}
	return metricAt(cr, mt), metricAt(xr, mt), cr.Cache, pf, nil
}

// patchValues returns a Replace tensor over the corrupted run's positions holding the clean activations
// of site at the aligned positions of segs (zero elsewhere: only those positions are patched), and the
// positions.
func (al *Alignment) patchValues(c *model.Tensor, segs []int, T int) (*model.Tensor, []int) {
	spans := make([]AlignedSegment, len(segs))
	for i, si := range segs {
		spans[i] = al.Segments[si]
	}
	return al.patchSpans(c, spans, T)
}

// patchSpans is patchValues over aligned spans.
func (al *Alignment) patchSpans(c *model.Tensor, spans []AlignedSegment, T int) (*model.Tensor, []int) {
	row := c.Numel() / c.Shape[1]
	shape := slices.Clone(c.Shape)
	shape[1] = T
	v := &model.Tensor{Shape: shape, Data: make([]float32, T*row)}
	var pos []int
	for _, s := range spans {
		for k := range s.Clean.Len() {
			q, p := s.Corrupt.Start+k, s.Clean.Start+k
			copy(v.Data[q*row:(q+1)*row], c.Data[p*row:(p+1)*row])
			pos = append(pos, q)
		}
	}
	return v, pos
}

// Patch runs activation patching from the clean run into the corrupted one: for every site, layer and
// aligned segment, the corrupted run with the site's activations at the segment's positions replaced by
// the clean run's at the aligned positions, and the metric (log p of the target token, or the logit
// difference with opts.Contrast) it gives. With
// opts.Heads, also each head's output (hook_z) over every aligned position. Each patched run reuses the
// corrupted run's keys and values before its first patched position.
func Patch(m *model.Model, al *Alignment, opts PatchOptions) (*PatchResult, error) {
	sites, segs, capture, err := opts.plan(m, al)
	if err != nil {
		return nil, err
	}
	mt := opts.metric(al.Clean.IDs[al.CleanTarget], 0)
	clean, corrupt, cc, whole, err := al.baseRuns(m, capture, mt)
	if err != nil {
		return nil, err
	}
	res := &PatchResult{Method: "patch", Clean: clean, Corrupt: corrupt}
	T := al.CorruptTarget
	total := len(sites) * (len(segs) + len(al.lastPositions(opts.LastPositions)))
	if opts.Heads {
		total += m.Dims().NLayers * m.Dims().NHeads
	}
	run := func(site hook.Name, vals *model.Tensor, pos []int) (float64, error) {
		first := slices.Min(pos)
		pf, err := whole.Truncate(first)
		if err != nil {
			return 0, err
		}
		r, err := m.Run(al.Corrupt.IDs[:T], model.RunOptions{Prefix: pf, LogitPositions: []int{T - 1},
			Interventions: []model.Intervention{{Hook: site, Kind: model.Replace, Positions: pos, Values: vals}}})
		if err != nil {
			return 0, fmt.Errorf("patch %s: %w", site, err)
		}
		res.Runs++
		res.Tokens += T
		res.Computed += T - r.Offset
		if opts.Progress != nil {
			opts.Progress(res.Runs, total)
		}
		return metricAt(r, mt), nil
	}
	restored := func(v float64) float64 { return restoredShare(v-corrupt, clean-corrupt) }
	for _, site := range sites {
		for _, si := range segs {
			vals, pos := al.patchValues(cc[site], []int{si}, T)
			v, err := run(site, vals, pos)
			if err != nil {
				return nil, err
			}
			res.Cells = append(res.Cells, PatchCell{Site: site, Head: -1, Segment: si, Position: -1, Value: v, Restored: restored(v)})
		}
	}
	for _, site := range sites {
		for _, sk := range al.lastPositions(opts.LastPositions) {
			sg := al.Segments[sk[0]]
			one := AlignedSegment{Clean: trace.Span{Start: sg.Clean.Start + sk[1], End: sg.Clean.Start + sk[1] + 1},
				Corrupt: trace.Span{Start: sg.Corrupt.Start + sk[1], End: sg.Corrupt.Start + sk[1] + 1}}
			vals, pos := al.patchSpans(cc[site], []AlignedSegment{one}, T)
			v, err := run(site, vals, pos)
			if err != nil {
				return nil, err
			}
			res.Cells = append(res.Cells, PatchCell{Site: site, Head: -1, Segment: sk[0], Position: one.Clean.Start, Value: v, Restored: restored(v)})
		}
	}
	if opts.Heads {
		// Each head's output over every aligned position; the other heads keep the corrupted run's
		// values (upstream of the patch nothing changed, so those are what the run computes).
		zs, err := m.Run(al.Corrupt.IDs[:T], model.RunOptions{Capture: capture[len(sites):], LogitPositions: []int{T - 1}})
		if err != nil {
			return nil, fmt.Errorf("corrupted run: %w", err)
		}
		all, err := al.segmentsToPatch(nil)
		if err != nil {
			return nil, err
		}
		d := m.Dims()
		for l := range d.NLayers {
			site := hook.At(hook.Z, l)
			cleanZ, pos := al.patchValues(cc[site], all, T)
			for h := range d.NHeads {
				vals := &model.Tensor{Shape: slices.Clone(zs.Cache[site].Shape), Data: slices.Clone(zs.Cache[site].Data)}
				for _, q := range pos {
					at := (q*d.NHeads + h) * d.DHead
					copy(vals.Data[at:at+d.DHead], cleanZ.Data[at:at+d.DHead])
				}
				v, err := run(site, vals, pos)
				if err != nil {
					return nil, err
				}
				res.Cells = append(res.Cells, PatchCell{Site: site, Head: h, Segment: -1, Position: -1, Value: v, Restored: restored(v)})
			}
		}
	}
	return res, nil
}

// AttributionPatch estimates the same grid as Patch to first order (attribution patching, AtP): for each
// site, the gradient of the metric in the corrupted run times (clean − corrupted activation), summed
// over a segment's aligned positions (or, per head, over every aligned position of the head's slice of
// hook_z). One forward pass of the clean run and one forward and backward pass of the corrupted run give
// every cell. Value is the corrupted metric plus the estimate.
func AttributionPatch(m *model.Model, al *Alignment, opts PatchOptions) (*PatchResult, error) {
	atp, _, err := attributionPatch(m, al, opts, false)
	return atp, err
}

// AttributionPatchStar returns AtP (as AttributionPatch) and AtP* (Method "atp*", Kramár et al. 2024)
// estimates of the same grid from one backward pass. They differ at hook_q and hook_k cells: there
// AtP* recomputes the layer's attention pattern exactly under the patched queries or keys (rotated at
// the corrupted positions) and linearises only from the attention output on, Σ dz·(z′ − z) with dz the
// gradient at hook_z (model.PatternEffects). A softmax saturated on a few keys has a near-zero gradient
// even where a patch moves its attention a long way: AtP misses such cells, AtP* does not. Every other
// cell is the same in both (AtP*'s second fix, GradDrop, is not applied). The pattern step costs about
// three attention products per patched layer for all of its cells at once.
func AttributionPatchStar(m *model.Model, al *Alignment, opts PatchOptions) (atp, star *PatchResult, err error) {
	return attributionPatch(m, al, opts, true)
}

// attributionPatch computes AtP over the grid and, with star, AtP* too.
func attributionPatch(m *model.Model, al *Alignment, opts PatchOptions, star bool) (atp, atpStar *PatchResult, err error) {
	sites, segs, read, err := opts.plan(m, al)
	if err != nil {
		return nil, nil, err
	}
	wrt := slices.Clone(read)
	var qkLayers []int // layers with query or key cells: AtP* needs their q, k, v and the gradient at z
	if star {
		for _, s := range sites {
			if (s.Site == hook.Q || s.Site == hook.K) && !slices.Contains(qkLayers, s.Layer) {
				qkLayers = append(qkLayers, s.Layer)
				for _, x := range []hook.Site{hook.Q, hook.K, hook.V, hook.Z} {
					if n := hook.At(x, s.Layer); !slices.Contains(wrt, n) {
						wrt = append(wrt, n)
					}
				}
			}
		}
	}
	tok := al.Clean.IDs[al.CleanTarget]
	cr, err := m.Run(al.Clean.IDs[:al.CleanTarget], model.RunOptions{Capture: read, LogitPositions: []int{al.CleanTarget - 1}})
	if err != nil {
		return nil, nil, fmt.Errorf("clean run: %w", err)
	}
	T := al.CorruptTarget
	g, err := m.Gradient(al.Corrupt.IDs[:T], opts.metric(tok, T-1), model.GradOptions{Wrt: wrt})
	if err != nil {
		return nil, nil, fmt.Errorf("corrupted run's gradient: %w", err)
	}
	clean, corrupt := metricAt(cr, opts.metric(tok, 0)), g.Value
	res := &PatchResult{Method: "atp", Clean: clean, Corrupt: corrupt, Runs: 1, Tokens: al.CleanTarget + T, Computed: al.CleanTarget + T}
	restored := func(est float64) float64 { return restoredShare(est, clean-corrupt) }
	// contrib returns Σ over aligned pairs of (clean − corrupt)·grad over the row slice [lo, hi).
	contrib := func(site hook.Name, seg AlignedSegment, lo, hi int) float64 {
		c, x, gr := cr.Cache[site], g.Cache[site], g.Grads[site]
		row := c.Numel() / c.Shape[1]
		s := 0.0
		for k := range seg.Clean.Len() {
			p, q := seg.Clean.Start+k, seg.Corrupt.Start+k
			for j := lo; j < hi; j++ {
				s += (float64(c.Data[p*row+j]) - float64(x.Data[q*row+j])) * float64(gr.Data[q*row+j])
			}
		}
		return s
	}
	// The grid's cells as spans of aligned positions, in PatchResult order (the per-head cells follow).
	type cellSpan struct {
		site     hook.Name
		seg      int
		position int
		span     AlignedSegment
	}
	var spans []cellSpan
	for _, site := range sites {
		for _, si := range segs {
			spans = append(spans, cellSpan{site, si, -1, al.Segments[si]})
		}
	}
	for _, site := range sites {
		for _, sk := range al.lastPositions(opts.LastPositions) {
			sg := al.Segments[sk[0]]
			one := AlignedSegment{Clean: trace.Span{Start: sg.Clean.Start + sk[1], End: sg.Clean.Start + sk[1] + 1},
				Corrupt: trace.Span{Start: sg.Corrupt.Start + sk[1], End: sg.Corrupt.Start + sk[1] + 1}}
			spans = append(spans, cellSpan{site, sk[0], one.Clean.Start, one})
		}
	}
	for _, c := range spans {
		e := contrib(c.site, c.span, 0, cr.Cache[c.site].Numel()/cr.Cache[c.site].Shape[1])
		res.Cells = append(res.Cells, PatchCell{Site: c.site, Head: -1, Segment: c.seg, Position: c.position, Value: corrupt + e, Restored: restored(e)})
	}
	if opts.Heads {
		all, err := al.segmentsToPatch(nil)
		if err != nil {
			return nil, nil, err
		}
		d := m.Dims()
		for l := range d.NLayers {
			site := hook.At(hook.Z, l)
			for h := range d.NHeads {
				e := 0.0
				for _, si := range all {
					e += contrib(site, al.Segments[si], h*d.DHead, (h+1)*d.DHead)
				}
				res.Cells = append(res.Cells, PatchCell{Site: site, Head: h, Segment: -1, Position: -1, Value: corrupt + e, Restored: restored(e)})
			}
		}
	}
	if !star {
		return res, nil, nil
	}
	st := *res
	st.Method = "atp*"
	st.Cells = slices.Clone(res.Cells)
	for _, l := range qkLayers {
		var patches []model.QKPatch
		var cells []int
		for i, c := range spans {
			if c.site.Layer != l || c.site.Site != hook.Q && c.site.Site != hook.K {
				continue
			}
			vals, pos := al.patchSpans(cr.Cache[c.site], []AlignedSegment{c.span}, T)
			patches = append(patches, model.QKPatch{Site: c.site.Site, Positions: pos, Values: vals})
			cells = append(cells, i)
		}
		eff, err := m.PatternEffects(l, g.Cache[hook.At(hook.Q, l)], g.Cache[hook.At(hook.K, l)], g.Cache[hook.At(hook.V, l)],
			g.Grads[hook.ZAt(l)], patches)
		if err != nil {
			return nil, nil, err
		}
		for x, i := range cells {
			e := 0.0
			for _, v := range eff[x] {
				e += v
			}
			st.Cells[i].Value, st.Cells[i].Restored = corrupt+e, restored(e)
		}
	}
	return res, &st, nil
}

// restoredShare is moved / gap, NaN when the clean and corrupted metrics are equal (nothing to restore).
func restoredShare(moved, gap float64) float64 {
	if gap == 0 {
		return math.NaN()
	}
	return moved / gap
}

// PatchComparison is how an estimate of a patching grid (AtP, AtP*) agrees with measured patching over
// the cells both have.
type PatchComparison struct {
	Cells    int     // cells compared
	Spearman float64 // rank correlation of the restored shares (NaN with fewer than two cells)
	// Large counts the cells that matter: patching restores at least a quarter of the largest |share|
	// among the compared cells.
	Large int
	// FalseNegatives are the measured cells among those that the estimate misses: it gives under a
	// quarter of the measured share, or the opposite sign.
	FalseNegatives []PatchCell
}

// Identity reports whether patching the cell changes nothing by construction: a segment (or one
// position of it) that, with everything before it, is the same tokens at the same positions in both
// renderings (before the first edit), so the model, being causal, computes the same activations there
// in both runs. Its measured and estimated effects are 0 (patching's up to float rounding); left in a
// rank correlation, such cells tie and inflate it. Per-head cells (every aligned position) are never
// identities here.
func (al *Alignment) Identity(c PatchCell) bool {
	if c.Segment < 0 || c.Segment >= len(al.Segments) {
		return false
	}
	s := al.Segments[c.Segment]
	if !s.Aligned || s.Clean.Start != s.Corrupt.Start {
		return false
	}
	end := s.Clean.End
	if c.Position >= 0 {
		end = c.Position + 1
	}
	return end <= len(al.Clean.IDs) && end <= len(al.Corrupt.IDs) && slices.Equal(al.Clean.IDs[:end], al.Corrupt.IDs[:end])
}

// ComparePatch compares an estimate with measured patching over the cells that both grids hold (matched
// by site, head, segment and position) and that keep accepts (nil: every cell), e.g. one site's, or
// those that are not Alignment.Identity.
func ComparePatch(est, measured *PatchResult, keep func(PatchCell) bool) PatchComparison {
	type key struct {
		site                  hook.Name
		head, segment, offset int
	}
	k := func(c PatchCell) key { return key{c.Site, c.Head, c.Segment, c.Position} }
	byKey := map[key]PatchCell{}
	for _, c := range est.Cells {
		byKey[k(c)] = c
	}
	var a, b []float64
	var pairs [][2]PatchCell
	biggest := 0.0
	for _, c := range measured.Cells {
		e, ok := byKey[k(c)]
		if !ok || keep != nil && !keep(c) {
			continue
		}
		a, b = append(a, e.Restored), append(b, c.Restored)
		pairs = append(pairs, [2]PatchCell{e, c})
		if !math.IsNaN(c.Restored) {
			biggest = math.Max(biggest, math.Abs(c.Restored))
		}
	}
	out := PatchComparison{Cells: len(pairs), Spearman: Spearman(a, b)}
	for _, p := range pairs {
		e, c := p[0].Restored, p[1].Restored
		if biggest == 0 || math.IsNaN(c) || math.Abs(c) < biggest/4 {
			continue
		}
		out.Large++
		if !(e/c >= 0.25) {
			out.FalseNegatives = append(out.FalseNegatives, p[1])
		}
	}
	return out
}
