package heatmap

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Timeline is a line chart over the tokens of an episode with its segments marked: each segment a band
// of its kind's colour behind the lines, a thin line at each boundary (a probe's score over an episode).
type Timeline struct {
	Curves
	Spans []Span
}

// Span is one segment of a Timeline: the x range [Start, End) it covers, its kind and id.
type Span struct {
	Start, End float64
	Kind, ID   string
}

// layout draws the curves.
func (c *Curves) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	return linesLayout(st, c, nil)
}

// layout draws the timeline.
func (t *Timeline) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	return linesLayout(st, &t.Curves, t.Spans)
}

// seriesColor returns a series' colour: Color (1-based) into the palette, else its position.
func seriesColor(s Series, i int) color.RGBA {
	if s.Color > 0 {
		i = s.Color - 1
	}
	return seriesPalette[i%len(seriesPalette)]
}

// dashes reads an SVG stroke-dasharray ("6 3") as lengths in points.
func dashes(s string) []vg.Length {
	var out []vg.Length
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		if v, err := strconv.ParseFloat(f, 64); err == nil && v > 0 {
			out = append(out, vg.Length(v)*0.75) // SVG px to pt
		}
	}
	return out
}

// integerTicks keeps the default ticks that fall on integers (layers, episodes: no 2.5).
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value == math.Trunc(t.Value) {
			if t.Label != "" {
				t.Label = strconv.FormatFloat(t.Value, 'f', 0, 64)
			}
			out = append(out, t)
		}
	}
	return out
}

// minusTicks writes negative tick labels with a typographic minus.
type minusTicks struct{ plot.Ticker }

func (m minusTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := m.Ticker.Ticks(lo, hi)
	for i := range ts {
		ts[i].Label = strings.Replace(ts[i].Label, "-", "−", 1)
	}
	return ts
}

// spanBands draws a Timeline's segments behind the data.
type spanBands struct{ spans []Span }

func (b spanBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, s := range b.spans {
		x0, x1 := max(trX(s.Start), c.Min.X), min(trX(s.End), c.Max.X)
		if x1 <= x0 {
			continue
		}
		if s.Kind != "template" && s.Kind != "" {
			c.FillPolygon(tint(KindColor(s.Kind), 0.28), []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		}
		c.StrokeLine2(draw.LineStyle{Color: color.Gray{0xb0}, Width: 0.3}, x0, c.Min.Y, x0, c.Max.Y)
	}
}

// legendItem is one entry of a legend drawn under a chart: a line sample, a marker, a swatch or a
// dot on a whisker.
type legendItem struct {
	name    string
	col     color.Color
	dash    []vg.Length
	marker  bool
	swatch  bool
	whisker bool
}

// linesLayout draws curves (and a timeline's spans) with gonum/plot: axes with ticks and labels, each
// series a line with markers over its interval band, or markers alone, the reference line or the
// diagonal, and a legend under the chart.
func linesLayout(st Style, c *Curves, spans []Span) (vg.Length, func(draw.Canvas), error) {
	fs := st.FontSize
	mg := margin(st)
	headH, drawHeader := header(st, c.Title, c.Subtitle)
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, pt := range s.Points {
			xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, math.Min(pt.Lo, pt.Y)), math.Max(ymax, math.Max(pt.Hi, pt.Y))
		}
	}
	for _, s := range spans {
		xmin, xmax = math.Min(xmin, s.Start), math.Max(xmax, s.End)
	}
	if math.IsInf(xmin, 1) {
		return 0, nil, fmt.Errorf("heatmap: %w: a line chart with no points", ErrShape)
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 0, 1
	}
	if c.RefLabel != "" {
		ymin, ymax = math.Min(ymin, c.Reference), math.Max(ymax, c.Reference)
	}
	if c.YMin != 0 || c.YMax != 0 {
		ymin, ymax = c.YMin, c.YMax
	} else if pad := 0.04 * (ymax - ymin); pad > 0 {
		ymin, ymax = ymin-pad, ymax+pad
	}
	if c.Diagonal {
		xmin, xmax = math.Min(xmin, ymin), math.Max(xmax, ymax)
		ymin, ymax = xmin, xmax
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	if ymax == ymin {
		ymax = ymin + 1
	}

	p := plot.New()
	p.BackgroundColor = nil
	axisFont, tickFont := textFont(fs, false), textFont(0.85*fs, false)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = axisFont
		a.Label.TextStyle.Handler = textStyle(fs, false, color.Black).Handler
		a.Tick.Label.Font = tickFont
		a.Tick.Label.Handler = a.Label.TextStyle.Handler
		a.LineStyle.Width = 0.5
		a.Tick.LineStyle.Width = 0.5
		a.Tick.Length = 0.35 * fs
		a.Padding = 0
	}
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xmin, xmax, ymin, ymax
	p.X.Tick.Marker, p.Y.Tick.Marker = minusTicks{plot.DefaultTicks{}}, minusTicks{plot.DefaultTicks{}}
	if integral(c.Series) && !c.Diagonal {
		p.X.Tick.Marker = minusTicks{integerTicks{}}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{0xe6}, color.Gray{0xe6}
	grid.Vertical.Width, grid.Horizontal.Width = 0.4, 0.4
	if len(spans) > 0 {
		p.Add(spanBands{spans})
		grid.Vertical.Color = nil
	}
	p.Add(grid)

	var legend []legendItem
	ref := color.Gray{0x77}
	if c.Diagonal {
		l, _ := plotter.NewLine(plotter.XYs{{X: xmin, Y: xmin}, {X: xmax, Y: xmax}})
		l.LineStyle = draw.LineStyle{Color: ref, Width: 0.7, Dashes: []vg.Length{3, 2}}
		p.Add(l)
		legend = append(legend, legendItem{name: "y = x", col: ref, dash: []vg.Length{3, 2}})
	}
	if c.RefLabel != "" && c.Reference >= ymin && c.Reference <= ymax {
		l, _ := plotter.NewLine(plotter.XYs{{X: xmin, Y: c.Reference}, {X: xmax, Y: c.Reference}})
		l.LineStyle = draw.LineStyle{Color: ref, Width: 0.7, Dashes: []vg.Length{3, 2}}
		p.Add(l)
		legend = append(legend, legendItem{name: c.RefLabel, col: ref, dash: []vg.Length{3, 2}})
	}
	for i, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		col := seriesColor(s, i)
		xy := make(plotter.XYs, len(s.Points))
		for k, pt := range s.Points {
			xy[k] = plotter.XY{X: pt.X, Y: pt.Y}
		}
		if s.Scatter {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return 0, nil, fmt.Errorf("heatmap: series %s: %w", s.Name, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: color.NRGBA{col.R, col.G, col.B, 0xb0}, Radius: 0.3 * fs, Shape: draw.CircleGlyph{}}
			p.Add(sc)
			legend = append(legend, legendItem{name: s.Name, col: col, marker: true})
			continue
		}
		band := false
		for _, pt := range s.Points {
			band = band || pt.Hi != pt.Lo
		}
		if band {
			poly := make(plotter.XYs, 0, 2*len(s.Points))
			for _, pt := range s.Points {
				poly = append(poly, plotter.XY{X: pt.X, Y: pt.Hi})
			}
			for k := len(s.Points) - 1; k >= 0; k-- {
				poly = append(poly, plotter.XY{X: s.Points[k].X, Y: s.Points[k].Lo})
			}
			pg, err := plotter.NewPolygon(poly)
			if err != nil {
				return 0, nil, fmt.Errorf("heatmap: series %s: %w", s.Name, err)
			}
			pg.Color = color.NRGBA{col.R, col.G, col.B, 0x38}
			pg.LineStyle.Width = 0
			p.Add(pg)
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return 0, nil, fmt.Errorf("heatmap: series %s: %w", s.Name, err)
		}
		ln.LineStyle = draw.LineStyle{Color: col, Width: 1.1, Dashes: dashes(s.Dash)}
		p.Add(ln)
		if len(s.Points) <= 80 { // markers on short series only; a 6k-token line is a line
			sc, _ := plotter.NewScatter(xy)
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 0.2 * fs, Shape: draw.CircleGlyph{}}
			p.Add(sc)
		}
		legend = append(legend, legendItem{name: s.Name, col: col, dash: dashes(s.Dash)})
	}
	var kinds []string
	for _, s := range spans {
		if s.Kind != "" && s.Kind != "template" && !slices.Contains(kinds, s.Kind) {
			kinds = append(kinds, s.Kind)
		}
	}
	for _, k := range kinds {
		legend = append(legend, legendItem{name: k, col: tint(KindColor(k), 0.28), swatch: true})
	}

	plotH := min(max(0.5*st.Width, 2.2*vg.Inch), 3.8*vg.Inch)
	plotW := st.Width - 2*mg
	if c.Diagonal { // a square data area: the y axis's labels take about 3.5 ems, the x axis's 3
		plotH = min(plotW-0.5*fs, 4*vg.Inch)
		plotW = plotH + 0.5*fs
	}
	legH, drawLegend := legendLayout(st, legend)
	height := headH + plotH + legH + mg
	paint := func(cv draw.Canvas) {
		pn := pen{cv}
		drawHeader(pn)
		sub := draw.Crop(cv, mg, -(st.Width - mg - plotW), height-headH-plotH, -headH)
		p.Draw(sub)
		drawLegend(pn, headH+plotH+0.4*fs)
	}
	return height, paint, nil
}

// legendLayout lays legend items out left to right in lines under a chart: the height they need and
// the function that draws them from a y.
func legendLayout(st Style, items []legendItem) (vg.Length, func(p pen, y vg.Length)) {
	if len(items) == 0 {
		return 0, func(pen, vg.Length) {}
	}
	fs := st.FontSize
	mg := margin(st)
	sty := textStyle(0.9*fs, false, color.Black)
	lh := lineHeight(sty) * 1.35
	sample := 1.8 * fs
	type at struct{ x, y vg.Length }
	pos := make([]at, len(items))
	x, y := mg, vg.Length(0)
	for i, it := range items {
		w := sample + 0.4*fs + width(sty, fit(sty, it.name, st.Width-2*mg-sample)) + 1.4*fs
		if x > mg && x+w > st.Width-mg {
			x, y = mg, y+lh
		}
		pos[i] = at{x, y}
		x += w
	}
	h := y + lh + 0.4*fs
	return h, func(p pen, y0 vg.Length) {
		ts := sty
		ts.YAlign = draw.YCenter
		for i, it := range items {
			x, y := pos[i].x, y0+pos[i].y+lh/2
			switch {
			case it.swatch:
				p.rect(x+0.4*fs, y-0.4*fs, sample-0.8*fs, 0.8*fs, it.col)
			case it.marker:
				pt := p.pt(x+sample/2, y)
				p.c.DrawGlyph(draw.GlyphStyle{Color: it.col, Radius: 0.3 * fs, Shape: draw.CircleGlyph{}}, pt)
			case it.whisker:
				x0, x1 := x+0.2*fs, x+sample-0.2*fs
				p.line(x0, y, x1, y, it.col, 1.1)
				p.line(x0, y-0.3*fs, x0, y+0.3*fs, it.col, 0.9)
				p.line(x1, y-0.3*fs, x1, y+0.3*fs, it.col, 0.9)
				p.c.DrawGlyph(draw.GlyphStyle{Color: it.col, Radius: 0.3 * fs, Shape: draw.CircleGlyph{}}, p.pt(x+sample/2, y))
			default:
				p.line(x, y, x+sample, y, it.col, 1.4, it.dash...)
			}
			p.text(x+sample+0.4*fs, y, fit(ts, it.name, st.Width-2*mg-sample), ts)
		}
	}
}
