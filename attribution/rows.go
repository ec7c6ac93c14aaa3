package attribution

import (
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/trace"
)

// RowInfo is what the Parquet rows say about the run beyond the scores themselves.
type RowInfo struct {
	Model     string // model name or file
	ModelHash string // "sha256:…" of the weights ("" = unknown), for the tables that carry it
	Target    trace.Target
}

// TokenRows returns one data.TokenAttribution per rendered token up to and including the metric
// position (res covers at least those, as BySegment requires).
func TokenRows(r *trace.Rendered, res *Result, info RowInfo) []data.TokenAttribution {
	last := min(res.Metric.Position, len(r.IDs)-1)
	rows := make([]data.TokenAttribution, 0, last+1)
	for t := 0; t <= last; t++ {
		seg := r.Segments[r.TokenSegment[t]]
		sp := r.Offsets[t]
		rows = append(rows, data.TokenAttribution{
			EpisodeID: r.Episode.ID, Model: info.Model, Method: res.Method, Metric: MetricName(res.Metric.Kind),
			TargetToken: int32(info.Target.Token), TargetID: int32(res.Metric.Target),
			Position: int32(t), TokenID: int32(r.IDs[t]), Text: r.Text[sp[0]:sp[1]],
			SegmentID: seg.ID, SegmentKind: string(seg.Kind), CharStart: int32(sp[0]), CharEnd: int32(sp[1]),
			Score: res.Score[t], Magnitude: res.Magnitude[t],
		})
	}
	return rows
}

// SegmentRows returns one data.SegmentAttribution per segment score.
func SegmentRows(r *trace.Rendered, method string, metric string, value float64, segs []SegmentScore, info RowInfo) []data.SegmentAttribution {
	rows := make([]data.SegmentAttribution, 0, len(segs))
	for _, s := range segs {
		rows = append(rows, data.SegmentAttribution{
			EpisodeID: r.Episode.ID, Model: info.Model, Method: method, Metric: metric,
			TargetToken: int32(info.Target.Token), TargetSegment: info.Target.Segment, MetricValue: value,
			SegmentID: s.ID, SegmentKind: string(s.Kind), Label: s.Label,
			TokenStart: int32(s.Tokens.Start), TokenEnd: int32(s.Tokens.End), Tokens: int32(s.Counted),
			Score: s.Score, Magnitude: s.Magnitude, Share: s.Share,
		})
	}
	return rows
}

// FlowRows returns the attention.parquet rows of an attention flow for the methods asked for
// (MethodAttention, MethodRollout). Attention: the target query's masses at every layer and head and
// their head mean; every segment query row's head-mean masses at every layer; and every query row's
// masses averaged over layers (layer −1, head −1). Rollout: every query row's rollout masses (layer −1,
// head −1).
func FlowRows(r *trace.Rendered, f *Flow, methods []string, info RowInfo) []data.AttentionEntry {
	tq := len(f.Queries) - 1
	row := func(method string, layer, head, q, k int, mass float64) data.AttentionEntry {
		qn, kn := f.Queries[q], f.Keys[k]
		e := data.AttentionEntry{EpisodeID: r.Episode.ID, Model: info.Model, ModelHash: info.ModelHash, Method: method,
			Layer: int32(layer), Head: int32(head), TargetToken: int32(f.Metric.Position + 1),
			QueryID: qn.ID, QueryKind: string(qn.Kind), QueryLabel: qn.Label, QueryStart: int32(qn.Tokens.Start), QueryEnd: int32(qn.Tokens.End),
			KeyID: kn.ID, KeyKind: string(kn.Kind), KeyLabel: kn.Label, KeyStart: int32(kn.Tokens.Start), KeyEnd: int32(kn.Tokens.End), Mass: mass}
		if qn.Target { // its one query is the token before the target
			e.QueryStart, e.QueryEnd = int32(f.Metric.Position), int32(f.Metric.Position+1)
		}
		if kn.ID == KeyOther {
			e.KeyStart, e.KeyEnd = -1, -1
		}
		return e
	}
	var rows []data.AttentionEntry
	for _, method := range methods {
		switch method {
		case MethodAttention:
			for l := range f.Target {
				for h, mass := range f.Target[l] {
					for k, x := range mass {
						rows = append(rows, row(method, l, h, tq, k, x))
					}
				}
				for q, mass := range f.Segment[l] {
					for k, x := range mass {
						rows = append(rows, row(method, l, -1, q, k, x))
					}
				}
			}
			for q, mass := range f.LayerMean() {
				for k, x := range mass {
					rows = append(rows, row(method, -1, -1, q, k, x))
				}
			}
		case MethodRollout:
			for q, mass := range f.Rollout {
				for k, x := range mass {
					rows = append(rows, row(method, -1, -1, q, k, x))
				}
			}
		}
	}
	return rows
}
