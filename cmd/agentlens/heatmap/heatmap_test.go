package heatmap

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestColor(t *testing.T) {
	cases := []struct {
		score, clip float64
		want        string
	}{
		{0, 1, "#ffffff"},
		{1, 1, "#d7301f"},
		{5, 1, "#d7301f"}, // clipped
		{-1, 1, "#2166ac"},
		{-0.5, 1, "#90b3d6"}, // halfway from white to #2166ac: (255+33)/2 = 144, (255+102)/2 = 178.5 → 179, (255+172)/2 = 213.5 → 214
		{0.3, 0, "#ffffff"},
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

// TestSVGIsWellFormed: the SVG parses as XML, has one label per segment with markup escaped, and bars
// whose widths follow the shares.
func TestSVGIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, sample()); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var texts []string
	var widths []string
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
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "height" && a.Value == "12" {
					for _, a2 := range se.Attr {
						if a2.Name.Local == "width" {
							widths = append(widths, a2.Value)
						}
					}
				}
			}
		}
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"ep → <tool_use:email>", `user[0].email[0] (email) from=a<b>@x subject="q"`, "60.0%", "-0.500"} {
		if !strings.Contains(joined, want) {
			t.Errorf("SVG texts lack %q:\n%s", want, joined)
		}
	}
	// Share bars: 0.1, 0.3, 0.6 of the largest (0.6) times 300 px; then the one effect bar (full width).
	if want := []string{"50.0", "150.0", "300.0", "300.0"}; strings.Join(widths, " ") != strings.Join(want, " ") {
		t.Errorf("bar widths %v, want %v", widths, want)
	}
}

// TestHTMLViewer: one span per token with its text escaped, the target outlined, one row per segment,
// and no external resource.
func TestHTMLViewer(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if n := strings.Count(s, `<span class="t`); n != 4 {
		t.Errorf("%d token spans, want 4", n)
	}
	if n := strings.Count(s, `<tr class="s"`); n != 3 {
		t.Errorf("%d segment rows, want 3", n)
	}
	if !strings.Contains(s, `<span class="t target" data-s="2" style="background:#d7301f"`) {
		t.Error("target token not outlined with full red (score 4 is the clip: the 99th percentile)")
	}
	if strings.Contains(s, "Hi <b>") || !strings.Contains(s, "Hi &lt;b&gt;") {
		t.Error("token text not escaped")
	}
	for _, bad := range []string{"http://", "https://", "<link", "src="} {
		if strings.Contains(s, bad) {
			t.Errorf("page refers to an external resource (%q)", bad)
		}
	}
}
