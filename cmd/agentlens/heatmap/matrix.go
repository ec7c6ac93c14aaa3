package heatmap

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/attribution"
)

// Matrix is a heatmap of a matrix with labelled rows and columns: a segment × segment matrix (rows the
// deleted sources, columns the later segments they move).
type Matrix struct {
	Title, Subtitle string
	Rows, Cols      []string    // labels
	Values          [][]float64 // [row][col]; NaN cells are drawn empty (e.g. a column not after its row)
	// ValueLabel says what a cell's value is, for the legend ("Δ mean log p: red, the source supports it").
	ValueLabel string
	// Clip is the |value| that maps to full colour; 0 means the 99th percentile of |value|.
	Clip float64
	// Unit titles the colour bar, short ("Δ mean log p", "share restored"); RowTitle and ColTitle
	// name what the rows and columns are ("layer", "deleted segment"). All optional.
	Unit, RowTitle, ColTitle string
}

// clip returns the colour scale's full-intensity |value|.
func (m *Matrix) clip() float64 {
	if m.Clip > 0 {
		return m.Clip
	}
	var abs []float64
	for _, row := range m.Values {
		for _, v := range row {
			if a := math.Abs(v); a > 0 && !math.IsInf(a, 0) && !math.IsNaN(a) {
				abs = append(abs, a)
			}
		}
	}
	if len(abs) == 0 {
		return 1
	}
	slices.Sort(abs)
	return abs[min(len(abs)-1, int(0.99*float64(len(abs))))]
}

// shorten clips a label to n runes with an ellipsis.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// WriteMatrixSVG draws the matrix as SVG (Render with SVG and the default Style): a grid of cells on
// the Diverging scale, row labels on the left, column labels under the grid, a colour bar with the
// unit, and the value label as a caption.
func WriteMatrixSVG(w io.Writer, m *Matrix) error {
	return Render(w, m, SVG, Style{})
}

// dotID quotes a string for Graphviz.
func dotID(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// kindColor is the fill of a graph node by segment kind.
var kindColor = map[string]string{
	"system": "#e0e0e0", "user": "#f2f2f2", "email": "#fde0c5", "document": "#fdf1c5", "assistant_text": "#d9ecf7",
	"reasoning": "#cfe3f5", "tool_call": "#d6f0d6", "tool_result": "#e7f5e7", "target": "#f4a6a6",
}

// WriteDOT writes a segment attribution graph as Graphviz DOT, left to right in episode order: nodes
// filled by kind and labelled with id and label, edges as thick as their weight relative to the
// strongest, labelled with it; the widest path into the target drawn in red.
func WriteDOT(w io.Writer, g *attribution.SegmentGraph, title string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph segments {\n  rankdir=LR;\n  labelloc=t;\n  label=%s;\n", dotID(title))
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, n := range g.Nodes {
		label := n.ID
		if n.Label != "" {
			label += "\n" + shorten(n.Label, 40)
		}
		fill := kindColor[n.Kind]
		if fill == "" {
			fill = "#ffffff"
		}
		fmt.Fprintf(&b, "  %s [label=%s, fillcolor=%s];\n", dotID(n.ID), dotID(label), dotID(fill))
	}
	maxW := 0.0
	for _, e := range g.Edges {
		maxW = math.Max(maxW, e.Weight)
	}
	onPath := map[[2]string]bool{}
	for i := 0; i+1 < len(g.Path); i++ {
		onPath[[2]string{g.Path[i], g.Path[i+1]}] = true
	}
	for _, e := range g.Edges {
		pen := 1.0
		if maxW > 0 {
			pen = 0.5 + 4.5*e.Weight/maxW
		}
		color := "#555555"
		if onPath[[2]string{e.From, e.To}] {
			color = "#d7301f"
		}
		fmt.Fprintf(&b, "  %s -> %s [penwidth=%.2f, color=%s, label=%s];\n", dotID(e.From), dotID(e.To), pen, dotID(color), dotID(fmt.Sprintf("%.3g", e.Weight)))
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}
