package heatmap

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
)

// WriteSVG draws the segments as a horizontal bar chart in episode order: one row per segment with its
// id, kind and label, a bar of its share of the attribution coloured by the sign of its score, and the
// share in percent; with ablation effects, a second bar per row.
func WriteSVG(w io.Writer, f *Figure) error {
	const (
		rowH, top, labelW, barW, pad = 18, 56, 430, 300, 12
	)
	withEffect := false
	maxShare, maxEffect := 0.0, 0.0
	for _, s := range f.Segments {
		maxShare = math.Max(maxShare, s.Share)
		if s.HasEffect {
			withEffect = true
			maxEffect = math.Max(maxEffect, math.Abs(s.Effect))
		}
	}
	cols := 1
	if withEffect {
		cols = 2
	}
	width := labelW + cols*(barW+70) + pad
	height := top + rowH*len(f.Segments) + pad
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", pad, html.EscapeString(f.Title))
	fmt.Fprintf(&b, `<text x="%d" y="34" fill="#555555">%s</text>`+"\n", pad, html.EscapeString(f.Subtitle))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">share of attribution (red: raises the target, blue: lowers it)</text>`+"\n", labelW, top-8)
	if withEffect {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">ablation effect on the metric</text>`+"\n", labelW+barW+70, top-8)
	}
	for i, s := range f.Segments {
		y := top + i*rowH
		label := s.ID + " (" + s.Kind + ")"
		if s.Label != "" {
			label += " " + s.Label
		}
		if len([]rune(label)) > 72 {
			label = string([]rune(label)[:71]) + "…"
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f4f4f4"/>`+"\n", y, width, rowH)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", pad, y+13, html.EscapeString(label))
		bar := 0.0
		if maxShare > 0 {
			bar = s.Share / maxShare * barW
		}
		color := Color(math.Copysign(1, s.Score), 1)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y+3, bar, rowH-6, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.1f%%</text>`+"\n", float64(labelW)+bar+4, y+13, 100*s.Share)
		if s.HasEffect {
			x0 := labelW + barW + 70
			eb := 0.0
			if maxEffect > 0 {
				eb = math.Abs(s.Effect) / maxEffect * barW
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+3, eb, rowH-6, Color(math.Copysign(1, s.Effect), 1))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%+.3f</text>`+"\n", float64(x0)+eb+4, y+13, s.Effect)
		}
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}
