package heatmap

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Comparison is the same segments scored by several methods, drawn side by side: one row per segment in
// episode order, one panel of signed bars per method, each on its own zero-centred axis (methods have
// different units), bars coloured by segment kind.
type Comparison struct {
	Title, Subtitle string
	// Segments are the rows; their ID, Kind and Label are used.
	Segments []Segment
	// Methods name the panels; Scores[m][s] is method m's score of segment s (NaN: not scored) and
	// Units[m] the panel's axis label (optional).
	Methods []string
	Scores  [][]float64
	Units   []string
	// Target is the index of the segment holding the target token (its label is set in bold), or −1.
	Target int
	// Note is a line printed under the chart (what the signs mean).
	Note string
}

// layout draws the comparison.
func (c *Comparison) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	if len(c.Scores) != len(c.Methods) {
		return 0, nil, fmt.Errorf("%w: %d methods, %d score lists", ErrShape, len(c.Methods), len(c.Scores))
	}
	pc := &panelChart{title: c.Title, subtitle: c.Subtitle, note: c.Note}
	for i, s := range c.Segments {
		pc.rows = append(pc.rows, panelRow{label: segmentLabel(s), kind: s.Kind, bold: i == c.Target})
	}
	for m, name := range c.Methods {
		if len(c.Scores[m]) != len(c.Segments) {
			return 0, nil, fmt.Errorf("%w: method %s has %d scores for %d segments", ErrShape, name, len(c.Scores[m]), len(c.Segments))
		}
		unit := ""
		if m < len(c.Units) {
			unit = c.Units[m]
		}
		pc.panels = append(pc.panels, panel{name: name, unit: unit, values: c.Scores[m]})
	}
	return pc.layout(st)
}

// segmentLabel is a segment's row label: its id and label.
func segmentLabel(s Segment) string {
	if s.Label != "" {
		return s.ID + "  " + s.Label
	}
	return s.ID
}

// panelChart is labelled rows of signed horizontal bars in one or more panels side by side, each with
// its own axis through zero: the segment → target bar chart and the method comparison.
type panelChart struct {
	title, subtitle, note string
	rows                  []panelRow
	panels                []panel
}

type panelRow struct {
	label, kind string
	bold        bool
}

type panel struct {
	name, unit string
	values     []float64 // one per row; NaN: none
}

// niceStep is the round step (1, 2 or 5 times a power of ten) that cuts a range into about n parts.
func niceStep(span float64, n int) float64 {
	raw := span / float64(max(1, n))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// axisRange is a panel's x range: zero and every value, widened out to round ticks about n apart.
func axisRange(values []float64, n int) (lo, hi float64, tk []float64) {
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo == hi {
		hi = 1
	}
	step := niceStep(hi-lo, max(2, n))
	a, b := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	for k := a; k <= b; k++ {
		v := k * step
		if v == 0 {
			v = 0 // not −0
		}
		tk = append(tk, v)
	}
	return a * step, b * step, tk
}

func (pc *panelChart) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	fs := st.FontSize
	m := margin(st)
	headH, drawHeader := header(st, pc.title, pc.subtitle)
	rowStyle := textStyle(fs, false, color.Black)
	boldStyle := textStyle(fs, true, color.Black)
	tickStyle := textStyle(fs*0.85, false, color.Gray{0x33})
	unitStyle := textStyle(fs*0.9, false, color.Black)
	nameStyle := textStyle(fs, true, color.Black)
	rowH := lineHeight(rowStyle) * 1.3
	swatch := 0.75 * fs

	// Label column: as wide as the longest label, at most 40% of the figure.
	labelW := vg.Length(0)
	for _, r := range pc.rows {
		sty := rowStyle
		if r.bold {
			sty = boldStyle
		}
		labelW = max(labelW, width(sty, r.label))
	}
	inner := st.Width - 2*m
	gap := 1.2 * fs
	np := max(1, len(pc.panels))
	// Labels take at most 40% of the width, and give way (down to 15%) so each panel keeps 6 ems.
	fixed := swatch + 0.4*fs + 0.8*fs + vg.Length(np-1)*gap
	labelW = min(labelW, 0.4*inner, max(0.15*inner, inner-fixed-vg.Length(np)*6*fs))
	plotX := m + swatch + 0.4*fs + labelW + 0.8*fs
	panelW := (st.Width - m - plotX - vg.Length(np-1)*gap) / vg.Length(np)
	if panelW < 3*fs {
		return 0, nil, fmt.Errorf("heatmap: %w: %d panels do not fit in %.1f in", ErrShape, len(pc.panels), st.Width/vg.Inch)
	}

	// Per-panel axes and their unit labels (wrapped to the panel width, two lines at most).
	type axis struct {
		lo, hi float64
		tk     []float64
		unit   []string
	}
	axes := make([]axis, len(pc.panels))
	unitLines := 0
	for i, p := range pc.panels {
		lo, hi, tk := axisRange(p.values, int(panelW/(4.5*fs)))
		axes[i] = axis{lo: lo, hi: hi, tk: tk, unit: wrap(unitStyle, p.unit, panelW, 2)}
		unitLines = max(unitLines, len(axes[i].unit))
	}
	nameH := lineHeight(nameStyle) * 1.4
	if len(pc.panels) == 1 && pc.panels[0].name == "" {
		nameH = 0
	}
	rowsY := headH + nameH
	rowsH := vg.Length(len(pc.rows)) * rowH
	tickH := 0.35 * fs
	axisY := rowsY + rowsH
	unitY := axisY + tickH + lineHeight(tickStyle) + 0.3*fs
	unitH := vg.Length(unitLines) * lineHeight(unitStyle) * 1.1

	// Legend of the kinds present, in order of first appearance, wrapped into lines.
	var kinds []string
	for _, r := range pc.rows {
		if r.kind != "" && !slices.Contains(kinds, r.kind) {
			kinds = append(kinds, r.kind)
		}
	}
	legStyle := textStyle(fs*0.9, false, color.Black)
	legY := unitY + unitH + 0.6*fs
	type item struct {
		x, y vg.Length
		kind string
	}
	var items []item
	x, y := m, legY
	legLine := lineHeight(legStyle) * 1.35
	for _, k := range kinds {
		w := swatch + 0.3*fs + width(legStyle, k) + 1.2*fs
		if x > m && x+w > st.Width-m {
			x, y = m, y+legLine
		}
		items = append(items, item{x, y, k})
		x += w
	}
	legH := vg.Length(0)
	if len(items) > 0 {
		legH = y + legLine - legY
	}
	noteStyle := textStyle(fs*0.85, false, color.Gray{0x44})
	noteLines := wrap(noteStyle, pc.note, inner, 3)
	noteY := legY + legH + 0.2*fs
	height := noteY + vg.Length(len(noteLines))*lineHeight(noteStyle)*1.15 + m

	paint := func(c draw.Canvas) {
		p := pen{c}
		drawHeader(p)
		// Row labels with their kind swatch.
		for i, r := range pc.rows {
			ry := rowsY + vg.Length(i)*rowH
			sty := rowStyle
			if r.bold {
				sty = boldStyle
			}
			p.rect(m, ry+(rowH-swatch)/2, swatch, swatch, KindColor(r.kind))
			sty.YAlign = draw.YCenter
			p.text(m+swatch+0.4*fs, ry+rowH/2, fit(sty, r.label, labelW), sty)
		}
		for i, pn := range pc.panels {
			a := axes[i]
			x0 := plotX + vg.Length(i)*(panelW+gap)
			px := func(v float64) vg.Length { return x0 + vg.Length((v-a.lo)/(a.hi-a.lo))*panelW }
			if nameH > 0 {
				ns := nameStyle
				ns.XAlign = draw.XCenter
				p.text(x0+panelW/2, headH+0.1*fs, fit(ns, pn.name, panelW), ns)
			}
			// Grid lines at the ticks, the bars, then the zero axis over them.
			for _, t := range a.tk {
				p.line(px(t), rowsY, px(t), axisY, color.Gray{0xe3}, 0.4)
			}
			for r, v := range pn.values {
				if r >= len(pc.rows) {
					break
				}
				ry := rowsY + vg.Length(r)*rowH
				if math.IsNaN(v) { // not scored by this method: a faint dash on the axis
					ns := textStyle(fs*0.8, false, color.Gray{0xb0})
					ns.YAlign = draw.YCenter
					p.text(px(0)+0.2*fs, ry+rowH/2, "–", ns)
					continue
				}
				x1, x2 := px(0), px(v)
				if x2 < x1 {
					x1, x2 = x2, x1
				}
				p.rect(x1, ry+0.16*rowH, max(x2-x1, 0.3), 0.68*rowH, KindColor(pc.rows[r].kind))
			}
			p.line(px(0), rowsY, px(0), axisY, color.Black, 0.6)
			p.line(x0, axisY, x0+panelW, axisY, color.Black, 0.5)
			ts := tickStyle
			ts.XAlign = draw.XCenter
			for _, t := range a.tk {
				lbl := fmtNum(t)
				if w := width(ts, lbl); px(t)-w/2 < x0-gap/2+0.1*fs || px(t)+w/2 > x0+panelW+gap/2-0.1*fs {
					continue // a label that would reach into the next panel
				}
				p.line(px(t), axisY, px(t), axisY+tickH, color.Black, 0.5)
				p.text(px(t), axisY+tickH+0.1*fs, lbl, ts)
			}
			us := unitStyle
			us.XAlign = draw.XCenter
			for k, l := range a.unit {
				p.text(x0+panelW/2, unitY+vg.Length(k)*lineHeight(unitStyle)*1.1, l, us)
			}
		}
		ls := legStyle
		ls.YAlign = draw.YCenter
		for _, it := range items {
			p.rect(it.x, it.y+(legLine-swatch)/2, swatch, swatch, KindColor(it.kind))
			p.text(it.x+swatch+0.3*fs, it.y+legLine/2, it.kind, ls)
		}
		for k, l := range noteLines {
			p.text(m, noteY+vg.Length(k)*lineHeight(noteStyle)*1.15, l, noteStyle)
		}
	}
	return height, paint, nil
}

// layout draws the figure's segments as signed horizontal bars in episode order, coloured by kind: the
// attribution score of each segment and, when some segment has one, its deletion effect beside it.
func (f *Figure) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	pc := &panelChart{title: f.Title, subtitle: f.Subtitle}
	target := -1
	if f.Target >= 0 && f.Target < len(f.Tokens) {
		target = f.Tokens[f.Target].Segment
	}
	scores := panel{name: "attribution", unit: f.ScoreLabel}
	if scores.unit == "" {
		scores.unit = "attribution score (sum over the segment's tokens)"
	}
	effects := panel{name: "deletion", unit: f.EffectLabel}
	if effects.unit == "" {
		effects.unit = "Δ metric when the segment is deleted"
	}
	withEffect := false
	for i, s := range f.Segments {
		pc.rows = append(pc.rows, panelRow{label: segmentLabel(s), kind: s.Kind, bold: i == target})
		scores.values = append(scores.values, s.Score)
		e := math.NaN()
		if s.HasEffect {
			e, withEffect = s.Effect, true
		}
		effects.values = append(effects.values, e)
	}
	pc.panels = []panel{scores}
	if withEffect {
		pc.panels = append(pc.panels, effects)
	} else {
		pc.panels[0].name = ""
	}
	if target >= 0 {
		pc.note = "Bold: the segment holding the target token. "
	}
	pc.note += "Bars right of zero raise the target, left of zero lower it; colours are segment kinds."
	if f.ScoreMeaning != "" {
		pc.note = f.ScoreMeaning
	}
	return pc.layout(st)
}
