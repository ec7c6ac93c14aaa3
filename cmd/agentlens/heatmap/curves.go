package heatmap

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
)

// Curves is a line chart for papers: one or more series of (x, y) points with an optional interval
// band each, such as a probe's AUROC by layer with its bootstrap interval.
type Curves struct {
	Title, Subtitle string
	XLabel, YLabel  string
	YMin, YMax      float64 // y range; both 0: from the data
	Series          []Series
	// Reference draws a dashed horizontal line at this y (e.g. chance, 0.5) when RefLabel is set.
	Reference float64
	RefLabel  string
	// Diagonal draws the dashed line y = x and gives both axes the same range (a scatter of an estimate
	// against the quantity it estimates).
	Diagonal bool
}

// Series is one line of a Curves chart.
type Series struct {
	Name   string
	Points []Point
	// Color picks the series' colour from the palette, 1-based, so related series can share one (0: by
	// the series' position); Dash is an SVG stroke-dasharray ("" solid, "6 3" dashed, "2 2" dotted).
	Color int
	Dash  string
	// Scatter draws the points as markers only: no line, no band.
	Scatter bool
}

// Point is one x with its y and interval [Lo, Hi] (Lo = Hi = Y for none).
type Point struct {
	X, Y, Lo, Hi float64
}

// seriesColors are distinguishable in print and for the common colour-vision deficiencies (Okabe–Ito).
var seriesColors = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"}

// WriteCurvesSVG draws c as an SVG line chart: each series a coloured line with markers over a lighter
// band for its intervals, axes with ticks, a legend, and the reference line.
func WriteCurvesSVG(w io.Writer, c *Curves) error {
	const (
		plotW, plotH                 = 456, 300
		left, top, bottom            = 64, 52, 48
		height                       = top + plotH + bottom
		tickLen, legendRow, markerSz = 4, 18, 2.5
	)
	// The legend's width follows its longest name (about 6.2 px per character at 11 px).
	longest := 0
	for _, s := range c.Series {
		longest = max(longest, len([]rune(s.Name)))
	}
	right := 48 + int(6.2*float64(longest))
	width := max(left+plotW+right, textWidth(c.Title, c.Subtitle))
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, math.Min(p.Lo, p.Y)), math.Max(ymax, math.Max(p.Hi, p.Y))
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax, ymin, ymax = 0, 1, 0, 1
	}
	if c.YMin != 0 || c.YMax != 0 {
		ymin, ymax = c.YMin, c.YMax
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	if ymax == ymin {
		ymax = ymin + 1
	}
	px := func(x float64) float64 { return left + (x-xmin)/(xmax-xmin)*plotW }
	py := func(y float64) float64 { return top + (ymax-y)/(ymax-ymin)*plotH }
	svgH := max(height, top+8+len(c.Series)*legendRow)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, svgH, width, svgH)
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")
	fmt.Fprintf(&b, `<text x="12" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<text x="12" y="34" fill="#555555">%s</text>`+"\n", html.EscapeString(c.Subtitle))
	// Axes and ticks.
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333333"/>`+"\n", left, top, plotW, plotH)
	xt := ticks(xmin, xmax, 8)
	if integral(c.Series) {
		// Integer x (layers, episodes): no fractional ticks.
		xt = slices.DeleteFunc(xt, func(t float64) bool { return t != math.Trunc(t) })
	}
	for _, t := range xt {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333333"/>`+"\n", x, top+plotH, x, top+plotH+tickLen)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, top+plotH+16, fmtTick(t))
	}
	for _, t := range ticks(ymin, ymax, 6) {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", left, y, left+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, fmtTick(t))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+plotW/2, height-10, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", top+plotH/2, html.EscapeString(c.YLabel))
	if c.RefLabel != "" && c.Reference >= ymin && c.Reference <= ymax {
		y := py(c.Reference)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#777777" stroke-dasharray="4 3"/>`+"\n", left, y, left+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#777777">%s</text>`+"\n", left+4, y-4, html.EscapeString(c.RefLabel))
	}
	for i, s := range c.Series {
		ci := i
		if s.Color > 0 {
			ci = s.Color - 1
		}
		col := seriesColors[ci%len(seriesColors)]
		dash := ""
		if s.Dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, html.EscapeString(s.Dash))
		}
		var band, line bytes.Buffer
		for _, p := range s.Points {
			fmt.Fprintf(&band, "%.1f,%.1f ", px(p.X), py(p.Hi))
		}
		for k := len(s.Points) - 1; k >= 0; k-- {
			fmt.Fprintf(&band, "%.1f,%.1f ", px(s.Points[k].X), py(s.Points[k].Lo))
		}
		for _, p := range s.Points {
			fmt.Fprintf(&line, "%.1f,%.1f ", px(p.X), py(p.Y))
		}
		fmt.Fprintf(&b, `<polygon points="%s" fill="%s" fill-opacity="0.15" stroke="none"/>`+"\n", band.String(), col)
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"%s/>`+"\n", line.String(), col, dash)
		for _, p := range s.Points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`+"\n", px(p.X), py(p.Y), markerSz, col)
		}
		ly := top + 8 + i*legendRow
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"%s/>`+"\n", left+plotW+12, ly, left+plotW+30, ly, col, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+plotW+36, ly+4, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// integral reports whether every x of every series is an integer.
func integral(series []Series) bool {
	for _, s := range series {
		for _, p := range s.Points {
			if p.X != math.Trunc(p.X) {
				return false
			}
		}
	}
	return true
}

// ticks returns about n round values spanning [lo, hi] (steps of 1, 2 or 5 times a power of ten).
func ticks(lo, hi float64, n int) []float64 {
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
	}
	return out
}

func fmtTick(t float64) string {
	if t == math.Trunc(t) {
		return fmt.Sprintf("%.0f", t)
	}
	return fmt.Sprintf("%g", math.Round(t*1000)/1000)
}

// textWidth is the figure width a title (14 px bold, about 8.6 px a character) and a subtitle (11 px,
// about 6.2) need from a 12 px margin, so that neither runs off the canvas.
func textWidth(title, subtitle string) int {
	return 24 + int(math.Max(8.6*float64(len([]rune(title))), 6.2*float64(len([]rune(subtitle)))))
}
