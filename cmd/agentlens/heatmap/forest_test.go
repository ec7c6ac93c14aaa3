package heatmap

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// forestOf is a forest of the first rows of forestFamilies (long labels among them) and the first
// series of sampleForest, with the notes on the points or, for one series, on the rows.
func forestOf(series, rows int) *Forest {
	full := sampleForest()
	f := &Forest{Title: full.Title, Subtitle: full.Subtitle, XLabel: full.XLabel}
	// Start at the long labels so that two rows already wrap.
	for i := range rows {
		f.Rows = append(f.Rows, forestFamilies[(i+3)%len(forestFamilies)])
	}
	for _, s := range full.Series[:series] {
		t := ForestSeries{Name: s.Name}
		for i := range rows {
			t.Points = append(t.Points, s.Points[(i+3)%len(s.Points)])
		}
		f.Series = append(f.Series, t)
	}
	if series == 1 {
		for i := range f.Series[0].Points {
			f.Notes = append(f.Notes, f.Series[0].Points[i].Note)
			f.Series[0].Points[i].Note = ""
		}
	}
	return f
}

// TestForestLayout lays forests of 1 and 3 series over 2 and 12 rows with long labels out at both
// paper widths and three base sizes: no text leaves the page or overlaps another, every row's label
// starts as it should, the notes lie right of the plot area (right of the last tick's centre) and the
// legend comes with several series only.
func TestForestLayout(t *testing.T) {
	for _, series := range []int{1, 3} {
		for _, rows := range []int{2, 12} {
			f := forestOf(series, rows)
			for _, w := range []vg.Length{OneColumn, TwoColumn} {
				for _, size := range []vg.Length{0, 6, 10} {
					st := Style{Width: w, FontSize: size}.withDefaults()
					name := fmt.Sprintf("%d series × %d rows at %.1f in, %v pt", series, rows, w/vg.Inch, st.FontSize)
					h, paint, err := f.layout(st)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					c := newCheckCanvas(st.Width, h)
					paint(draw.New(c))
					for _, p := range c.problems(0.6) {
						t.Errorf("%s: %s", name, p)
					}
					texts := map[string]box{}
					for _, b := range c.texts {
						texts[b.what] = b
					}
					right, ok := texts["100%"]
					if !ok {
						t.Errorf("%s: no 100%% tick label", name)
						continue
					}
					plotRight := (right.x0 + right.x1) / 2
					notes := 0
					for _, b := range c.texts {
						if strings.Contains(b.what, "/") && b.what != "n/a" {
							notes++
							if b.x0 < plotRight {
								t.Errorf("%s: note %s starts left of the plot's right edge %.1f", name, b, plotRight)
							}
						}
					}
					if notes != series*rows {
						t.Errorf("%s: %d notes drawn, want %d", name, notes, series*rows)
					}
					for _, r := range f.Rows {
						first := strings.Fields(r)[0]
						found := false
						for _, b := range c.texts {
							found = found || strings.HasPrefix(b.what, first) && b.x1 < plotRight
						}
						if !found {
							t.Errorf("%s: row label %q not drawn", name, r)
						}
					}
					_, legend := texts[f.Series[0].Name]
					if legend != (series > 1) {
						t.Errorf("%s: legend drawn %v, want %v", name, legend, series > 1)
					}
				}
			}
		}
	}
}

// TestForestErrors: parts that do not fit together are errors wrapping ErrShape.
func TestForestErrors(t *testing.T) {
	pt := func(y, lo, hi float64) ForestPoint { return ForestPoint{Y: y, Lo: lo, Hi: hi} }
	one := func(p ForestPoint) []ForestSeries { return []ForestSeries{{Name: "m", Points: []ForestPoint{p}}} }
	nan := math.NaN()
	cases := []struct {
		name string
		f    Forest
		want string
	}{
		{"points", Forest{Rows: []string{"a", "b"}, Series: one(pt(0.5, 0.4, 0.6))}, "1 points for 2 rows"},
		{"notes", Forest{Rows: []string{"a"}, Notes: []string{"1/2", "2/2"}, Series: one(pt(0.5, 0.4, 0.6))}, "2 notes for 1 rows"},
		{"lo above y", Forest{Rows: []string{"a"}, Series: one(pt(0.5, 0.6, 0.7))}, "Lo ≤ Y ≤ Hi"},
		{"y above hi", Forest{Rows: []string{"a"}, Series: one(pt(0.5, 0.1, 0.4))}, "Lo ≤ Y ≤ Hi"},
		{"half interval", Forest{Rows: []string{"a"}, Series: one(pt(0.5, nan, 0.6))}, "half an interval"},
		{"infinite", Forest{Rows: []string{"a"}, Series: one(pt(0.5, math.Inf(-1), 0.6))}, "infinite"},
		{"range", Forest{XMin: 1, XMax: 0.5, Rows: []string{"a"}, Series: one(pt(0.5, 0.4, 0.6))}, "x range"},
		{"no rows", Forest{Series: []ForestSeries{{Name: "m"}}}, "no rows"},
		{"no series", Forest{Rows: []string{"a"}}, "no series"},
	}
	for _, c := range cases {
		err := Render(&bytes.Buffer{}, &c.f, SVG, Style{})
		if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrShape saying %q", c.name, err, c.want)
		}
	}
	// A missing point (NaN Y) with whatever interval, a point without one (both NaN), and points off a
	// narrowed axis are fine.
	ok := Forest{XMin: 0.2, XMax: 0.6, Rows: []string{"a", "b", "c", "d"}, Series: []ForestSeries{{Name: "m", Points: []ForestPoint{
		pt(nan, 0.7, 0.1), pt(0.5, nan, nan), pt(0.9, 0.8, 1), pt(0.3, 0, 0.7)}}}}
	var b bytes.Buffer
	if err := Render(&b, &ok, SVG, Style{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"n/a", "20%", "60%"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("SVG of the narrowed forest lacks %q", w)
		}
	}
}

// TestForestTicks: quarters as percentages on the default axis, round steps otherwise, plain numbers
// for an axis beyond [0, 1].
func TestForestTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 1, "0% 25% 50% 75% 100%"},
		{0, 0.5, "0% 10% 20% 30% 40% 50%"},
		{-1, 1, "−1 −0.5 0 0.5 1"},
	} {
		_, labels := forestTicks(c.lo, c.hi, 5)
		if got := strings.Join(labels, " "); got != c.want {
			t.Errorf("ticks of [%g, %g]: %s, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

// TestForestSave writes the sample forest in every format: a PNG that decodes at the style's width,
// a PDF and an SVG.
func TestForestSave(t *testing.T) {
	base := filepath.Join(t.TempDir(), "forest")
	names, err := Save(base, sampleForest(), Formats, Style{Width: OneColumn, DPI: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "forest.png forest.svg forest.pdf" {
		t.Errorf("wrote %s", got)
	}
	data := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(base), n))
		if err != nil {
			t.Fatal(err)
		}
		data[filepath.Ext(n)] = b
	}
	img, err := png.Decode(bytes.NewReader(data[".png"]))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != 350 {
		t.Errorf("PNG %d px wide, want 350", w)
	}
	if !bytes.HasPrefix(data[".pdf"], []byte("%PDF-")) {
		t.Error("PDF does not start with %PDF-")
	}
	if !bytes.Contains(data[".svg"], []byte("<svg")) || !bytes.Contains(data[".svg"], []byte("llama-3.1-8b-instruct")) {
		t.Error("SVG lacks its root or the legend")
	}
}
