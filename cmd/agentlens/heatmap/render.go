package heatmap

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is a figure file format, named by its file extension.
type Format string

// The formats Render writes.
const (
	PNG Format = "png" // raster at Style.DPI, for slides and the README
	SVG Format = "svg" // vector, fonts embedded, for the web
	PDF Format = "pdf" // vector, fonts embedded, for LaTeX
)

// Formats are the formats Render writes, in the order "all" expands to.
var Formats = []Format{PNG, SVG, PDF}

// ParseFormats reads a comma-separated list of formats ("png,pdf"; "all" for every one), without
// repeats, in the order given.
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "":
			continue
		case f == "all":
			for _, g := range Formats {
				if !slices.Contains(out, g) {
					out = append(out, g)
				}
			}
		case slices.Contains(Formats, Format(f)):
			if !slices.Contains(out, Format(f)) {
				out = append(out, Format(f))
			}
		default:
			return nil, fmt.Errorf("%w %q (want png, svg, pdf or all)", ErrFormat, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty list (want png, svg, pdf or all)", ErrFormat)
	}
	return out, nil
}

// Figure widths for papers: one column of a two-column layout (ACL, ICML, IEEE: 3.25–3.5 in) and the
// full text width (6.75–7 in; also a one-column NeurIPS page at 5.5 in fits it scaled by 0.8).
const (
	OneColumn vg.Length = 3.5 * vg.Inch
	TwoColumn vg.Length = 7 * vg.Inch
)

// ParseWidth reads a figure width: "one" or "column" (OneColumn), "two" or "page" (TwoColumn), or a
// length with its unit: "12cm", "90mm", "5in", "400pt".
func ParseWidth(s string) (vg.Length, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "one", "column", "1":
		return OneColumn, nil
	case "two", "page", "2":
		return TwoColumn, nil
	}
	for _, u := range []struct {
		suffix string
		unit   vg.Length
	}{{"cm", vg.Centimeter}, {"mm", vg.Millimeter}, {"in", vg.Inch}, {"pt", vg.Points(1)}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || !(v > 0) {
				break
			}
			w := vg.Length(v) * u.unit
			if w < 1.5*vg.Inch || w > 40*vg.Inch {
				return 0, fmt.Errorf("%w %q: want between 1.5 and 40 inches", ErrWidth, s)
			}
			return w, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want one, two, or a length such as 12cm, 90mm, 5in)", ErrWidth, s)
}

// Style holds the rendering choices every figure shares. The zero Style is a two-column figure at 8 pt
// with titles, and 300 dpi for PNG.
type Style struct {
	// Width is the figure's width (0: TwoColumn); its height follows from the content.
	Width vg.Length
	// FontSize is the base text size (0: 8 pt, or 7 pt for figures narrower than 5 in). Titles are
	// 1.15 times it; dense axis labels shrink to no less than 5 pt before being thinned out.
	FontSize vg.Length
	// DPI is the PNG resolution in pixels per inch (0: 300).
	DPI int
	// NoTitle leaves out the title and subtitle, for a paper whose caption says them.
	NoTitle bool
	// EmbedSVGFonts puts the whole Liberation Sans faces into SVG files (about 1.1 MB each, readable
	// anywhere); without it an SVG names them followed by the fonts with the same metrics (Arimo,
	// Arial, Helvetica), so its text keeps its layout wherever one of those is installed. PDF files
	// always embed the subsets of the faces they use.
	EmbedSVGFonts bool
}

// withDefaults fills the zero fields.
func (s Style) withDefaults() Style {
	if s.Width <= 0 {
		s.Width = TwoColumn
	}
	if s.FontSize <= 0 {
		s.FontSize = 8
		if s.Width < 5*vg.Inch {
			s.FontSize = 7
		}
	}
	if s.DPI <= 0 {
		s.DPI = 300
	}
	return s
}

// Drawable is a figure Render can draw: *Figure (segment bars), *Matrix, *Curves, *Timeline, *Strip,
// *Comparison and *Forest (dot-and-whisker rates by category).
type Drawable interface {
	// layout lays the figure out for a style: its height and the function that draws it on a canvas of
	// the style's width and that height.
	layout(st Style) (vg.Length, func(c draw.Canvas), error)
}

// Render draws d in format f on w.
func Render(w io.Writer, d Drawable, f Format, st Style) error {
	st = st.withDefaults()
	h, paint, err := d.layout(st)
	if err != nil {
		return err
	}
	var cw vg.CanvasWriterTo
	switch f {
	case PNG:
		c := vgimg.NewWith(vgimg.UseWH(st.Width, h), vgimg.UseDPI(st.DPI), vgimg.UseBackgroundColor(color.White))
		paint(draw.New(c))
		// The best zlib level: a fifth smaller than the default for these mostly flat images.
		return (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, c.Image())
	case SVG:
		cw = vgsvg.NewWith(vgsvg.UseWH(st.Width, h), vgsvg.EmbedFonts(st.EmbedSVGFonts))
	case PDF:
		cw = newPDFCanvas(st.Width, h)
	default:
		return fmt.Errorf("%w %q", ErrFormat, f)
	}
	dc := draw.New(cw)
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}})
	paint(dc)
	if f != SVG || st.EmbedSVGFonts {
		_, err = cw.WriteTo(w)
		return err
	}
	var b bytes.Buffer
	if _, err := cw.WriteTo(&b); err != nil {
		return err
	}
	_, err = w.Write(bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"), []byte(svgFontFamily)))
	return err
}

// svgFontFamily names Liberation Sans and the fonts that share its metrics, for SVG files that do not
// embed it.
const svgFontFamily = "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"

// Save writes d as base.png, base.svg, … for each format, each through a temporary file renamed into
// place, and returns the names written (base's last element plus the extension).
func Save(base string, d Drawable, formats []Format, st Style) ([]string, error) {
	var names []string
	for _, f := range formats {
		var b bytes.Buffer
		if err := Render(&b, d, f, st); err != nil {
			return names, fmt.Errorf("figure %s.%s: %w", base, f, err)
		}
		path := base + "." + string(f)
		if err := writeAtomic(path, b.Bytes()); err != nil {
			return names, err
		}
		names = append(names, filepath.Base(path))
	}
	return names, nil
}

// writeAtomic writes data to path through a temporary file in the same directory.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
