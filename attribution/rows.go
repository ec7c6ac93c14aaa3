package attribution

import (
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/trace"
)

// RowInfo is what the Parquet rows say about the run beyond the scores themselves.
type RowInfo struct {
	Model  string // model name or file
	Target trace.Target
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
