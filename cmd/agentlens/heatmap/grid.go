package heatmap

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// check returns an error when the matrix's values do not match its labels.
func (m *Matrix) check() error {
	if len(m.Values) != len(m.Rows) {
		return fmt.Errorf("heatmap: %w: matrix has %d rows of values for %d row labels", ErrShape, len(m.Values), len(m.Rows))
	}
	for i, row := range m.Values {
		if len(row) != len(m.Cols) {
			return fmt.Errorf("heatmap: %w: matrix row %d has %d values for %d columns", ErrShape, i, len(row), len(m.Cols))
		}
	}
	if len(m.Rows) == 0 || len(m.Cols) == 0 {
		return fmt.Errorf("heatmap: %w: empty matrix", ErrShape)
	}
	return nil
}

// valueRange reports whether any finite value is negative and whether any lies beyond ±clip.
func (m *Matrix) valueRange(clip float64) (negative, over, under bool) {
	for _, row := range m.Values {
		for _, v := range row {
			if math.IsNaN(v) {
				continue
			}
			negative = negative || v < 0
			over = over || v > clip
			under = under || v < -clip
		}
	}
	return
}

// denseStyle returns the label style for rows (or columns) spaced pitch apart: the base size, shrunk
// down to 5 pt to fit, and the stride at which labels are drawn so that neighbours do not touch.
func denseStyle(st Style, pitch vg.Length) (text.Style, int) {
	size := max(5, min(st.FontSize, pitch/1.2))
	sty := textStyle(size, false, color.Black)
	stride := max(1, int(math.Ceil(float64(lineHeight(sty)*1.05/pitch))))
	return sty, stride
}

// layout draws the matrix as a grid of cells on the Diverging scale (NaN cells left out), row labels on
// the left, column labels under the grid reading upwards, a colour bar with ticks and the unit on the
// right, and the value label as a caption.
func (m *Matrix) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	if err := m.check(); err != nil {
		return 0, nil, err
	}
	fs := st.FontSize
	mg := margin(st)
	headH, drawHeader := header(st, m.Title, m.Subtitle)
	clip := m.clip()
	negative, over, under := m.valueRange(clip)
	nr, nc := len(m.Rows), len(m.Cols)

	// Colour bar column: bar, tick labels, unit written upwards beside them.
	tickStyle := textStyle(fs*0.85, false, color.Black)
	lo := 0.0
	if negative {
		lo = -clip
	}
	// The bar is 1.2 to 2.2 inches tall: four intervals keep its labels apart at any base size.
	cbTicks := barTicks(lo, clip, over, negative && under, 4, 0.12)
	tickW := vg.Length(0)
	for _, t := range cbTicks {
		tickW = max(tickW, width(tickStyle, t.label))
	}
	unitStyle := textStyle(fs*0.9, false, color.Black)
	unit := m.Unit
	if unit == "" {
		unit = "value"
	}
	barW := 0.9 * fs
	cbW := 1.0*fs + barW + 0.35*fs + tickW + 0.5*fs + lineHeight(unitStyle)

	// Row labels: their width, capped at 35% of the figure.
	rowW := vg.Length(0)
	probe := textStyle(fs, false, color.Black)
	for _, r := range m.Rows {
		rowW = max(rowW, width(probe, r))
	}
	rowW = min(rowW, 0.35*(st.Width-2*mg))
	gridX := mg + rowW + 0.4*fs
	avail := st.Width - mg - gridX - cbW
	if avail < 4*fs {
		return 0, nil, fmt.Errorf("heatmap: %w: no room for %d columns in %.1f in", ErrShape, nc, st.Width/vg.Inch)
	}
	cw := min(avail/vg.Length(nc), 4*fs)
	ch := min(cw, max(1.25*st.Width/vg.Length(nr), 0.5*fs))
	gridW, gridH := cw*vg.Length(nc), ch*vg.Length(nr)
	rowStyle, rowStride := denseStyle(st, ch)
	colStyle, colStride := denseStyle(st, cw)
	colLen := vg.Length(0)
	for _, c := range m.Cols {
		colLen = max(colLen, width(colStyle, c))
	}
	colLen = min(colLen, max(1.2*vg.Inch, 0.22*st.Width))

	titleStyle := textStyle(fs*0.9, true, color.Black)
	gridY := headH
	if m.RowTitle != "" {
		gridY += lineHeight(titleStyle) * 1.3
	}
	cbH := min(max(gridH, 1.2*vg.Inch), 2.2*vg.Inch)
	bodyH := max(gridH, cbH)
	colY := gridY + gridH + 0.3*fs
	afterCols := colY + colLen + 0.3*fs
	if m.ColTitle != "" {
		afterCols += lineHeight(titleStyle) * 1.3
	}
	afterBody := max(afterCols, gridY+bodyH+0.3*fs)
	capStyle := textStyle(fs*0.85, false, color.Gray{0x44})
	capLines := wrap(capStyle, m.ValueLabel, st.Width-2*mg, 3)
	height := afterBody + vg.Length(len(capLines))*lineHeight(capStyle)*1.15 + mg

	paint := func(c draw.Canvas) {
		p := pen{c}
		drawHeader(p)
		if m.RowTitle != "" {
			ts := titleStyle
			ts.XAlign = draw.XRight
			p.text(gridX-0.4*fs, headH, fit(ts, m.RowTitle, rowW), ts)
		}
		edge := color.Gray{0xd0}
		for i, row := range m.Values {
			for j, v := range row {
				if math.IsNaN(v) {
					continue
				}
				x, y := gridX+vg.Length(j)*cw, gridY+vg.Length(i)*ch
				p.rect(x, y, cw, ch, Diverging(v/clip))
				if cw >= 4 && ch >= 4 {
					p.frame(x, y, cw, ch, edge, 0.25)
				}
			}
		}
		rs := rowStyle
		rs.XAlign, rs.YAlign = draw.XRight, draw.YCenter
		for i := 0; i < nr; i += rowStride {
			p.text(gridX-0.4*fs, gridY+(vg.Length(i)+0.5)*ch, fit(rs, m.Rows[i], rowW), rs)
		}
		cs := colStyle
		cs.XAlign, cs.YAlign, cs.Rotation = draw.XRight, draw.YCenter, math.Pi/2
		for j := 0; j < nc; j += colStride {
			p.text(gridX+(vg.Length(j)+0.5)*cw, colY, fit(cs, m.Cols[j], colLen), cs)
		}
		if m.ColTitle != "" {
			ts := titleStyle
			ts.XAlign = draw.XCenter
			p.text(gridX+gridW/2, colY+colLen+0.3*fs, fit(ts, m.ColTitle, st.Width-2*mg), ts)
		}
		// Colour bar: the scale from clip at the top down to lo.
		bx := gridX + gridW + 1.0*fs
		by := gridY + (bodyH-cbH)/2
		p.image(bx, by, barW, cbH, gradient(lo, clip, clip, true))
		p.frame(bx, by, barW, cbH, color.Gray{0x55}, 0.4)
		ts := tickStyle
		ts.YAlign = draw.YCenter
		for _, t := range cbTicks {
			y := by + cbH*vg.Length((clip-t.v)/(clip-lo))
			p.line(bx+barW, y, bx+barW+0.25*fs, y, color.Black, 0.5)
			p.text(bx+barW+0.35*fs, y, t.label, ts)
		}
		us := unitStyle
		us.XAlign, us.YAlign, us.Rotation = draw.XCenter, draw.YBottom, math.Pi/2
		// Turned a quarter turn anticlockwise the unit reads upwards and its ascenders face left: its
		// baseline sits on the right edge of the colour bar's column.
		p.text(bx+barW+0.35*fs+tickW+0.5*fs+lineHeight(unitStyle), by+cbH/2, fit(us, unit, cbH), us)
		for k, l := range capLines {
			p.text(mg, afterBody+vg.Length(k)*lineHeight(capStyle)*1.15, l, capStyle)
		}
	}
	return height, paint, nil
}
