package heatmap

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	stdfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Every figure is set in Liberation Sans (metrically compatible with Arial and Helvetica), embedded
// in the SVG and PDF files. The cache is the package's own, so nothing global is touched.
var (
	fontCacheOnce sync.Once
	fontCache     *font.Cache
)

func fonts() *font.Cache {
	fontCacheOnce.Do(func() { fontCache = font.NewCache(liberation.Collection()) })
	return fontCache
}

// textFont is Liberation Sans at a size, bold or not.
func textFont(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return f
}

// textStyle is a left-aligned, top-anchored text style.
func textStyle(size vg.Length, bold bool, c color.Color) text.Style {
	return text.Style{Color: c, Font: textFont(size, bold), XAlign: draw.XLeft, YAlign: draw.YTop, Handler: text.Plain{Fonts: fonts()}}
}

// face returns the font face of a style, for measuring.
func face(sty text.Style) *font.Face {
	f := fonts().Lookup(sty.Font, sty.Font.Size)
	return &f
}

// width is the width of one line of text.
func width(sty text.Style, s string) vg.Length { return face(sty).Width(s) }

// lineHeight is the height of one line of text: ascent plus descent of the face.
func lineHeight(sty text.Style) vg.Length {
	e := face(sty).Extents()
	return e.Ascent + e.Descent
}

// fit returns s, or its longest prefix that with an ellipsis fits in w.
func fit(sty text.Style, s string, w vg.Length) string {
	if width(sty, s) <= w {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits is in [lo, hi)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if width(sty, string(r[:mid])+"…") <= w {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 && width(sty, "…") > w {
		return ""
	}
	return strings.TrimRightFunc(string(r[:lo]), unicode.IsSpace) + "…"
}

// wrap breaks s into lines no wider than w, at spaces where it can (a word longer than a line is cut),
// and keeps at most max lines, the last ending in an ellipsis when text was left out.
func wrap(sty text.Style, s string, w vg.Length, max int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if width(sty, try) <= w {
			line = try
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
		for width(sty, word) > w { // a word wider than the line: cut it
			cut := fit(sty, word, w)
			n := len([]rune(strings.TrimSuffix(cut, "…")))
			if n == 0 {
				break
			}
			lines = append(lines, string([]rune(word)[:n]))
			word = string([]rune(word)[n:])
		}
		line = word
	}
	if line != "" {
		lines = append(lines, line)
	}
	if max > 0 && len(lines) > max {
		lines = append(lines[:max-1], fit(sty, strings.Join(lines[max-1:], " "), w))
		if last := lines[max-1]; !strings.HasSuffix(last, "…") {
			lines[max-1] = fit(sty, last+" …", w)
		}
	}
	return lines
}

// specialToken matches a whole special token of the chat templates agentlens renders: any <|name|>
// (<|im_start|>, <|eot_id|>, <|begin_of_text|>) and the bracketed names below (<bos>, <start_of_turn>);
// a content tag such as <email> is text.
var specialToken = regexp.MustCompile(`^<(?:\|([A-Za-z][A-Za-z0-9_]*)\||(bos|eos|pad|unk|mask|s|/s|start_of_turn|end_of_turn|start_of_image|end_of_image))>$`)

// ReadableToken returns a token's text as a figure shows it: a special token as [im_start], a newline
// as \n, a tab as \t, a carriage return as \r, other control characters as \xNN, and characters the
// figures' font has no glyph for as \u{XXXX}.
func ReadableToken(s string) string {
	if m := specialToken.FindStringSubmatch(s); m != nil {
		return "[" + m[1] + m[2] + "]"
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !hasGlyph(r):
			fmt.Fprintf(&b, `\u{%04X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// glyphs answers whether Liberation Sans has a glyph for a rune.
var (
	glyphOnce sync.Once
	glyphFont *sfnt.Font
)

func hasGlyph(r rune) bool {
	if r < 0x7f {
		return true
	}
	glyphOnce.Do(func() {
		glyphFont = face(textStyle(10, false, color.Black)).Face
	})
	if glyphFont == nil {
		return true
	}
	var buf sfnt.Buffer
	i, err := glyphFont.GlyphIndex(&buf, r)
	return err == nil && i != 0
}

// pen draws on a canvas with y measured down from its top edge, the way figures are laid out.
type pen struct {
	c draw.Canvas
}

// pt converts (x from the left, y from the top) to a canvas point.
func (p pen) pt(x, y vg.Length) vg.Point { return vg.Point{X: p.c.Min.X + x, Y: p.c.Max.Y - y} }

// rect fills the rectangle whose top-left corner is (x, y).
func (p pen) rect(x, y, w, h vg.Length, c color.Color) {
	if w <= 0 || h <= 0 {
		return
	}
	a, b := p.pt(x, y), p.pt(x+w, y+h)
	p.c.FillPolygon(c, []vg.Point{{X: a.X, Y: b.Y}, {X: b.X, Y: b.Y}, {X: b.X, Y: a.Y}, {X: a.X, Y: a.Y}})
}

// frame strokes the outline of a rectangle.
func (p pen) frame(x, y, w, h vg.Length, c color.Color, lw vg.Length) {
	a, b := p.pt(x, y), p.pt(x+w, y+h)
	p.c.StrokeLines(draw.LineStyle{Color: c, Width: lw}, []vg.Point{{X: a.X, Y: a.Y}, {X: b.X, Y: a.Y}, {X: b.X, Y: b.Y}, {X: a.X, Y: b.Y}, {X: a.X, Y: a.Y}})
}

// line strokes a segment.
func (p pen) line(x0, y0, x1, y1 vg.Length, c color.Color, lw vg.Length, dashes ...vg.Length) {
	p.c.StrokeLine2(draw.LineStyle{Color: c, Width: lw, Dashes: dashes}, p.pt(x0, y0).X, p.pt(x0, y0).Y, p.pt(x1, y1).X, p.pt(x1, y1).Y)
}

// image draws img stretched over the rectangle whose top-left corner is (x, y).
func (p pen) image(x, y, w, h vg.Length, img image.Image) {
	a, b := p.pt(x, y), p.pt(x+w, y+h)
	p.c.DrawImage(vg.Rectangle{Min: vg.Point{X: a.X, Y: b.Y}, Max: vg.Point{X: b.X, Y: a.Y}}, img)
}

// text draws one line of text anchored at (x, y) as the style's alignment says.
func (p pen) text(x, y vg.Length, s string, sty text.Style) {
	if s == "" {
		return
	}
	p.c.FillText(sty, p.pt(x, y), s)
}

// header draws a figure's title and subtitle (each wrapped to two lines at most) from the top-left
// corner and returns the height it took; nothing when the style asks for no titles.
func header(st Style, title, subtitle string) (vg.Length, func(p pen)) {
	if st.NoTitle || (title == "" && subtitle == "") {
		return 0, func(pen) {}
	}
	m := margin(st)
	ts := textStyle(st.FontSize*1.15, true, color.Black)
	ss := textStyle(st.FontSize*0.9, false, color.Gray{0x55})
	tl := wrap(ts, title, st.Width-2*m, 2)
	sl := wrap(ss, subtitle, st.Width-2*m, 2)
	th, sh := lineHeight(ts)*1.1, lineHeight(ss)*1.15
	h := m + vg.Length(len(tl))*th + vg.Length(len(sl))*sh + 0.5*st.FontSize
	return h, func(p pen) {
		y := m
		for _, l := range tl {
			p.text(m, y, l, ts)
			y += th
		}
		for _, l := range sl {
			p.text(m, y, l, ss)
			y += sh
		}
	}
}

// margin is the white border around a figure.
func margin(st Style) vg.Length { return 0.6 * st.FontSize }

// fmtNum formats a tick value: four significant digits at most, no −0, and a typographic minus.
func fmtNum(v float64) string {
	if v == 0 || math.Abs(v) < 1e-12 {
		return "0"
	}
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if strings.Contains(s, "e") {
		s = strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strings.Replace(s, "-", "−", 1)
}

// fmtSigned is fmtNum with a plus sign on positive values.
func fmtSigned(v float64) string {
	s := fmtNum(v)
	if v > 0 && s != "0" {
		s = "+" + s
	}
	return s
}
