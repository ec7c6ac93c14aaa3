package heatmap

import (
	"bytes"
	"fmt"
	"html"
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

// WriteMatrixSVG draws the matrix as a grid of coloured cells on a symmetric red–blue scale (Color),
// row labels on the left, column labels rotated above, a colour bar, and each cell's value in a
// tooltip (<title>).
func WriteMatrixSVG(w io.Writer, m *Matrix) error {
	for i, row := range m.Values {
		if len(row) != len(m.Cols) {
			return fmt.Errorf("heatmap: matrix row %d has %d values for %d columns", i, len(row), len(m.Cols))
		}
	}
	if len(m.Values) != len(m.Rows) {
		return fmt.Errorf("heatmap: matrix has %d rows of values for %d row labels", len(m.Values), len(m.Rows))
	}
	const cell, labelW, colH, pad, top = 14, 340, 220, 12, 52
	// Column labels rise at 60° from their cells: the last one reaches cos 60° × its length to the right.
	reach := 0
	for _, c := range m.Cols {
		reach = max(reach, int(0.5*5.6*float64(len([]rune(shorten(c, 40))))))
	}
	width := max(labelW+cell*len(m.Cols)+pad+max(90, reach), textWidth(m.Title, m.Subtitle), 12+int(5.6*float64(len([]rune(m.ValueLabel)))))
	height := top + colH + cell*len(m.Rows) + pad + 30
	clip := m.clip()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="10">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", pad, html.EscapeString(m.Title))
	fmt.Fprintf(&b, `<text x="%d" y="34" font-size="11" fill="#555555">%s</text>`+"\n", pad, html.EscapeString(m.Subtitle))
	y0 := top + colH
	for j, c := range m.Cols {
		x := labelW + j*cell + cell/2 + 3
		fmt.Fprintf(&b, `<text transform="translate(%d,%d) rotate(-60)">%s</text>`+"\n", x, y0-4, html.EscapeString(shorten(c, 40)))
	}
	for i, r := range m.Rows {
		y := y0 + i*cell
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-4, y+cell-3, html.EscapeString(shorten(r, 52)))
		for j, v := range m.Values[i] {
			x := labelW + j*cell
			if math.IsNaN(v) {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#dddddd" stroke-width="0.5"><title>%s → %s: %.4g</title></rect>`+"\n",
				x, y, cell, cell, Color(v, clip), html.EscapeString(r), html.EscapeString(m.Cols[j]), v)
		}
	}
	// Colour bar: −clip … +clip.
	bx, by, bh := labelW+cell*len(m.Cols)+24, y0, 120
	for k := range 24 {
		v := clip * (1 - 2*float64(k)/23)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="%d" fill="%s"/>`+"\n", bx, by+k*bh/24, bh/24+1, Color(v, clip))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">%+.3g</text>`+"\n", bx+16, by+8, clip)
	fmt.Fprintf(&b, `<text x="%d" y="%d">0</text>`+"\n", bx+16, by+bh/2+3)
	fmt.Fprintf(&b, `<text x="%d" y="%d">%+.3g</text>`+"\n", bx+16, by+bh, -clip)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555555">%s</text>`+"\n", pad, height-10, html.EscapeString(m.ValueLabel))
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
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
