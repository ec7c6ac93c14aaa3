package attribution

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/trace"
)

// SegmentScore is a token-level attribution summed over one segment of a rendered episode.
type SegmentScore struct {
	ID     string
	Kind   trace.Kind
	Label  string     // email sender and subject, tool name and recipient, or ""
	Tokens trace.Span // the segment's token span in the rendered episode
	// Counted is the number of the segment's tokens that were summed: those at or before the metric
	// position (later tokens cannot influence it).
	Counted          int
	Score, Magnitude float64
	// Share is Magnitude over the total magnitude of all segments (0 when that is 0).
	Share float64
}

// BySegment sums a token-level result over the segments of r, in the order of r.Segments, skipping
// segments with no counted token. res may cover all of r's tokens or only a prefix through the metric
// position (an attribution run on r.IDs[:target]). Every token belongs to exactly one segment
// (r.TokenSegment), so the segments' Scores add up to the sum of res.Score.
func BySegment(r *trace.Rendered, res *Result) ([]SegmentScore, error) {
	if n := len(res.Score); n > len(r.IDs) || n <= res.Metric.Position || len(res.Magnitude) != n {
		return nil, fmt.Errorf("%w: %d scores (%d magnitudes) for %d rendered tokens and metric position %d",
			ErrBadInput, n, len(res.Magnitude), len(r.IDs), res.Metric.Position)
	}
	sums := make([]SegmentScore, len(r.Segments))
	last := min(res.Metric.Position, len(r.IDs)-1)
	total := 0.0
	for t := 0; t <= last; t++ {
		s := &sums[r.TokenSegment[t]]
		s.Counted++
		s.Score += res.Score[t]
		s.Magnitude += res.Magnitude[t]
		total += res.Magnitude[t]
	}
	var out []SegmentScore
	for i, seg := range r.Segments {
		s := sums[i]
		if s.Counted == 0 {
			continue
		}
		s.ID, s.Kind, s.Tokens, s.Label = seg.ID, seg.Kind, seg.Tokens, Label(r.Episode, seg.ID)
		if total > 0 {
			s.Share = s.Magnitude / total
		}
		out = append(out, s)
	}
	return out, nil
}

// Label describes a segment in a few words: the segment's own Label when it has one (a document's
// heading, a file's path, a calendar entry's title, a rule's label), "from=… subject=…" for an email
// (tagged, plain-text headers or JSON), "name=… to=…" for a tool call, "error" for the result of a failed
// tool call, "redacted" for redacted reasoning, "" otherwise (and for template segments).
func Label(ep *trace.Episode, id string) string {
	if ep == nil {
		return ""
	}
	s, err := ep.Lookup(id)
	if err != nil {
		return ""
	}
	switch {
	case s.Label != "":
		return s.Label
	case s.Email != nil:
		return fmt.Sprintf("from=%s subject=%s", s.Email.From, s.Email.Subject)
	case s.Tool != nil:
		l := "name=" + s.Tool.Name
		if to := trace.ArgString(s.Tool.Arguments, "to"); to != "" {
			l += " to=" + to
		}
		return l
	case s.Error:
		return "error"
	case s.Redacted:
		return "redacted"
	}
	return ""
}

// Top returns the n segments with the largest Magnitude, largest first (ties by id), leaving segs as it is.
func Top(segs []SegmentScore, n int) []SegmentScore {
	s := slices.Clone(segs)
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Magnitude != s[j].Magnitude {
			return s[i].Magnitude > s[j].Magnitude
		}
		return s[i].ID < s[j].ID
	})
	return s[:min(n, len(s))]
}

// Ablation is the effect of deleting one segment's tokens from the context on the metric.
type Ablation struct {
	SegmentScore
	// Value is the metric with the segment deleted, and Effect = base value − Value: positive when the
	// segment supports the target.
	Value, Effect float64
}

// AblationOptions configure AblateSegments.
type AblationOptions struct {
	// Kinds limits the segments ablated to these kinds (nil: every content segment, template segments
	// excluded).
	Kinds []trace.Kind
	// Progress, if set, is called after each segment.
	Progress func(done, total int)
}

// maxBatchRows bounds the positions one batch of segment ablations stacks (activations of 16k positions
// of SmolLM2's MLP are 100 MB a tensor).
const maxBatchRows = 16384

// AblateSegments measures, for each content segment wholly before the target (up to the metric position,
// the token that predicts it), the metric after deleting
// the segment's tokens from the context (the target position shifts left accordingly): a causal,
// model-agnostic segment attribution. Effect is reported in Score and Magnitude (|Effect|) too, so the
// result reads like BySegment's. Each segment costs one forward pass over the tokens after it: the base
// run's keys and values are reused for the unchanged tokens before the deleted segment (model.Prefix),
// and the deletions run packed in batches (model.RunBatch).
func AblateSegments(m *model.Model, r *trace.Rendered, metric model.Metric, opts AblationOptions) (base float64, out []Ablation, err error) {
	if metric.Position < 0 || metric.Position >= len(r.IDs) {
		return 0, nil, fmt.Errorf("%w: metric position %d outside the %d rendered tokens", ErrBadInput, metric.Position, len(r.IDs))
	}
	run := func(tokens []int, pos int, ro model.RunOptions) (float64, model.Cache, error) {
		mt := metric
		mt.Position = pos
		ro.LogitPositions = []int{pos}
		res, err := m.Run(tokens, ro)
		if err != nil {
			return 0, nil, err
		}
		return MetricValue(res.Logits.Row(0), mt), res.Cache, nil
	}
	baseToks := r.IDs[:metric.Position+1]
	base, kv, err := run(baseToks, metric.Position, model.RunOptions{Capture: m.PrefixSites()})
	if err != nil {
		return 0, nil, fmt.Errorf("segment ablation: base run: %w", err)
	}
	whole, err := m.PrefixFromCache(baseToks, kv)
	if err != nil {
		return 0, nil, fmt.Errorf("segment ablation: base run: %w", err)
	}
	var todo []trace.RenderedSegment
	for _, s := range r.Segments {
		if s.Kind == trace.KindTemplate || !s.Found || s.Tokens.Len() == 0 || s.Tokens.End > metric.Position+1 {
			continue
		}
		if opts.Kinds != nil && !slices.Contains(opts.Kinds, s.Kind) {
			continue
		}
		todo = append(todo, s)
	}
	// The deletions run packed in batches (model.RunBatch) of up to maxBatchRows computed positions,
	// each after the base run's keys and values for the tokens before its segment.
	for start := 0; start < len(todo); {
		end, rows := start, 0
		for end < len(todo) {
			n := metric.Position + 1 - todo[end].Tokens.End
			if end > start && rows+n > maxBatchRows {
				break
			}
			rows += n
			end++
		}
		items := make([]model.BatchItem, end-start)
		for i, s := range todo[start:end] {
			// Recompute from the token before the segment: a segment that ends at the metric position
			// moves the metric's position onto that token.
			pf, err := whole.Truncate(max(0, s.Tokens.Start-1))
			if err != nil {
				return 0, nil, fmt.Errorf("segment ablation: without %s: %w", s.ID, err)
			}
			items[i] = model.BatchItem{Tokens: append(slices.Clone(r.IDs[:s.Tokens.Start]), r.IDs[s.Tokens.End:metric.Position+1]...),
				Prefix: pf, LogitPositions: []int{metric.Position - s.Tokens.Len()}}
		}
		res, err := m.RunBatch(items, nil)
		if err != nil {
			return 0, nil, fmt.Errorf("segment ablation: without %s…%s: %w", todo[start].ID, todo[end-1].ID, err)
		}
		for i, s := range todo[start:end] {
			mt := metric
			mt.Position = items[i].LogitPositions[0]
			v := MetricValue(res[i].Logits.Row(0), mt)
			e := base - v
			out = append(out, Ablation{SegmentScore: SegmentScore{ID: s.ID, Kind: s.Kind, Label: Label(r.Episode, s.ID), Tokens: s.Tokens,
				Counted: s.Tokens.Len(), Score: e, Magnitude: math.Abs(e)}, Value: v, Effect: e})
			if opts.Progress != nil {
				opts.Progress(len(out), len(todo))
			}
		}
		start = end
	}
	total := 0.0
	for _, a := range out {
		total += a.Magnitude
	}
	for i := range out {
		if total > 0 {
			out[i].Share = out[i].Magnitude / total
		}
	}
	return base, out, nil
}
