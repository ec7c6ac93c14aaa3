package heatmap

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
)

// TestMatrixSVG: the SVG parses as XML, draws one cell per finite value (NaN cells empty) with its
// value in a tooltip, and refuses ragged input.
func TestMatrixSVG(t *testing.T) {
	nan := math.NaN()
	m := &Matrix{Title: "a → b", Rows: []string{"system", "email <1>"}, Cols: []string{"email <1>", "reasoning", "target"},
		Values: [][]float64{{0.5, -0.25, 1}, {nan, 0.125, 2}}, ValueLabel: "Δ mean log p"}
	var b bytes.Buffer
	if err := WriteMatrixSVG(&b, m); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	titles := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "title" {
			titles++
		}
	}
	if titles != 5 {
		t.Errorf("%d cells with tooltips, want the 5 finite values", titles)
	}
	if !strings.Contains(b.String(), "email &lt;1&gt; → target: 2") {
		t.Errorf("tooltip of the last cell missing:\n%s", b.String())
	}
	m.Values[1] = m.Values[1][:2]
	if err := WriteMatrixSVG(&b, m); err == nil {
		t.Error("ragged matrix: no error")
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
