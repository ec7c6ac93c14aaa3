package heatmap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg/draw"

	"github.com/agentlens/agentlens/attribution"
)

// TestMatrixSVG: the SVG parses as XML with the labels escaped, one cell is drawn per finite value
// (NaN cells left empty), and ragged input is refused.
func TestMatrixSVG(t *testing.T) {
	nan := math.NaN()
	m := &Matrix{Title: "a → b", Rows: []string{"system", "email <1>"}, Cols: []string{"email <1>", "reasoning", "target"},
		Values: [][]float64{{0.5, -0.25, 1}, {nan, 0.125, 2}}, ValueLabel: "Δ mean log p"}
	var b bytes.Buffer
	if err := WriteMatrixSVG(&b, m); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, b.String())
		}
	}
	if !strings.Contains(b.String(), ">email &lt;1&gt;</text>") {
		t.Errorf("escaped label missing:\n%s", b.String())
	}
	st := Style{}.withDefaults()
	h, paint, err := m.layout(st)
	if err != nil {
		t.Fatal(err)
	}
	c := newCheckCanvas(st.Width, h)
	paint(draw.New(c))
	if len(c.rects) != 5 {
		t.Errorf("%d cells drawn, want the 5 finite values", len(c.rects))
	}
	m.Values[1] = m.Values[1][:2]
	if err := WriteMatrixSVG(&b, m); !errors.Is(err, ErrShape) {
		t.Errorf("ragged matrix: error %v, want ErrShape", err)
	}
}

// TestWriteDOT: every node and edge of the graph appears once, quoted, with the widest path in red
// and pen widths scaled to the strongest edge.
func TestWriteDOT(t *testing.T) {
	g := &attribution.SegmentGraph{Nodes: []attribution.GraphNode{{ID: "m0.system[0]", Kind: "system"}, {ID: `m1 "mail"`, Kind: "email",
		Label: "Re: wipe"}, {ID: "target", Kind: "target", Target: true}},
		Edges: []attribution.GraphEdge{{From: "m0.system[0]", To: `m1 "mail"`, Weight: 2}, {From: `m1 "mail"`, To: "target", Weight: 1},
			{From: "m0.system[0]", To: "target", Weight: 0.5}},
		Path: []string{"m0.system[0]", `m1 "mail"`, "target"}}
	var b bytes.Buffer
	if err := WriteDOT(&b, g, "ep"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`"m0.system[0]" -> "m1 \"mail\"" [penwidth=5.00, color="#d7301f"`,
		`"m1 \"mail\"" -> "target" [penwidth=2.75, color="#d7301f"`,
		`"m0.system[0]" -> "target" [penwidth=1.62, color="#555555"`,
		`"m1 \"mail\"" [label="m1 \"mail\"\nRe: wipe"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT lacks %s:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "digraph segments {") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("DOT is not one digraph:\n%s", out)
	}
}
