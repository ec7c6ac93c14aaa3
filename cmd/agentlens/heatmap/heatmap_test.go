package heatmap

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg/draw"
)

// TestColor checks the CSS colours of the scale at its stops and halfway between two of them.
func TestColor(t *testing.T) {
	cases := []struct {
		score, clip float64
		want        string
	}{
		{0, 1, "#ffffff"},
		{1, 1, "#67001f"},  // RdBu's darkest red
		{5, 1, "#67001f"},  // clipped
		{-1, 1, "#053061"}, // RdBu's darkest blue
		{-0.6, 1, "#4393c3"},
		// −0.5 is halfway between the stops at −0.6 (#4393c3) and −0.4 (#92c5de): (67+146)/2 = 106.5 → 107,
		// (147+197)/2 = 172, (195+222)/2 = 208.5 → 209.
		{-0.5, 1, "#6bacd1"},
		{0.3, 0, "#ffffff"},
		{math.NaN(), 1, "#ffffff"},
	}
	for _, c := range cases {
		if got := Color(c.score, c.clip); got != c.want {
			t.Errorf("Color(%g, %g) = %s, want %s", c.score, c.clip, got, c.want)
		}
	}
}

func sample() *Figure {
	return &Figure{
		Title: "ep → <tool_use:email>", Subtitle: "tiny & co",
		Tokens: []Token{{Text: "<|im_start|>", Score: 0.1, Segment: 0}, {Text: "Hi <b>", Score: -2, Segment: 1},
			{Text: "\n", Score: 0, Segment: 1}, {Text: "go", Score: 4, Segment: 2}},
		Target: 3,
		Segments: []Segment{{ID: "template", Kind: "template", Share: 0.1, Score: 0.1},
			{ID: "user[0].email[0]", Kind: "email", Label: "from=a<b>@x subject=\"q\"", Share: 0.3, Score: -2, Effect: -0.5, HasEffect: true},
			{ID: "assistant[0]", Kind: "assistant_text", Share: 0.6, Score: 4}},
	}
}

// TestSVGIsWellFormed: WriteSVG's output parses as XML and has one label per segment with its markup
// escaped.
func TestSVGIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, sample()); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "text" {
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			texts = append(texts, s)
		}
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"ep → <tool_use:email>", `user[0].email[0]  from=a<b>@x subject="q"`, "template", "assistant[0]"} {
		if !strings.Contains(joined, want) {
			t.Errorf("SVG texts lack %q:\n%s", want, joined)
		}
	}
}

// TestBarsToScale draws the bar chart on a recording canvas: one bar per segment, top to bottom in
// episode order, each on the side of the zero axis its score's sign says and as long as the score
// times one common scale (to 0.1 pt, the canvas's precision of placement).
func TestBarsToScale(t *testing.T) {
	f := sample()
	for i := range f.Segments {
		f.Segments[i].HasEffect = false // one panel
	}
	st := Style{}.withDefaults()
	h, paint, err := f.layout(st)
	if err != nil {
		t.Fatal(err)
	}
	c := newCheckCanvas(st.Width, h)
	paint(draw.New(c))
	swatch := float64(0.75 * st.FontSize)
	var bars []box
	for _, r := range c.rects {
		if math.Abs((r.y1-r.y0)-swatch) > 0.01 {
			bars = append(bars, r)
		}
	}
	if len(bars) != len(f.Segments) {
		t.Fatalf("%d bars, want %d", len(bars), len(f.Segments))
	}
	// The zero axis is the edge the bars share: the left edge of positive bars.
	zero := bars[0].x0 // the first segment's score (0.1) is positive
	scale := (bars[0].x1 - bars[0].x0) / f.Segments[0].Score
	for i, b := range bars {
		s := f.Segments[i].Score
		if i > 0 && b.y1 > bars[i-1].y0 {
			t.Errorf("bar %d is not below bar %d", i, i-1)
		}
		got := b.x1 - b.x0
		if s < 0 {
			got = -got
			if math.Abs(b.x1-zero) > 0.1 {
				t.Errorf("negative bar %d ends at %.2f, not at zero %.2f", i, b.x1, zero)
			}
		} else if math.Abs(b.x0-zero) > 0.1 {
			t.Errorf("positive bar %d starts at %.2f, not at zero %.2f", i, b.x0, zero)
		}
		if math.Abs(got-s*scale) > 0.1 {
			t.Errorf("bar %d (score %g) is %.2f pt long, want %.2f", i, s, got, s*scale)
		}
	}
}
