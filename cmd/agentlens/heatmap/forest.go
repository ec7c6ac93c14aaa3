package heatmap

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Forest is a dot-and-whisker chart: one row per category (e.g. a scenario family), a dot at each
// series' estimate and a whisker over its interval, on a shared x axis (a rate in [0, 1] by default),
// such as the rate of harmful actions per scenario family for several models with Wilson intervals.
//
// Row labels sit left of the plot, wrapped to two lines; the series of a row are drawn one under the
// other (dodged) in series order, with a legend under the chart when there are two or more. Notes are
// printed in a column right of the plot area: the points' notes beside their dots, the rows' notes
// right of those. Ticks on an axis within [0, 1] read as percentages (0%, 25%, …, 100% by default),
// plain numbers otherwise. A point outside the axis is drawn as a ring on the edge, its whisker cut.
type Forest struct {
	Title, Subtitle string
	XLabel          string  // e.g. "harmful-action rate (95% Wilson interval)"
	XMin, XMax      float64 // both 0: [0, 1]
	// Rows are the category labels, top to bottom.
	Rows []string
	// Series are drawn side by side within each row (dodged vertically), one per model or setting.
	Series []ForestSeries
	// Notes are per row annotations such as "3/20" (len 0 or len(Rows)), printed right of the plot; with
	// several series a note per series goes in ForestPoint.Note instead.
	Notes []string
}

// ForestSeries is one model or setting of a Forest: a point per row.
type ForestSeries struct {
	Name string
	// Color picks the series' colour from the palette, 1-based (0: by the series' position).
	Color int
	// Points are one per row (len(Rows)); a NaN Y is a missing point, drawn as "n/a".
	Points []ForestPoint
}

// ForestPoint is an estimate Y with its interval [Lo, Hi] (Lo ≤ Y ≤ Hi; both NaN: no interval) and
// an optional note printed right of the plot area (e.g. "3/20").
type ForestPoint struct {
	Y, Lo, Hi float64
	Note      string
}

// check returns an error (wrapping ErrShape) when the forest's parts do not fit together, and its
// x range.
func (f *Forest) check() (lo, hi float64, err error) {
	lo, hi = f.XMin, f.XMax
	if lo == 0 && hi == 0 {
		hi = 1
	}
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, fmt.Errorf("heatmap: %w: forest x range [%g, %g]", ErrShape, f.XMin, f.XMax)
	}
	if len(f.Rows) == 0 {
		return 0, 0, fmt.Errorf("heatmap: %w: forest with no rows", ErrShape)
	}
	if len(f.Series) == 0 {
		return 0, 0, fmt.Errorf("heatmap: %w: forest with no series", ErrShape)
	}
	if len(f.Notes) != 0 && len(f.Notes) != len(f.Rows) {
		return 0, 0, fmt.Errorf("heatmap: %w: forest has %d notes for %d rows", ErrShape, len(f.Notes), len(f.Rows))
	}
	for _, s := range f.Series {
		if len(s.Points) != len(f.Rows) {
			return 0, 0, fmt.Errorf("heatmap: %w: forest series %q has %d points for %d rows", ErrShape, s.Name, len(s.Points), len(f.Rows))
		}
		for i, p := range s.Points {
			if math.IsNaN(p.Y) {
				continue
			}
			bad := ""
			switch {
			case math.IsInf(p.Y, 0) || math.IsInf(p.Lo, 0) || math.IsInf(p.Hi, 0):
				bad = "infinite"
			case math.IsNaN(p.Lo) != math.IsNaN(p.Hi):
				bad = "half an interval"
			case p.Lo > p.Y || p.Y > p.Hi:
				bad = "Lo ≤ Y ≤ Hi violated"
			}
			if bad != "" {
				return 0, 0, fmt.Errorf("heatmap: %w: forest series %q row %q: Y %g, interval [%g, %g]: %s",
					ErrShape, s.Name, f.Rows[i], p.Y, p.Lo, p.Hi, bad)
			}
		}
	}
	return lo, hi, nil
}

// forestTicks are the axis ticks of [lo, hi] with their labels: a quarter apart on [0, 1], else round
// steps about n apart; percentages when the axis lies within [0, 1].
func forestTicks(lo, hi float64, n int) (ts []float64, labels []string) {
	step := 0.25
	if lo != 0 || hi != 1 {
		step = niceStep(hi-lo, n)
	}
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+1e-9*step; k++ {
		v := k * step
		if math.Abs(v) < 1e-12*step {
			v = 0
		}
		ts = append(ts, v)
		if lo >= 0 && hi <= 1 {
			labels = append(labels, fmtNum(100*v)+"%")
		} else {
			labels = append(labels, fmtNum(v))
		}
	}
	return ts, labels
}

// layout draws the forest: row labels, the light vertical grid at the ticks, each point's whisker
// with caps and its dot, the x axis with its label, the notes column and the legend.
func (f *Forest) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	lo, hi, err := f.check()
	if err != nil {
		return 0, nil, err
	}
	fs := st.FontSize
	mg := margin(st)
	headH, drawHeader := header(st, f.Title, f.Subtitle)
	inner := st.Width - 2*mg
	gap := 0.8 * fs
	k := len(f.Series)

	rowStyle := textStyle(fs, false, color.Black)
	noteStyle := textStyle(0.85*fs, false, color.Gray{0x33})
	naStyle := textStyle(0.75*fs, false, color.Gray{0x99})
	tickStyle := textStyle(0.85*fs, false, color.Gray{0x33})
	labelStyle := textStyle(0.9*fs, false, color.Black)
	lh, nlh := lineHeight(rowStyle), lineHeight(noteStyle)

	ticks, tickLabels := forestTicks(lo, hi, max(3, min(6, int(inner/(10*fs)))))

	// The notes columns and the room the last tick label needs right of the plot area.
	ptNoteW, rowNoteW := vg.Length(0), vg.Length(0)
	for _, s := range f.Series {
		for _, p := range s.Points {
			ptNoteW = max(ptNoteW, width(noteStyle, p.Note))
		}
	}
	for _, n := range f.Notes {
		rowNoteW = max(rowNoteW, width(noteStyle, n))
	}
	// Notes take at most a quarter of the figure each; longer ones are cut.
	ptNoteW, rowNoteW = min(ptNoteW, 0.25*inner), min(rowNoteW, 0.25*inner)
	notesW := vg.Length(0)
	if ptNoteW > 0 {
		notesW += gap + ptNoteW
	}
	if rowNoteW > 0 {
		notesW += gap + rowNoteW
	}
	overhang := vg.Length(0)
	if len(ticks) > 0 && ticks[len(ticks)-1] >= hi-1e-9*(hi-lo) {
		overhang = width(tickStyle, tickLabels[len(tickLabels)-1])/2 + 0.1*fs
	}
	right := max(notesW, overhang)

	// Row labels: as wide as the longest, at most 40% of the figure, giving way (down to 15%) so the
	// plot keeps 8 ems; wrapped to two lines, the second cut with an ellipsis.
	labelW := vg.Length(0)
	for _, r := range f.Rows {
		labelW = max(labelW, width(rowStyle, r))
	}
	labelW = min(labelW, 0.4*inner, max(0.15*inner, inner-right-gap-8*fs))
	labels := make([][]string, len(f.Rows))
	lines := 1
	for i, r := range f.Rows {
		labels[i] = wrap(rowStyle, r, labelW, 2)
		lines = max(lines, len(labels[i]))
	}
	plotX := mg + labelW + gap
	plotW := st.Width - mg - right - plotX
	if plotW < 4*fs {
		return 0, nil, fmt.Errorf("heatmap: %w: no room for the forest's plot in %.1f in", ErrShape, st.Width/vg.Inch)
	}
	px := func(v float64) vg.Length { return plotX + vg.Length((v-lo)/(hi-lo))*plotW }

	// Rows: tall enough for their labels and for the series one under the other, a note's height apart.
	pitch := nlh * 1.1
	rowH := max(vg.Length(lines)*lh*1.05, vg.Length(k-1)*pitch+nlh) + 0.6*fs
	rowsY := headH + 0.2*fs
	axisY := rowsY + vg.Length(len(f.Rows))*rowH
	tickH := 0.35 * fs
	tickY := axisY + tickH + 0.1*fs
	xlabel := wrap(labelStyle, f.XLabel, plotW, 2)
	xlabelY := tickY + lineHeight(tickStyle) + 0.3*fs
	end := xlabelY + vg.Length(len(xlabel))*lineHeight(labelStyle)*1.1

	var legend []legendItem
	if k >= 2 {
		for i, s := range f.Series {
			legend = append(legend, legendItem{name: s.Name, col: seriesColor(Series{Color: s.Color}, i), whisker: true})
		}
	}
	legH, drawLegend := legendLayout(st, legend)
	legY := end + 0.2*fs
	height := legY + legH + mg
	if legH == 0 {
		height = end + mg
	}

	radius := min(0.3*fs, 0.42*pitch)
	capH := min(0.3*fs, 0.4*pitch)
	paint := func(c draw.Canvas) {
		p := pen{c}
		drawHeader(p)
		// Grid lines at the ticks, and between rows when each row holds several series.
		for _, t := range ticks {
			p.line(px(t), rowsY, px(t), axisY, color.Gray{0xe3}, 0.4)
		}
		if k >= 2 {
			for i := 1; i < len(f.Rows); i++ {
				y := rowsY + vg.Length(i)*rowH
				p.line(plotX, y, plotX+plotW, y, color.Gray{0xee}, 0.4)
			}
		}
		rs := rowStyle
		rs.YAlign = draw.YCenter
		ns := noteStyle
		ns.XAlign, ns.YAlign = draw.XRight, draw.YCenter
		ptNoteX := plotX + plotW + gap + ptNoteW
		rowNoteX := plotX + plotW + notesW
		for i := range f.Rows {
			mid := rowsY + (vg.Length(i)+0.5)*rowH
			for l, line := range labels[i] {
				p.text(mg, mid+(vg.Length(l)-vg.Length(len(labels[i])-1)/2)*lh*1.05, line, rs)
			}
			if len(f.Notes) > 0 {
				p.text(rowNoteX, mid, fit(ns, f.Notes[i], rowNoteW), ns)
			}
			for j, s := range f.Series {
				y := mid + (vg.Length(j)-vg.Length(k-1)/2)*pitch
				pt := s.Points[i]
				if pt.Note != "" {
					p.text(ptNoteX, y, fit(ns, pt.Note, ptNoteW), ns)
				}
				if math.IsNaN(pt.Y) {
					na := naStyle
					na.YAlign = draw.YCenter
					p.text(plotX+0.3*fs, y, "n/a", na)
					continue
				}
				col := seriesColor(Series{Color: s.Color}, j)
				if !math.IsNaN(pt.Lo) && pt.Hi > lo && pt.Lo < hi {
					x0, x1 := px(math.Max(pt.Lo, lo)), px(math.Min(pt.Hi, hi))
					p.line(x0, y, x1, y, col, 1.1)
					if pt.Lo >= lo {
						p.line(x0, y-capH, x0, y+capH, col, 0.9)
					}
					if pt.Hi <= hi {
						p.line(x1, y-capH, x1, y+capH, col, 0.9)
					}
				}
				v := math.Max(lo, math.Min(hi, pt.Y))
				at := p.pt(px(v), y)
				if v != pt.Y { // off the axis: a ring on its edge
					c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: radius, Shape: draw.RingGlyph{}}, at)
					continue
				}
				c.DrawGlyph(draw.GlyphStyle{Color: color.White, Radius: radius + 0.5, Shape: draw.CircleGlyph{}}, at)
				c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: radius, Shape: draw.CircleGlyph{}}, at)
			}
		}
		// The x axis: line, ticks, labels (thinned out where they would touch), and its label.
		p.line(plotX, axisY, plotX+plotW, axisY, color.Black, 0.5)
		ts := tickStyle
		ts.XAlign = draw.XCenter
		last := vg.Length(math.Inf(-1))
		for i, t := range ticks {
			x := px(t)
			p.line(x, axisY, x, axisY+tickH, color.Black, 0.5)
			w := width(ts, tickLabels[i])
			if x-w/2 < last+0.6*fs || x+w/2 > st.Width-mg {
				continue
			}
			p.text(x, tickY, tickLabels[i], ts)
			last = x + w/2
		}
		xs := labelStyle
		xs.XAlign = draw.XCenter
		for l, line := range xlabel {
			p.text(plotX+plotW/2, xlabelY+vg.Length(l)*lineHeight(labelStyle)*1.1, line, xs)
		}
		drawLegend(p, legY)
	}
	return height, paint, nil
}
