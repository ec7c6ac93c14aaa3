package heatmap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestCurvesSVG checks the chart is well-formed XML, labels its series, and puts each point where its
// value says: y = 0.5 halfway up a [0, 1] axis, x at its place between the first and last layer.
func TestCurvesSVG(t *testing.T) {
	c := &Curves{Title: "AUROC by layer", XLabel: "layer", YLabel: "AUROC", YMin: 0, YMax: 1, Reference: 0.5, RefLabel: "chance",
		Series: []Series{
			{Name: "cv <train>", Points: []Point{{X: 0, Y: 0.5, Lo: 0.4, Hi: 0.6}, {X: 10, Y: 1, Lo: 1, Hi: 1}}},
			{Name: "test_style", Points: []Point{{X: 5, Y: 0.75, Lo: 0.7, Hi: 0.8}}},
		}}
	var b bytes.Buffer
	if err := WriteCurvesSVG(&b, c); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var texts []string
	var circles [][2]float64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b.String())
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "text":
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			texts = append(texts, s)
		case "circle":
			var xy [2]float64
			for _, a := range se.Attr {
				v, _ := strconv.ParseFloat(a.Value, 64)
				switch a.Name.Local {
				case "cx":
					xy[0] = v
				case "cy":
					xy[1] = v
				}
			}
			circles = append(circles, xy)
		}
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"AUROC by layer", "cv <train>", "test_style", "chance", "layer", "0.6"} {
		if !strings.Contains(joined, want) {
			t.Errorf("SVG texts lack %q:\n%s", want, joined)
		}
	}
	// Plot area: x from 64 to 520 (456 wide), y from 52 to 352 (300 high).
	want := [][2]float64{{64, 202}, {520, 52}, {292, 127}}
	if len(circles) != len(want) {
		t.Fatalf("%d markers, want %d", len(circles), len(want))
	}
	for i, w := range want {
		if d := circles[i][0] - w[0] + circles[i][1] - w[1]; d*d > 0.1 {
			t.Errorf("marker %d at %v, want %v", i, circles[i], w)
		}
	}
}

// TestCurvesScatter checks a scatter with the diagonal: markers only (no polyline or band), both axes
// on the union of the x and y ranges, each point where its value says, and the diagonal from the
// bottom-left to the top-right corner of the plot.
func TestCurvesScatter(t *testing.T) {
	c := &Curves{Title: "estimate vs patching", Diagonal: true, Series: []Series{
		{Name: "atp", Scatter: true, Points: []Point{{X: 0, Y: 2, Lo: 2, Hi: 2}, {X: 1, Y: 0, Lo: 0, Hi: 0}}},
		{Name: "atp*", Scatter: true, Points: []Point{{X: 1, Y: 1, Lo: 1, Hi: 1}}},
	}}
	var b bytes.Buffer
	if err := WriteCurvesSVG(&b, c); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if strings.Contains(svg, "<polyline") || strings.Contains(svg, "<polygon") {
		t.Errorf("scatter draws lines or bands:\n%s", svg)
	}
	if err := xml.Unmarshal(b.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	// Both axes span [0, 2]: x from 64 to 520, y from 352 (0) to 52 (2).
	for _, want := range []string{`cx="64.0" cy="52.0"`, `cx="292.0" cy="352.0"`, `cx="292.0" cy="202.0"`,
		`x1="64.0" y1="352.0" x2="520.0" y2="52.0" stroke="#777777" stroke-dasharray="4 3"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s:\n%s", want, svg)
		}
	}
}

func TestTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 29, 8, "0 5 10 15 20 25"},
		{0.4, 1, 6, "0.4 0.5 0.6 0.7 0.8 0.9 1"},
		{0, 1, 6, "0 0.2 0.4 0.6 0.8 1"},
	}
	for _, tc := range cases {
		if got := fmtAll(ticks(tc.lo, tc.hi, tc.n)); got != tc.want {
			t.Errorf("ticks(%g, %g, %d) = %s, want %s", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

func fmtAll(x []float64) string {
	var s []string
	for _, v := range x {
		s = append(s, fmtTick(v))
	}
	return strings.Join(s, " ")
}

// TestCurvesIntegerTicks: a chart over layers 0…3 labels whole layers only.
func TestCurvesIntegerTicks(t *testing.T) {
	var pts []Point
	for l := range 4 {
		pts = append(pts, Point{X: float64(l), Y: 0.5, Lo: 0.5, Hi: 0.5})
	}
	var b bytes.Buffer
	if err := WriteCurvesSVG(&b, &Curves{Series: []Series{{Name: "s", Points: pts}}, YMin: 0, YMax: 1}); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if strings.Contains(svg, ">1.5<") || strings.Contains(svg, ">0.5<") || !strings.Contains(svg, ">3<") {
		t.Errorf("layer ticks: want 0 1 2 3 only:\n%s", svg)
	}
}

// TestCurvesWideSubtitle: a subtitle longer than the plot widens the figure rather than running off
// its right edge.
func TestCurvesWideSubtitle(t *testing.T) {
	sub := strings.Repeat("gemma-3-270m-q4_k_m/L4/hook_resid_post/decision/logistic · ", 3)
	var b bytes.Buffer
	if err := WriteCurvesSVG(&b, &Curves{Title: "t", Subtitle: sub, Series: []Series{{Name: "a", Points: []Point{{X: 0, Y: 1}}}}}); err != nil {
		t.Fatal(err)
	}
	var w int
	if _, err := fmt.Sscanf(b.String(), `<svg xmlns="http://www.w3.org/2000/svg" width="%d"`, &w); err != nil {
		t.Fatal(err)
	}
	if need := 24 + int(6.2*float64(len([]rune(sub)))); w < need {
		t.Errorf("width %d for a subtitle needing %d", w, need)
	}
}
