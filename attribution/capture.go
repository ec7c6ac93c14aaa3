package attribution

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// Position is a capture's position policy: which token (or mean of tokens) of an episode an activation
// vector is read at.
type Position string

// The position policies. Every one is read from the context before the action only, so the action's
// own tokens never enter a vector.
const (
	// PosDecision is the last token before the action (the target): in a twin pair, after the point
	// where the misaligned and the aligned continuations part.
	PosDecision Position = "decision"
	// PosFinal is the final prompt token: the last token before the deciding assistant message starts,
	// the model's state when it begins to answer. Twins share it (their contexts are equal up to
	// there), which makes it the control for a probe that reads the decision.
	PosFinal Position = "final"
	// PosAssistantMean is the mean over the deciding assistant message's tokens before the action.
	PosAssistantMean Position = "assistant_mean"
	// PosEvery is every token before the action, one row each (the row's Token says which): for
	// token-level analyses; probes train on one row per episode, so not on these.
	PosEvery Position = "every"
	// PosSegmentMean, written "mean:SEL", is the mean over the tokens before the action of the
	// segments whose kind or id is SEL (mean:email, mean:reasoning, mean:m2.c0); an episode with no
	// such tokens is an error.
	PosSegmentMean Position = "mean:"
)

// ParsePosition reads a position policy name.
func ParsePosition(s string) (Position, error) {
	switch p := Position(s); p {
	case PosDecision, PosFinal, PosAssistantMean, PosEvery:
		return p, nil
	}
	if sel, ok := strings.CutPrefix(s, string(PosSegmentMean)); ok && sel != "" {
		return Position(s), nil
	}
	return "", fmt.Errorf("%w: position %q (want %s, %s, %s, %s or mean:KIND-OR-SEGMENT-ID)", ErrBadInput, s, PosDecision, PosFinal,
		PosAssistantMean, PosEvery)
}

// CaptureItem is one rendered episode to capture, with its labels for the rows.
type CaptureItem struct {
	R      *trace.Rendered
	Target int // token index of the action's first token (trace.FindTarget, or DecisionTarget)
	// Label is 1 (positive), 0 (negative) or −1 (unlabeled); LabelSource, Group and Split go to the
	// rows as they are.
	Label                     int32
	LabelSource, Group, Split string
}

// CaptureOptions configure Capture.
type CaptureOptions struct {
	Model     string      // model name for the rows
	ModelHash string      // hash of the weights for the rows ("" = unknown)
	Layers    []int       // layers to read (nil: all)
	Sites     []hook.Site // in-block sites (nil: hook_resid_post)
	Positions []Position  // policies (nil: decision)
	// PrefixMin is the shortest shared token prefix worth reusing from the previous item (0: 64).
	PrefixMin int
	// Progress, if set, is called after each item with the items done and the tokens computed so far.
	Progress func(done, computed int)
}

// CaptureStats says how much work a capture did.
type CaptureStats struct {
	Items    int
	Tokens   int // tokens of all items' contexts
	Computed int // tokens actually run (the rest came from shared prefixes)
}

// DecisionTarget returns the default action token of a rendered episode: the first token of the first
// tool call the template printed in the last assistant message, else the first token of that message's
// last printed segment (a plain-text action). It fails when the episode has no assistant message, when
// its last one printed nothing, and when the template left one of its tool calls out (trace.ErrNotRendered).
func DecisionTarget(r *trace.Rendered) (int, error) {
	last := -1
	for i, m := range r.Episode.Messages {
		if m.Role == trace.RoleAssistant {
			last = i
		}
	}
	if last < 0 {
		return 0, fmt.Errorf("%w: episode %s has no assistant message to find a decision in", ErrBadInput, r.Episode.ID)
	}
	var lastSeg *trace.RenderedSegment
	for i := range r.Segments {
		s := &r.Segments[i]
		if s.Message != last {
			continue
		}
		if s.Kind == trace.KindToolCall && !s.Found {
			// The action is a tool call the template left out of the context: refuse rather than read
			// the state before some other segment.
			return 0, fmt.Errorf("%w: episode %s: tool call %s: %w (render it as text with a tool-call style)",
				ErrBadInput, r.Episode.ID, s.ID, trace.ErrNotRendered)
		}
		if !s.Found || s.Tokens.Len() == 0 {
			continue
		}
		if s.Kind == trace.KindToolCall {
			return s.Tokens.Start, nil
		}
		lastSeg = s
	}
	if lastSeg == nil {
		return 0, fmt.Errorf("%w: episode %s: the chat template printed nothing of %s", ErrBadInput, r.Episode.ID,
			r.Episode.MessageID(last))
	}
	return lastSeg.Tokens.Start, nil
}

// messageStart returns the first token of message i's first printed content segment.
func messageStart(r *trace.Rendered, msg int) (int, bool) {
	start := -1
	for _, s := range r.Segments {
		if s.Message == msg && s.Found && s.Tokens.Len() > 0 && (start < 0 || s.Tokens.Start < start) {
			start = s.Tokens.Start
		}
	}
	return start, start >= 0
}

// positions returns, for each policy, its rows: each the token positions whose vectors are averaged
// (one for a point), all before target.
func positions(it CaptureItem, pols []Position) ([][][]int, error) {
	r := it.R
	if it.Target <= 0 || it.Target >= len(r.IDs) {
		return nil, fmt.Errorf("%w: episode %s: target token %d outside 1..%d", ErrBadInput, r.Episode.ID, it.Target, len(r.IDs)-1)
	}
	msg := r.Segments[r.TokenSegment[it.Target]].Message
	start, ok := messageStart(r, msg)
	if !ok || start > it.Target {
		start = it.Target
	}
	out := make([][][]int, len(pols))
	for i, p := range pols {
		switch p {
		case PosDecision:
			out[i] = [][]int{{it.Target - 1}}
		case PosFinal:
			out[i] = [][]int{{max(0, start-1)}}
		case PosAssistantMean:
			if start >= it.Target {
				out[i] = [][]int{{it.Target - 1}} // the action opens the message: nothing before it
			} else {
				out[i] = [][]int{model.AllPositions(it.Target)[start:it.Target]}
			}
		case PosEvery:
			for q := range it.Target {
				out[i] = append(out[i], []int{q})
			}
		default:
			sel, ok := strings.CutPrefix(string(p), string(PosSegmentMean))
			if !ok {
				return nil, fmt.Errorf("%w: position %q", ErrBadInput, p)
			}
			var toks []int
			for _, s := range r.Segments {
				if s.Found && (string(s.Kind) == sel || s.ID == sel) {
					for q := s.Tokens.Start; q < min(s.Tokens.End, it.Target); q++ {
						toks = append(toks, q)
					}
				}
			}
			if len(toks) == 0 {
				return nil, fmt.Errorf("%w: episode %s: position %s: no segment of that kind or id has tokens before the action (token %d)",
					ErrBadInput, r.Episode.ID, p, it.Target)
			}
			slices.Sort(toks)
			out[i] = [][]int{slices.Compact(toks)}
		}
	}
	return out, nil
}

// Capture runs the model over each item's context (its tokens before the action) and emits, for each
// item, one activation row per layer, site and position policy. Consecutive items that share a token
// prefix (twins, episodes with one system prompt) reuse its keys and values: only the tokens after it
// are computed. emit is called once per item, in order; an error from it stops the capture.
func Capture(m *model.Model, items []CaptureItem, opts CaptureOptions, emit func(i int, rows []data.Activation) error) (CaptureStats, error) {
	layers := opts.Layers
	if layers == nil {
		layers = model.AllPositions(m.Dims().NLayers)
	}
	for _, l := range layers {
		if l < 0 || l >= m.Dims().NLayers {
			return CaptureStats{}, fmt.Errorf("%w: layer %d (model has %d)", ErrBadInput, l, m.Dims().NLayers)
		}
	}
	sites := opts.Sites
	if sites == nil {
		sites = []hook.Site{hook.ResidPost}
	}
	pols := opts.Positions
	if pols == nil {
		pols = []Position{PosDecision}
	}
	minShare := opts.PrefixMin
	if minShare <= 0 {
		minShare = 64
	}
	var capture []hook.Name
	for _, l := range layers {
		for _, s := range sites {
			capture = append(capture, hook.At(s, l))
		}
	}
	capture = append(capture, m.PrefixSites()...)

	var st CaptureStats
	var prev *model.Prefix // keys and values of the previous item's context
	for i, it := range items {
		pos, err := positions(it, pols)
		if err != nil {
			return st, err
		}
		tokens := it.R.IDs[:it.Target]
		first := it.Target
		for _, rows := range pos {
			for _, p := range rows {
				first = min(first, p[0])
			}
		}
		var pf *model.Prefix
		if prev != nil {
			n := commonPrefix(prev.Tokens(), tokens)
			n = min(n, first) // every position read must be computed in this run
			if n >= minShare {
				if pf, err = prev.Truncate(n); err != nil {
					return st, err
				}
			}
		}
		res, err := m.Run(tokens, model.RunOptions{Prefix: pf, Capture: capture})
		if err != nil {
			return st, fmt.Errorf("episode %s: %w", it.R.Episode.ID, err)
		}
		st.Items++
		st.Tokens += len(tokens)
		st.Computed += len(tokens) - res.Offset
		if prev, err = extendPrefix(m, pf, tokens, res); err != nil {
			return st, err
		}
		var rows []data.Activation
		for _, l := range layers {
			for _, s := range sites {
				t := res.Cache[hook.At(s, l)]
				for k, prows := range pos {
					for _, p := range prows {
						vec := make([]float32, t.Shape[len(t.Shape)-1])
						for _, q := range p {
							for j, v := range t.Row(0, q-res.Offset) {
								vec[j] += v
							}
						}
						for j := range vec {
							vec[j] /= float32(len(p))
						}
						tok := int32(p[0])
						if len(p) > 1 {
							tok = -1
						}
						rows = append(rows, data.Activation{EpisodeID: it.R.Episode.ID, Label: it.Label, LabelSource: it.LabelSource,
							Group: it.Group, Split: it.Split, Model: opts.Model, ModelHash: opts.ModelHash, Layer: int32(l), Site: hook.At(s, l).String(),
							Position: string(pols[k]), Token: tok, Vector: vec})
					}
				}
			}
		}
		if err := emit(i, rows); err != nil {
			return st, err
		}
		if opts.Progress != nil {
			opts.Progress(i+1, st.Computed)
		}
	}
	return st, nil
}

// extendPrefix returns the prefix of a run's whole token list: the run's prefix pf (nil for none) and
// the keys and values the run captured after it.
func extendPrefix(m *model.Model, pf *model.Prefix, tokens []int, res *model.Result) (*model.Prefix, error) {
	if pf == nil {
		return m.PrefixFromCache(tokens, res.Cache)
	}
	return m.ExtendPrefix(pf, tokens, res)
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
