package cli

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/attribution"
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

// writeFlow writes attention.parquet and the attention-flow figures drawn from its rows (flowFigures):
// attention-target (layer × key column, head mean, of the query predicting the target),
// attention-heads (layer × head on one segment), attention-segments (segment × segment, mean over
// layers and heads) and rollout (rollout segment × segment), in the formats asked for.
func writeFlow(dir string, r *trace.Rendered, f *attribution.Flow, meta flowMeta) ([]string, error) {
	rows := attribution.FlowRows(r, f, meta.methods, meta.info)
	if err := data.Write(filepath.Join(dir, "attention.parquet"), rows); err != nil {
		return nil, err
	}
	files := []string{"attention.parquet"}
	figs, err := flowFigures(rows, meta.segment)
	if err != nil {
		return nil, err
	}
	for _, nf := range figs {
		names, err := meta.figs.save(dir, nf.name, nf.fig)
		if err != nil {
			return nil, err
		}
		files = append(files, names...)
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
