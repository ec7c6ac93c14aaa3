package heatmap

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// goldenDPI keeps the golden PNGs small (a two-column figure is 672 px wide) while 8 pt text is still
// 10 px tall, so a label that moves or a colour that changes alters hundreds of pixels.
const goldenDPI = 96

// Golden comparison tolerance. A pixel differs when one of its channels is off by more than
// pixelTol of 255: anti-aliased edges of text and lines move by a few levels between Go versions and
// CPUs, colours that change (a wrong scale, a swapped sign) move by far more. The figure matches when
// at most shareTol of its pixels differ, 0.03%: about 45 pixels of a 672 × 220 chart, a few glyph
// edges. One bar drawn 0.1 units short in the bar chart (an 8 × 10-pixel sliver, 0.05%) already fails;
// renderings on the machine that made the goldens differ in no pixel at all.
const (
	pixelTol = 24
	shareTol = 0.0003
)

// goldenCases are the golden images: every sample at two-column width, and the kinds whose layout
// changes most with width also at one column.
func goldenCases() []struct {
	name  string
	fig   Drawable
	width vg.Length
} {
	var out []struct {
		name  string
		fig   Drawable
		width vg.Length
	}
	for _, s := range samples() {
		out = append(out, struct {
			name  string
			fig   Drawable
			width vg.Length
		}{s.name, s.fig, TwoColumn})
		switch s.name {
		case "bars", "compare", "matrix", "strip", "forest":
			out = append(out, struct {
				name  string
				fig   Drawable
				width vg.Length
			}{s.name + "-one", s.fig, OneColumn})
		}
	}
	return out
}

// TestGolden renders every figure kind as PNG and compares it with testdata/golden/<kind>.png within
// the tolerance above (go test -update rewrites them; look at them before committing). On a mismatch
// it writes the image it got and a difference map next to a temporary copy and names them.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, c.fig, PNG, Style{Width: c.width, DPI: goldenDPI}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", c.name+".png")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create the golden image)", err)
			}
			got, err := png.Decode(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			wantImg, err := png.Decode(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			share, diff, err := compareImages(got, wantImg, pixelTol)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if share > shareTol {
				dir, _ := os.MkdirTemp("", "agentlens-golden-")
				os.WriteFile(filepath.Join(dir, c.name+".got.png"), b.Bytes(), 0o644)
				if diff != nil {
					var db bytes.Buffer
					png.Encode(&db, diff)
					os.WriteFile(filepath.Join(dir, c.name+".diff.png"), db.Bytes(), 0o644)
				}
				t.Errorf("%s: %.3f%% of pixels differ by more than %d levels (tolerance %.3f%%); got and difference in %s",
					path, 100*share, pixelTol, 100*shareTol, dir)
			}
		})
	}
}

// compareImages returns the share of pixels of a and b that differ by more than tol levels in some
// channel, and a map of them (red on a faded copy of b); an error when the sizes differ.
func compareImages(a, b image.Image, tol int) (float64, image.Image, error) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 1, nil, fmt.Errorf("size %v, want %v", a.Bounds().Size(), b.Bounds().Size())
	}
	r := b.Bounds()
	diff := image.NewRGBA(r)
	bad := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := color.RGBAModel.Convert(a.At(x-r.Min.X+a.Bounds().Min.X, y-r.Min.Y+a.Bounds().Min.Y)).(color.RGBA)
			q := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			d := max(absDiff(p.R, q.R), absDiff(p.G, q.G), absDiff(p.B, q.B))
			if d > tol {
				bad++
				diff.SetRGBA(x, y, color.RGBA{0xff, 0, 0, 0xff})
			} else {
				g := uint8(255 - (255-int(q.G))/4)
				diff.SetRGBA(x, y, color.RGBA{g, g, g, 0xff})
			}
		}
	}
	return float64(bad) / float64(r.Dx()*r.Dy()), diff, nil
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestLayout lays every figure kind out at both paper widths and three base sizes and checks what it
// draws: no text leaves the page, no two texts overlap, no text crosses the edge of a bar, a cell or a
// swatch. It is the test that long labels are truncated or wrapped rather than run into the data.
func TestLayout(t *testing.T) {
	for _, s := range samples() {
		for _, w := range []vg.Length{OneColumn, TwoColumn} {
			for _, size := range []vg.Length{0, 6, 10} {
				st := Style{Width: w, FontSize: size}.withDefaults()
				h, paint, err := s.fig.layout(st)
				if err != nil {
					t.Errorf("%s at %.1f in, %v pt: %v", s.name, w/vg.Inch, size, err)
					continue
				}
				c := newCheckCanvas(st.Width, h)
				paint(draw.New(c))
				if len(c.texts) == 0 {
					t.Errorf("%s at %.1f in: no text drawn", s.name, w/vg.Inch)
				}
				// 0.6 pt: font extents include the line's air above the ascenders, which may touch.
				for _, p := range c.problems(0.6) {
					t.Errorf("%s at %.1f in, %v pt: %s", s.name, w/vg.Inch, st.FontSize, p)
				}
			}
		}
	}
}

// TestLayoutCatchesOverlap makes sure the layout check can fail: two labels drawn on top of each
// other and a label across a bar are reported.
func TestLayoutCatchesOverlap(t *testing.T) {
	c := newCheckCanvas(100, 100)
	p := pen{draw.New(c)}
	sty := textStyle(8, false, color.Black)
	p.text(10, 10, "first label", sty)
	p.text(14, 12, "second label", sty)
	p.rect(30, 40, 20, 20, color.Black)
	p.text(20, 45, "across the bar", sty)
	p.text(10, 90, "fine", sty)
	got := strings.Join(c.problems(0.6), "\n")
	for _, want := range []string{`texts overlap: "first label"`, `text "across the bar"`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"fine"`) {
		t.Errorf("a label clear of everything was reported:\n%s", got)
	}
}

// TestSVG renders every kind as SVG: well-formed XML, text in Liberation Sans or a font with the same
// metrics, and the labels present as text.
func TestSVG(t *testing.T) {
	want := map[string][]string{
		"bars":     {"system[0]", "attribution", "deletion", "tool_call"},
		"compare":  {"grad_x_input", "attention share"},
		"matrix":   {"later segment", "deleted segment", "Δ mean log p", "≥ +0.5"},
		"layers":   {"layer 0", "attention share"},
		"strip":    {"[im_start]", `\n`, "&lt;email&gt;"},
		"sweep":    {"AUROC", "chance", "test_family"},
		"roc":      {"false-positive rate", "y = x"},
		"scatter":  {"AtP estimate"},
		"timeline": {"1% FPR threshold", "email", "reasoning"},
		"forest":   {"harmful-action rate", "qwen2.5-7b-instruct", "blackmail", "n/a", "0/0", "50%", "100%"},
		"rates":    {"13/20", "no threat", "25%"},
	}
	for _, s := range samples() {
		var b bytes.Buffer
		if err := Render(&b, s.fig, SVG, Style{}); err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: SVG is not well-formed: %v", s.name, err)
			}
		}
		svg := b.String()
		if !strings.Contains(svg, svgFontFamily) || strings.Contains(svg, "font-family:Liberation Sans;") {
			t.Errorf("%s: SVG text does not fall back on fonts with Liberation Sans's metrics", s.name)
		}
		for _, w := range want[s.name] {
			if !strings.Contains(svg, w) {
				t.Errorf("%s: SVG lacks %q", s.name, w)
			}
		}
	}
}

// TestSVGEmbedFonts: with EmbedSVGFonts the file carries both faces it uses as data, so it reads the
// same without any font installed.
func TestSVGEmbedFonts(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sampleBars(), SVG, Style{EmbedSVGFonts: true}); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if n := strings.Count(svg, "@font-face"); n != 2 {
		t.Errorf("%d embedded faces, want 2 (regular and bold)", n)
	}
	if !strings.Contains(svg, "base64,") {
		t.Error("no font data in the SVG")
	}
}

// TestPDF renders figures as PDF and opens them with poppler: pdffonts must list only embedded fonts,
// and pdftoppm's rendering of the page must look like our own PNG of the figure (both reduced to
// 8 × 8-pixel block means, which evens out the two rasterisers' different anti-aliasing, and compared
// within 10 levels on average: a missing panel or a wrong colour scale moves blocks by far more).
func TestPDF(t *testing.T) {
	for _, tool := range []string{"pdftoppm", "pdffonts"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED: %s not found (Debian package poppler-utils; .ci/run installs it): PDF figures were not opened", tool)
		}
	}
	dir := t.TempDir()
	for _, s := range samples() {
		pdf := filepath.Join(dir, s.name+".pdf")
		var b bytes.Buffer
		if err := Render(&b, s.fig, PDF, Style{}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pdf, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdffonts", pdf).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: pdffonts: %v\n%s", s.name, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) < 3 {
			t.Errorf("%s: pdffonts lists no fonts:\n%s", s.name, out)
		}
		for _, l := range lines[2:] {
			if f := strings.Fields(l); len(f) < 5 || !strings.Contains(l, " yes ") {
				t.Errorf("%s: font not embedded: %s", s.name, l)
			}
		}
		if out, err := exec.Command("pdftoppm", "-r", fmt.Sprint(goldenDPI), "-png", "-singlefile", pdf, filepath.Join(dir, s.name)).CombinedOutput(); err != nil {
			t.Fatalf("%s: pdftoppm: %v\n%s", s.name, err, out)
		}
		f, err := os.Open(filepath.Join(dir, s.name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var ours bytes.Buffer
		if err := Render(&ours, s.fig, PNG, Style{DPI: goldenDPI}); err != nil {
			t.Fatal(err)
		}
		want, _ := png.Decode(&ours)
		if dx, dy := got.Bounds().Dx()-want.Bounds().Dx(), got.Bounds().Dy()-want.Bounds().Dy(); dx < -1 || dx > 1 || dy < -1 || dy > 1 {
			t.Errorf("%s: pdftoppm page %v, our PNG %v", s.name, got.Bounds().Size(), want.Bounds().Size())
			continue
		}
		if d := blockDistance(got, want, 8); d > 10 {
			t.Errorf("%s: pdftoppm's page differs from our PNG by %.1f levels per 8-pixel block (tolerance 10)", s.name, d)
		}
	}
}

// blockDistance is the mean absolute difference, in levels, between the k × k block means of two
// images over their common area (all channels).
func blockDistance(a, b image.Image, k int) float64 {
	w, h := min(a.Bounds().Dx(), b.Bounds().Dx())/k, min(a.Bounds().Dy(), b.Bounds().Dy())/k
	mean := func(img image.Image, bx, by int) [3]float64 {
		var s [3]float64
		o := img.Bounds().Min
		for y := by * k; y < (by+1)*k; y++ {
			for x := bx * k; x < (bx+1)*k; x++ {
				c := color.RGBAModel.Convert(img.At(o.X+x, o.Y+y)).(color.RGBA)
				s[0], s[1], s[2] = s[0]+float64(c.R), s[1]+float64(c.G), s[2]+float64(c.B)
			}
		}
		for i := range s {
			s[i] /= float64(k * k)
		}
		return s
	}
	total := 0.0
	for by := range h {
		for bx := range w {
			p, q := mean(a, bx, by), mean(b, bx, by)
			for i := range p {
				total += max(p[i]-q[i], q[i]-p[i])
			}
		}
	}
	return total / float64(3*w*h)
}
