package bench

import (
	"fmt"
	"math"
	"strings"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// The cross-turn jobs (Matrix, AtP, Patch) run the attribution package's own functions on a synthetic
// rendering: the job's tokens, the last one the target, the positions before it cut into
// CrossSegments equal content segments. The corrupted episode of AtP and Patch is the same tokens with
// segment CorruptSegment rewritten (each id shifted by one), so it aligns segment for segment.

// CrossSegments is the number of content segments of the cross-turn jobs.
const CrossSegments = 20

// CorruptSegment is the segment the corrupted sequence of AtP and Patch rewrites.
const CorruptSegment = 10

// crossBounds returns the CrossSegments+1 boundaries of the n−1 positions before the target.
func crossBounds(n int) []int {
	b := make([]int, CrossSegments+1)
	for i := range b {
		b[i] = (n - 1) * i / CrossSegments
	}
	return b
}

// corrupted returns tokens with segment CorruptSegment rewritten: every id in it moved to the next id
// (mod vocab), the same length, so the segments align one to one.
func corrupted(tokens []int, vocab int) []int {
	b := crossBounds(len(tokens))
	out := append([]int(nil), tokens...)
	for i := b[CorruptSegment]; i < b[CorruptSegment+1]; i++ {
		out[i] = (out[i] + 1) % vocab
	}
	return out
}

// patchLayers are the layers of a Patch job: the first, the middle and the last.
func patchLayers(nLayers int) []int {
	return []int{0, nLayers / 2, nLayers - 1}
}

// synthetic returns a rendering of tokens whose content segments are segs (indices into the
// CrossSegments equal segments; the others are left to the template) and whose last token is the
// target. Text has one letter per token, so no segment is whitespace.
func synthetic(id string, tokens []int, segs []int) *trace.Rendered {
	n := len(tokens)
	b := crossBounds(n)
	r := &trace.Rendered{
		Episode:      &trace.Episode{ID: id},
		Text:         strings.Repeat("x", n),
		IDs:          tokens,
		Offsets:      make([][2]int, n),
		TokenSegment: make([]int, n),
	}
	for i := range r.Offsets {
		r.Offsets[i] = [2]int{i, i + 1}
	}
	r.Segments = append(r.Segments, trace.RenderedSegment{ID: trace.TemplateID, Kind: trace.KindTemplate, Message: -1,
		Char: trace.Span{Start: 0, End: n}, Tokens: trace.Span{Start: 0, End: n}, Found: true})
	for _, s := range segs {
		span := trace.Span{Start: b[s], End: b[s+1]}
		r.Segments = append(r.Segments, trace.RenderedSegment{ID: fmt.Sprintf("seg[%d]", s), Kind: trace.KindEmail, Message: 0,
			Char: span, Tokens: span, Found: true})
		for p := span.Start; p < span.End; p++ {
			r.TokenSegment[p] = len(r.Segments) - 1
		}
	}
	return r
}

// allSegments is 0..CrossSegments−1.
func allSegments() []int { return model.AllPositions(CrossSegments) }

// runCrossTurn runs a Matrix, AtP or Patch job and returns its check value (see Measurement.Check).
// The warm-up runs a reduced job: the matrix with the last two segments as its only sources, the
// patch grid over the last two segments; AtP whole (one forward and one backward pass).
func runCrossTurn(m *model.Model, j Job, tokens []int, warmup bool) (float64, error) {
	n := len(tokens)
	segs := allSegments()
	if warmup && j.Kind != AtP {
		segs = segs[CrossSegments-2:]
	}
	switch j.Kind {
	case Matrix:
		sm, err := attribution.DeletionMatrix(m, synthetic("clean", tokens, segs), n-1, attribution.MatrixOptions{})
		if err != nil {
			return 0, err
		}
		sum := 0.0
		for _, row := range sm.Effect {
			for _, e := range row {
				if !math.IsNaN(e) {
					sum += e
				}
			}
		}
		return sum, nil
	case AtP, Patch:
		al, err := attribution.Align(synthetic("clean", tokens, segs), synthetic("corrupt", corrupted(tokens, m.Dims().DVocab), segs), n-1, n-1)
		if err != nil {
			return 0, err
		}
		if j.Kind == AtP {
			res, err := attribution.AttributionPatch(m, al, attribution.PatchOptions{})
			if err != nil {
				return 0, err
			}
			return cellSum(res, func(c attribution.PatchCell) float64 { return c.Value - res.Corrupt }), nil
		}
		res, err := attribution.Patch(m, al, attribution.PatchOptions{Sites: []hook.Site{hook.ResidPre}, Layers: patchLayers(m.Dims().NLayers)})
		if err != nil {
			return 0, err
		}
		return cellSum(res, func(c attribution.PatchCell) float64 { return c.Value - res.Corrupt }), nil
	}
	return 0, fmt.Errorf("%w: %s is not a cross-turn job", ErrBadJob, j.Kind)
}

func cellSum(res *attribution.PatchResult, f func(attribution.PatchCell) float64) float64 {
	s := 0.0
	for _, c := range res.Cells {
		s += f(c)
	}
	return s
}
