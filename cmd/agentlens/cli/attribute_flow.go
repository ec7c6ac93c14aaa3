package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/trace"
)

// flowMeta is what the attention-flow outputs say beyond the flow.
type flowMeta struct {
	matrixMeta
	methods []string // attention, rollout: those asked for
	segment string   // --attention-segment ("" = the most attended content segment)
	info    attribution.RowInfo
}

// flowLabel is a node's column or row label: its id and label.
func flowLabel(n attribution.MatrixNode) string {
	if n.Label != "" && n.Kind != attribution.KindSink && n.Kind != attribution.KindOther {
		return n.ID + " " + n.Label
	}
	switch n.ID {
	case attribution.KeySink:
		return "first token (position 0)"
	case attribution.KeyOther:
		return "other (template, separators)"
	}
	return n.ID
}

// contentClip is a colour scale for masses that the first token, the template and a few segments (the
// assistant's own recent text, each segment's attention to itself) dominate: the 95th percentile of the
// content-segment cells (diagonal cells of a segment × segment matrix left out when offDiagonal), at
// least 1e-9, so that the rest of the content uses the whole scale and the dominant cells saturate
// (each cell's tooltip has its value).
func contentClip(rows [][]float64, nContent int, offDiagonal bool) float64 {
	var vals []float64
	for i, row := range rows {
		for k, v := range row[:nContent] {
			if !math.IsNaN(v) && !(offDiagonal && k == i) {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) == 0 {
		return 1e-9
	}
	slices.Sort(vals)
	return math.Max(1e-9, vals[min(len(vals)-1, int(0.95*float64(len(vals))))])
}

// writeFlow writes attention.parquet and the attention-flow figures: attention-target.svg (layer ×
// key column, head mean, of the query predicting the target), attention-heads.svg (layer × head on one
// segment), attention-segments.svg (segment × segment, mean over layers and heads) and rollout.svg
// (rollout segment × segment).
func writeFlow(dir string, r *trace.Rendered, f *attribution.Flow, meta flowMeta) ([]string, error) {
	rows := attribution.FlowRows(r, f, meta.methods, meta.info)
	if err := data.Write(filepath.Join(dir, "attention.parquet"), rows); err != nil {
		return nil, err
	}
	files := []string{"attention.parquet"}
	nContent := len(f.Keys) - 2
	tq := len(f.Queries) - 1
	var cols []string
	for _, k := range f.Keys {
		cols = append(cols, flowLabel(k))
	}
	write := func(name string, m *heatmap.Matrix) error {
		if err := writeFileAtomic(filepath.Join(dir, name), func(fh *os.File) error { return heatmap.WriteMatrixSVG(fh, m) }); err != nil {
			return err
		}
		files = append(files, name)
		return nil
	}
	sub := fmt.Sprintf("%s · target token %d · log p(target) = %.3f · descriptive, not causal", meta.model, meta.target, f.Value)
	// segmentMatrix lays out query rows × key columns, blank where the key segment starts after the
	// query row's tokens (causally invisible).
	segmentMatrix := func(vals [][]float64) ([]string, [][]float64) {
		var labels []string
		var out [][]float64
		for q, n := range f.Queries {
			label := flowLabel(n)
			end := n.Tokens.End
			if n.Target {
				label, end = fmt.Sprintf("target (token %d, read at %d)", meta.target, meta.target-1), meta.target
			}
			row := slices.Clone(vals[q])
			for k := range nContent {
				if f.Keys[k].Tokens.Start >= end {
					row[k] = math.NaN()
				}
			}
			labels, out = append(labels, label), append(out, row)
		}
		return labels, out
	}
	if slices.Contains(meta.methods, attribution.MethodAttention) {
		m := &heatmap.Matrix{Title: fmt.Sprintf("%s: attention of the token before the target, by layer (mean over %d heads)", meta.episode, f.Heads),
			Subtitle: sub, Cols: cols}
		sink := 0.0
		for l := range f.Layers {
			m.Rows = append(m.Rows, fmt.Sprintf("layer %d", l))
			m.Values = append(m.Values, f.Segment[l][tq])
			sink += f.Segment[l][tq][nContent] / float64(f.Layers)
		}
		m.Clip = contentClip(m.Values, nContent, false)
		m.ValueLabel = fmt.Sprintf("cell: share of token %d's attention on the column's tokens; colour clipped at %.3g, the 95th percentile of segment cells (the first token takes %.0f%% on average)",
			meta.target-1, m.Clip, 100*sink)
		if err := write("attention-target.svg", m); err != nil {
			return nil, err
		}

		if cols, name, label := headKeys(f, meta.segment); len(cols) > 0 {
			hm := &heatmap.Matrix{Title: fmt.Sprintf("%s: attention of the token before the target on %s, by layer and head", meta.episode, name),
				Subtitle:   strings.TrimSuffix(sub+" · "+shortLabel(label), " · "),
				ValueLabel: "cell: share of the head's attention on the tokens of " + name}
			for h := range f.Heads {
				hm.Cols = append(hm.Cols, fmt.Sprintf("head %d", h))
			}
			for l := range f.Layers {
				hm.Rows = append(hm.Rows, fmt.Sprintf("layer %d", l))
				row := make([]float64, f.Heads)
				for h := range row {
					for _, k := range cols {
						row[h] += f.Target[l][h][k]
					}
				}
				hm.Values = append(hm.Values, row)
			}
			if err := write("attention-heads.svg", hm); err != nil {
				return nil, err
			}
		}

		sm := &heatmap.Matrix{Title: fmt.Sprintf("%s: segment × segment attention (mean over %d layers and %d heads)", meta.episode, f.Layers, f.Heads),
			Subtitle: sub, Cols: cols}
		sm.Rows, sm.Values = segmentMatrix(f.LayerMean())
		sm.Clip = contentClip(sm.Values, nContent, true)
		sm.ValueLabel = fmt.Sprintf("cell: mean over the row segment's tokens of their attention on the column's tokens; colour clipped at %.3g, the 95th percentile of off-diagonal segment cells", sm.Clip)
		if err := write("attention-segments.svg", sm); err != nil {
			return nil, err
		}
	}
	if slices.Contains(meta.methods, attribution.MethodRollout) {
		m := &heatmap.Matrix{Title: fmt.Sprintf("%s: attention rollout, segment × segment (%d layers)", meta.episode, f.Layers),
			Subtitle: sub, Cols: cols}
		m.Rows, m.Values = segmentMatrix(f.Rollout)
		m.Clip = contentClip(m.Values, nContent, true)
		m.ValueLabel = fmt.Sprintf("cell: rollout mass of the row segment's tokens on the column's tokens (product over layers of ½(attention + identity)); colour clipped at %.3g, the 95th percentile of off-diagonal segment cells", m.Clip)
		if err := write("rollout.svg", m); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// headKeys resolves --attention-segment to content key columns of the flow: "" is the content segment
// the target query attends to most (averaged over layers and heads), a segment id is that segment,
// a segment kind (email, tool_result, …) every content segment of that kind together. It returns no
// columns when nothing matches, and the columns' name and label for the figure.
func headKeys(f *attribution.Flow, spec string) (cols []int, name, label string) {
	content := f.Keys[:len(f.Keys)-2]
	if spec == "" {
		if k := f.TopKey(); k >= 0 {
			return []int{k}, content[k].ID, content[k].Label
		}
		return nil, "", ""
	}
	if k := slices.IndexFunc(content, func(n attribution.MatrixNode) bool { return n.ID == spec }); k >= 0 {
		return []int{k}, content[k].ID, content[k].Label
	}
	for k, n := range content {
		if string(n.Kind) == spec {
			cols = append(cols, k)
		}
	}
	return cols, fmt.Sprintf("all %d %s segments", len(cols), spec), ""
}

// shortLabel clips a segment label for a subtitle.
func shortLabel(s string) string {
	if r := []rune(s); len(r) > 60 {
		return strings.TrimSpace(string(r[:59])) + "…"
	}
	return s
}
