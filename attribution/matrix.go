package attribution

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// The segment matrix's metrics: what is read at each later segment.
const (
	// MatrixLogProb is a segment's mean token log-likelihood (teacher-forced, each token given all
	// before it); at the target node, log p(target token).
	MatrixLogProb = "mean_logprob"
	// MatrixDirection is the residual stream at a segment's last token (at the target node, the token
	// before the target) projected on a direction, such as a probe's.
	MatrixDirection = "direction"
)

// MatrixNode is one node of a segment matrix: a content segment before the target, or the target
// token itself (the last node).
type MatrixNode struct {
	ID     string
	Kind   trace.Kind // the segment's kind; "target" for the target node
	Label  string
	Tokens trace.Span // the segment's tokens; for the target node the target token
	Target bool
}

// KindTarget is the kind of a segment matrix's target node.
const KindTarget trace.Kind = "target"

// Readout is a direction read at every node: the residual stream at Site projected on Vector (any
// norm; the value is x·Vector).
type Readout struct {
	Name   string    // e.g. the probe's id, for the rows
	Site   hook.Name // e.g. blocks.24.hook_resid_post
	Vector []float32 // [d_model]
}

// MatrixOptions configure DeletionMatrix.
type MatrixOptions struct {
	// Sources limits the segments deleted to these kinds (nil: every content segment before the
	// target). Every content segment is a destination whatever its kind.
	Sources []trace.Kind
	// Readout, if set, replaces the log-likelihood metric with a direction read at each node.
	Readout *Readout
	// Progress, if set, is called after each source segment.
	Progress func(done, total int)
}

// SegmentMatrix is how much every earlier segment moves every later one.
type SegmentMatrix struct {
	Nodes  []MatrixNode // content segments in episode order, then the target
	Metric string       // MatrixLogProb or MatrixDirection
	// Sources are the indices into Nodes of the deleted segments, in order.
	Sources []int
	// Base[j] is node j's metric in the whole episode.
	Base []float64
	// Value[s][j] is node j's metric with segment Sources[s] deleted, and Effect[s][j] = Base[j] −
	// Value[s][j] (positive: the source supports j); NaN where j is not after the source.
	Value, Effect [][]float64
	// Tokens and Computed count the context tokens of all deletion passes and those actually run (the
	// rest came from the whole episode's keys and values before each deleted segment).
	Tokens, Computed int
}

// Index returns the node index of a segment id, or −1.
func (sm *SegmentMatrix) Index(id string) int {
	return slices.IndexFunc(sm.Nodes, func(n MatrixNode) bool { return n.ID == id })
}

// matrixNodes lists the content segments wholly before target, and the target node. Segments of
// whitespace only (the blank lines between emails) are left out: deleting an email changes how well
// the separator after it is predicted by a lot and says nothing about content.
func matrixNodes(r *trace.Rendered, target int) []MatrixNode {
	var nodes []MatrixNode
	for _, s := range r.Segments {
		if s.Kind == trace.KindTemplate || !s.Found || s.Tokens.Len() == 0 || s.Tokens.End > target ||
			strings.TrimSpace(r.Text[s.Char.Start:s.Char.End]) == "" {
			continue
		}
		nodes = append(nodes, MatrixNode{ID: s.ID, Kind: s.Kind, Label: Label(r.Episode, s.ID), Tokens: s.Tokens})
	}
	slices.SortStableFunc(nodes, func(a, b MatrixNode) int { return a.Tokens.Start - b.Tokens.Start })
	tok := trace.Span{Start: target, End: target + 1}
	return append(nodes, MatrixNode{ID: "target", Kind: KindTarget, Label: fmt.Sprintf("token %d", target), Tokens: tok, Target: true})
}

// DeletionMatrix deletes each source segment in turn and reads every later node's metric: its tokens'
// mean log-likelihood (each token given everything before it), or with opts.Readout the residual at its
// last token projected on a direction; the target node reads log p(target token) (or the readout at the
// token before it). One pass per source scores every later node at once: the deletion pass runs after
// the whole episode's keys and values for the tokens before the deleted segment (model.Prefix), and the
// passes run packed in batches (model.RunBatch). target is the target token's index.
func DeletionMatrix(m *model.Model, r *trace.Rendered, target int, opts MatrixOptions) (*SegmentMatrix, error) {
	if target < 1 || target >= len(r.IDs) {
		return nil, fmt.Errorf("%w: target token %d outside 1..%d", ErrBadInput, target, len(r.IDs)-1)
	}
	nodes := matrixNodes(r, target)
	sm := &SegmentMatrix{Nodes: nodes, Metric: MatrixLogProb}
	if opts.Readout != nil {
		sm.Metric = MatrixDirection
		if len(opts.Readout.Vector) != m.Dims().DModel {
			return nil, fmt.Errorf("%w: readout %s: direction of %d, model has d_model %d", ErrBadInput, opts.Readout.Name,
				len(opts.Readout.Vector), m.Dims().DModel)
		}
	}
	for i, n := range nodes[:len(nodes)-1] {
		if opts.Sources == nil || slices.Contains(opts.Sources, n.Kind) {
			sm.Sources = append(sm.Sources, i)
		}
	}
	if len(sm.Sources) == 0 {
		return nil, fmt.Errorf("%w: episode %s: no segment to delete before the target token %d (kinds %v)", ErrBadInput,
			r.Episode.ID, target, opts.Sources)
	}
	var capture []hook.Name
	if opts.Readout != nil {
		capture = []hook.Name{opts.Readout.Site}
	}

	// read turns a run's next-token log-probabilities (lp[k] = log p(token at new position k+1), for
	// new positions lpFrom.. ) or readout site (rows from offset on) into node values. shift maps an
	// original token index after the deleted span to its new index; nodes before from are skipped.
	read := func(res *model.Result, lpFrom, offset, shift, from int, dst []float64) {
		for j := from; j < len(nodes); j++ {
			n := nodes[j]
			if opts.Readout != nil {
				q := n.Tokens.End - 1 - shift // the segment's last token
				if n.Target {
					q = n.Tokens.Start - 1 - shift // the token before the target
				}
				dst[j] = dot32(res.Cache[opts.Readout.Site].Row(0, q-offset), opts.Readout.Vector)
				continue
			}
			sum, cnt := 0.0, 0
			for q := max(1, n.Tokens.Start); q < n.Tokens.End; q++ {
				// A token that lands at position 0 (the source began the episode) has nothing before
				// it to predict it: it is left out, as the whole episode's first token is.
				if k := q - shift - 1 - lpFrom; k >= 0 {
					sum += res.LogProbs[k]
					cnt++
				}
			}
			dst[j] = math.NaN()
			if cnt > 0 {
				dst[j] = sum / float64(cnt)
			}
		}
	}

	baseToks := r.IDs[:target+1]
	base, err := m.Run(baseToks, model.RunOptions{LogitPositions: model.AllPositions(target), NextLogProbs: true,
		Capture: append(slices.Clone(capture), m.PrefixSites()...)})
	if err != nil {
		return nil, fmt.Errorf("segment matrix: base run: %w", err)
	}
	whole, err := m.PrefixFromCache(baseToks, base.Cache)
	if err != nil {
		return nil, fmt.Errorf("segment matrix: base run: %w", err)
	}
	sm.Base = make([]float64, len(nodes))
	read(base, 0, 0, 0, 0, sm.Base)

	sm.Value = make([][]float64, len(sm.Sources))
	sm.Effect = make([][]float64, len(sm.Sources))
	for start := 0; start < len(sm.Sources); {
		end, rows := start, 0
		for end < len(sm.Sources) {
			n := target + 1 - nodes[sm.Sources[end]].Tokens.End
			if end > start && rows+n > maxBatchRows {
				break
			}
			rows += n
			end++
		}
		items := make([]model.BatchItem, end-start)
		for k, si := range sm.Sources[start:end] {
			sp := nodes[si].Tokens
			toks := append(slices.Clone(r.IDs[:sp.Start]), r.IDs[sp.End:target+1]...)
			// The first token after the deleted span is predicted at sp.Start−1: recompute from there.
			from := max(0, sp.Start-1)
			pf, err := whole.Truncate(from)
			if err != nil {
				return nil, fmt.Errorf("segment matrix: without %s: %w", nodes[si].ID, err)
			}
			items[k] = model.BatchItem{Tokens: toks, Prefix: pf, LogitPositions: model.AllPositions(len(toks) - 1)[from:], NextLogProbs: true}
			sm.Tokens += len(toks)
			sm.Computed += len(toks) - pf.Len()
		}
		res, err := m.RunBatch(items, capture)
		if err != nil {
			return nil, fmt.Errorf("segment matrix: without %s…%s: %w", nodes[sm.Sources[start]].ID, nodes[sm.Sources[end-1]].ID, err)
		}
		for k, si := range sm.Sources[start:end] {
			sp := nodes[si].Tokens
			v := make([]float64, len(nodes))
			for j := range v {
				v[j] = math.NaN()
			}
			read(res[k], items[k].LogitPositions[0], res[k].Offset, sp.Len(), si+1, v)
			e := make([]float64, len(nodes))
			for j := range e {
				e[j] = sm.Base[j] - v[j]
			}
			sm.Value[start+k], sm.Effect[start+k] = v, e
			if opts.Progress != nil {
				opts.Progress(start+k+1, len(sm.Sources))
			}
		}
		start = end
	}
	return sm, nil
}

func dot32(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
