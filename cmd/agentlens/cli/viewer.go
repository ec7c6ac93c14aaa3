package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/trace"
)

// viewerSegments returns the content segments of a token sequence for the viewer: every run of tokens
// of one segment that is not template, in order.
func viewerSegments(ids, kinds []string, label func(id string) string) []heatmap.EpisodeSegment {
	var out []heatmap.EpisodeSegment
	for t := 0; t < len(ids); {
		end := t + 1
		for end < len(ids) && ids[end] == ids[t] {
			end++
		}
		if kinds[t] != string(trace.KindTemplate) && ids[t] != "" {
			out = append(out, heatmap.EpisodeSegment{ID: ids[t], Kind: kinds[t], Label: label(ids[t]), Start: t, End: end})
		}
		t = end
	}
	return out
}

// readIfExists reads a table of an output directory, or nothing when the file is not there.
func readIfExists[T data.Row](path string) ([]T, error) {
	rows, err := data.ReadAll[T](path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return rows, err
}

// attributionViewer builds the episode viewer of an attribution output directory from its tables:
// one score set per token method of tokens.parquet, one per segment-only method of segments.parquet
// (deletion: the segments carry the values, the tokens stay white), the segment matrix of
// matrix.parquet and the graph of graph.json. The tokens are the rendering's when r is given (the
// whole episode); else tokens.parquet's, up to the target.
func attributionViewer(dir string, r *trace.Rendered, target int) (*heatmap.Episode, error) {
	t, err := readAttributionTables(dir)
	if err != nil {
		return nil, err
	}
	return t.viewer(dir, r, target)
}

// attributionTables are the tables of an attribution output directory the viewer shows, nil where a
// file is not there.
type attributionTables struct {
	toks   []data.TokenAttribution
	segs   []data.SegmentAttribution
	matrix []data.SegmentMatrixEntry
}

// readAttributionTables reads tokens.parquet, segments.parquet and matrix.parquet of dir.
func readAttributionTables(dir string) (attributionTables, error) {
	var t attributionTables
	var err error
	if t.toks, err = readIfExists[data.TokenAttribution](filepath.Join(dir, "tokens.parquet")); err != nil {
		return t, err
	}
	if t.segs, err = readIfExists[data.SegmentAttribution](filepath.Join(dir, "segments.parquet")); err != nil {
		return t, err
	}
	t.matrix, err = readIfExists[data.SegmentMatrixEntry](filepath.Join(dir, "matrix.parquet"))
	return t, err
}

// viewer is attributionViewer of tables already read from dir.
func (t attributionTables) viewer(dir string, r *trace.Rendered, target int) (*heatmap.Episode, error) {
	toks, segs, matrix := t.toks, t.segs, t.matrix
	e := &heatmap.Episode{Target: target}
	labels := map[string]string{}
	for _, s := range segs {
		labels[s.SegmentID] = s.Label
	}
	var ids, kinds []string
	switch {
	case r != nil:
		for t := range r.IDs {
			seg := r.Segments[r.TokenSegment[t]]
			e.Tokens = append(e.Tokens, r.Text[r.Offsets[t][0]:r.Offsets[t][1]])
			ids, kinds = append(ids, seg.ID), append(kinds, string(seg.Kind))
		}
		label := func(id string) string { return attribution.Label(r.Episode, id) }
		e.Segments = viewerSegments(ids, kinds, label)
		e.Title = r.Episode.ID
	case len(toks) > 0:
		first := toks[0].Method
		for _, t := range toks {
			if t.Method != first {
				continue
			}
			for len(e.Tokens) < int(t.Position) { // a gap in the table: keep positions aligned
				e.Tokens, ids, kinds = append(e.Tokens, ""), append(ids, ""), append(kinds, "")
			}
			e.Tokens, ids, kinds = append(e.Tokens, t.Text), append(ids, t.SegmentID), append(kinds, t.SegmentKind)
		}
		if target >= len(e.Tokens) {
			for len(e.Tokens) < target {
				e.Tokens, ids, kinds = append(e.Tokens, ""), append(ids, ""), append(kinds, "")
			}
			e.Tokens = append(e.Tokens, "[target]")
			ids, kinds = append(ids, ""), append(kinds, "")
		}
		e.Segments = viewerSegments(ids, kinds, func(id string) string { return labels[id] })
		e.Title = toks[0].EpisodeID
	default:
		return nil, fmt.Errorf("%s: no tokens.parquet to show the episode's tokens", dir)
	}
	if target >= len(e.Tokens) {
		e.Target = -1
	}
	var model, metric string
	for _, m := range methodsOf(toks, func(t data.TokenAttribution) string { return t.Method }) {
		set := heatmap.ScoreSet{Name: m, Values: make([]float64, len(e.Tokens)), Segments: map[string]float64{}}
		for i := range set.Values {
			set.Values[i] = math.NaN()
		}
		for _, t := range toks {
			if t.Method == m && int(t.Position) < len(set.Values) {
				set.Values[t.Position] = t.Score
				model, metric = t.Model, t.Metric
			}
		}
		for _, s := range segs {
			if s.Method == m {
				set.Segments[s.SegmentID] = s.Score
			}
		}
		set.Unit = methodUnit(m, metric)
		e.Scores = append(e.Scores, set)
	}
	for _, m := range methodsOf(segs, func(s data.SegmentAttribution) string { return s.Method }) {
		if slices.ContainsFunc(e.Scores, func(s heatmap.ScoreSet) bool { return s.Name == m }) {
			continue
		}
		set := heatmap.ScoreSet{Name: m, Values: make([]float64, len(e.Tokens)), Segments: map[string]float64{}, Clip: 1}
		for i := range set.Values {
			set.Values[i] = math.NaN()
		}
		for _, s := range segs {
			if s.Method == m {
				set.Segments[s.SegmentID] = s.Score
				model, metric = s.Model, s.Metric
			}
		}
		set.Unit = methodUnit(m, metric) + " (segments only)"
		e.Scores = append(e.Scores, set)
	}
	if len(matrix) > 0 {
		m := &heatmap.SegmentMatrix{Unit: "Δ mean log p"}
		if matrix[0].Params != "" {
			m.Unit = "Δ projection"
		}
		fig, err := matrixFigure(matrix)
		if err != nil {
			return nil, err
		}
		// matrixFigure's labels are "id label": take the ids back from the rows, in the same order.
		src, dst := map[string]string{}, map[string]string{}
		for _, r := range matrix {
			src[labelOf(r.SourceID, r.SourceLabel)], dst[labelOf(r.DestID, r.DestLabel)] = r.SourceID, r.DestID
			model = r.Model
		}
		for _, c := range fig.Cols {
			m.Sources = append(m.Sources, src[c])
		}
		for _, r := range fig.Rows {
			m.Dests = append(m.Dests, dst[r])
		}
		m.Values = fig.Values
		e.Matrix = m
	}
	if b, err := os.ReadFile(filepath.Join(dir, "graph.json")); err == nil {
		var g attribution.SegmentGraph
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "graph.json"), err)
		}
		e.Graph = &g
	}
	e.Subtitle = model
	if metric != "" {
		e.Subtitle += " · " + metricWords(metric)
	}
	if e.Target >= 0 {
		e.Title += fmt.Sprintf(" → token %d", e.Target)
	}
	return e, nil
}

// labelOf is how matrixFigure labels a segment.
func labelOf(id, label string) string {
	if label != "" {
		return id + " " + label
	}
	return id
}

// probeViewer builds the episode viewer of a probe's monitor run: the tokens coloured by score minus
// threshold (red above it), the segments by their mean score minus threshold.
func probeViewer(rows []data.ProbeScore, segRows []data.ProbeSegmentScore, threshold float64, subtitle string) *heatmap.Episode {
	e := &heatmap.Episode{Target: -1, Subtitle: subtitle}
	if len(rows) == 0 {
		return e
	}
	e.Title = rows[0].EpisodeID + " · " + rows[0].ProbeID
	labels := map[string]string{}
	set := heatmap.ScoreSet{Name: rows[0].ProbeID, Unit: fmt.Sprintf("probe score − threshold %.3g (red: flagged)", threshold),
		Segments: map[string]float64{}}
	prob := heatmap.ScoreSet{Name: "p(positive) − ½", Unit: "Platt-calibrated probability − 0.5", Clip: 0.5, Segments: map[string]float64{}}
	for _, s := range segRows {
		labels[s.SegmentID] = s.Label
		set.Segments[s.SegmentID] = s.MeanScore - threshold
	}
	var ids, kinds []string
	for _, r := range rows {
		e.Tokens = append(e.Tokens, r.Text)
		ids, kinds = append(ids, r.SegmentID), append(kinds, r.SegmentKind)
		set.Values = append(set.Values, r.Score-threshold)
		prob.Values = append(prob.Values, r.Probability-0.5)
	}
	e.Segments = viewerSegments(ids, kinds, func(id string) string { return labels[id] })
	e.Scores = []heatmap.ScoreSet{set, prob}
	return e
}

// writeViewer writes an episode viewer to path.
func writeViewer(path string, e *heatmap.Episode) error {
	return writeFileAtomic(path, func(f *os.File) error { return heatmap.WriteViewer(f, e) })
}
