package heatmap

import (
	"bytes"
	"errors"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

func TestReadableToken(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<|im_start|>", "[im_start]"},
		{"<|eot_id|>", "[eot_id]"},
		{"<start_of_turn>", "[start_of_turn]"},
		{"<bos>", "[bos]"},
		{"<email>", "<email>"}, // a content tag, not a special token
		{"</email>", "</email>"},
		{"\n", `\n`},
		{".\n\n", `.\n\n`},
		{"\tx\r", `\tx\r`},
		{"a\x01b", `a\x01b`},
		{" Kyle", " Kyle"},
		{"→ Δ", "→ Δ"},
		{"\u2705", `\u{2705}`}, // ✅: not in Liberation Sans
		{"\xff", `\xff`},       // a byte that is not UTF-8
	}
	for _, c := range cases {
		if got := ReadableToken(c.in); got != c.want {
			t.Errorf("ReadableToken(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseFormats(t *testing.T) {
	cases := []struct {
		in   string
		want []Format
		err  bool
	}{
		{"png", []Format{PNG}, false},
		{"svg, PDF,svg", []Format{SVG, PDF}, false},
		{"all", []Format{PNG, SVG, PDF}, false},
		{"pdf,all", []Format{PDF, PNG, SVG}, false},
		{"jpeg", nil, true},
		{"", nil, true},
	}
	for _, c := range cases {
		got, err := ParseFormats(c.in)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("ParseFormats(%q): error %v is not ErrFormat", c.in, err)
		}
	}
}

func TestParseWidth(t *testing.T) {
	cases := []struct {
		in   string
		want vg.Length
		err  bool
	}{
		{"one", OneColumn, false},
		{"two", TwoColumn, false},
		{"page", TwoColumn, false},
		{"12cm", 12 * vg.Centimeter, false},
		{"90mm", 90 * vg.Millimeter, false},
		{"5.5in", 5.5 * vg.Inch, false},
		{"400pt", 400, false},
		{"1in", 0, true}, // too narrow for any figure
		{"12", 0, true},  // no unit
		{"wide", 0, true},
	}
	for _, c := range cases {
		got, err := ParseWidth(c.in)
		if (err != nil) != c.err || math.Abs(float64(got-c.want)) > 1e-9 {
			t.Errorf("ParseWidth(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}

// lightness is CIE L* (0 black … 100 white) of an sRGB colour.
func lightness(c color.RGBA) float64 {
	y := luminance(c)
	if y > 216.0/24389 {
		return 116*math.Cbrt(y) - 16
	}
	return y * 24389 / 27
}

// TestDivergingScale checks the properties a diverging scale must have to be read right: white at
// zero, the scale's stops where they belong, darker the further from zero on both sides (so magnitude
// reads as contrast), both sides equally dark at equal distances (within 5 L* units: ColorBrewer's
// RdBu stops are balanced to about 4), and the two sides apart for a reader without red–green vision.
func TestDivergingScale(t *testing.T) {
	if got := Diverging(0); got != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("Diverging(0) = %v, want white", got)
	}
	for k, want := range divergingStops {
		if got := Diverging(-1 + float64(k)/5); got != want {
			t.Errorf("Diverging(%g) = %v, want stop %v", -1+float64(k)/5, got, want)
		}
	}
	if Diverging(7) != Diverging(1) || Diverging(-7) != Diverging(-1) {
		t.Error("values beyond ±1 are not clamped")
	}
	prevPos, prevNeg := 100.0, 100.0
	for i := 1; i <= 100; i++ {
		x := float64(i) / 100
		lp, ln := lightness(Diverging(x)), lightness(Diverging(-x))
		if lp > prevPos+1e-9 || ln > prevNeg+1e-9 {
			t.Errorf("lightness rises away from zero at ±%.2f: %.1f, %.1f after %.1f, %.1f", x, lp, ln, prevPos, prevNeg)
		}
		if math.Abs(lp-ln) > 5 {
			t.Errorf("±%.2f differ in lightness: %.1f (red) vs %.1f (blue)", x, lp, ln)
		}
		prevPos, prevNeg = lp, ln
	}
	// A dichromat simulation (Viénot, Brettel & Mollon 1999) keeps only the blue–yellow axis of a
	// colour: red shades must come out yellower than blue, blue shades bluer, from 0.2 of the scale on.
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	sims := map[string][3][3]float64{
		"protanopia":   {{0.11238, 0.88762, 0}, {0.11238, 0.88762, 0}, {0.00401, -0.00401, 1}},
		"deuteranopia": {{0.29275, 0.70725, 0}, {0.29275, 0.70725, 0}, {-0.02234, 0.02234, 1}},
	}
	for name, m := range sims {
		blueYellow := func(c color.RGBA) float64 {
			r, g, b := lin(c.R), lin(c.G), lin(c.B)
			var s [3]float64
			for i := range s {
				s[i] = m[i][0]*r + m[i][1]*g + m[i][2]*b
			}
			return s[2] - (s[0]+s[1])/2
		}
		for i := 20; i <= 100; i += 5 {
			x := float64(i) / 100
			if red, blue := blueYellow(Diverging(x)), blueYellow(Diverging(-x)); red >= 0 || blue <= 0 {
				t.Errorf("%s: ±%.2f not told apart (blue−yellow %.3f for red, %.3f for blue)", name, x, red, blue)
			}
		}
	}
}

// TestFitAndWrap: fitted text never exceeds its width and keeps what fits; wrapped lines never exceed
// theirs, keep every word when there is room, and end in an ellipsis when cut.
func TestFitAndWrap(t *testing.T) {
	sty := textStyle(8, false, color.Black)
	long := "user[0].email[1] thomas.wilson@summitbridge.com: Record Quarter and Industry Recognition"
	for _, w := range []vg.Length{5, 20, 60, 150, 400} {
		got := fit(sty, long, w)
		if width(sty, got) > w {
			t.Errorf("fit(%v) = %q is %.1f wide", w, got, width(sty, got))
		}
		if got != long && got != "" && !strings.HasSuffix(got, "…") {
			t.Errorf("fit(%v) = %q: cut without an ellipsis", w, got)
		}
		if prefix := strings.TrimSuffix(got, "…"); !strings.HasPrefix(long, prefix) {
			t.Errorf("fit(%v) = %q is not a prefix", w, got)
		}
	}
	// At 100 pt "thomas.wilson@summitbridge.com:" is wider than a line and is cut inside the word.
	lines := wrap(sty, long, 100, 0)
	if nospace := func(s string) string { return strings.ReplaceAll(s, " ", "") }; nospace(strings.Join(lines, "")) != nospace(long) {
		t.Errorf("wrap lost text: %q", lines)
	}
	if wide := wrap(sty, long, 160, 0); strings.Join(wide, " ") != long {
		t.Errorf("wrap at 160 pt lost words: %q", wide)
	}
	for _, l := range lines {
		if width(sty, l) > 100 {
			t.Errorf("wrapped line %q is %.1f wide, more than 100", l, width(sty, l))
		}
	}
	cut := wrap(sty, long, 100, 2)
	if len(cut) != 2 || !strings.HasSuffix(cut[1], "…") {
		t.Errorf("wrap to 2 lines = %q, want 2 lines, the last cut with …", cut)
	}
}

// TestStripOfFigure: a figure's passage keeps its tokens, finds the target inside it, and shares the
// whole figure's colour scale.
func TestStripOfFigure(t *testing.T) {
	f := sample() // four tokens, scores 0.1, −2, 0, 4; target 3
	s := f.Strip(1, 10)
	if len(s.Tokens) != 3 || s.Tokens[0].Text != "Hi <b>" || s.Target != 2 {
		t.Errorf("Strip(1, 10): %d tokens from %q, target %d; want 3 from \"Hi <b>\", target 2", len(s.Tokens), s.Tokens[0].Text, s.Target)
	}
	if s.Clip != f.clip() {
		t.Errorf("clip %g, want the figure's %g", s.Clip, f.clip())
	}
	if s := f.Strip(0, 2); s.Target != -1 {
		t.Errorf("Strip(0, 2) holds no target, got %d", s.Target)
	}
}

// TestSave writes every format atomically under the base name: the files are there, readable by all,
// PNG at the asked resolution (3.5 in at 200 dpi = 700 px), and no temporary file is left behind.
func TestSave(t *testing.T) {
	dir := t.TempDir()
	names, err := Save(filepath.Join(dir, "bars"), sampleBars(), []Format{PNG, SVG, PDF}, Style{Width: OneColumn, DPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"bars.png", "bars.svg", "bars.pdf"}) {
		t.Errorf("names %v", names)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the directory, want 3", len(entries))
	}
	fi, err := os.Stat(filepath.Join(dir, "bars.png"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("bars.png: %v, mode %v", err, fi.Mode())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "bars.png"))
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 700 {
		t.Errorf("bars.png: %v, width %d px, want 700", err, img.Bounds().Dx())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "bars.pdf")); !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Error("bars.pdf is not a PDF")
	}
	if _, err := Save(filepath.Join(dir, "m"), &Matrix{}, []Format{PNG}, Style{}); !errors.Is(err, ErrShape) {
		t.Errorf("empty matrix: %v, want ErrShape", err)
	}
}
