package heatmap

import (
	"fmt"
	"image/color"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Strip is one passage of an episode for a figure: its tokens set like text, wrapped at the figure's
// width, each on a background of its score's colour (Diverging, clipped at Clip), the target token
// outlined, and a colour bar under the text. Special tokens read as [im_start], newlines as \n
// followed by a line break (ReadableToken).
type Strip struct {
	Title, Subtitle string
	Tokens          []Token
	// Target is the index into Tokens of the token outlined, or −1.
	Target int
	// Clip is the |score| that maps to full colour; 0 means the 99th percentile of |score|.
	Clip float64
	// Unit labels the colour bar ("grad × input").
	Unit string
	// MaxLines caps the lines of text (0: 40); tokens beyond are counted in a last line.
	MaxLines int
}

// Strip returns the tokens [from, to) of the figure (clamped to its tokens) as a Strip on the figure's
// colour scale, so that passages cut from one episode compare.
func (f *Figure) Strip(from, to int) *Strip {
	from, to = max(0, from), min(len(f.Tokens), to)
	if to < from {
		to = from
	}
	s := &Strip{Title: f.Title, Subtitle: f.Subtitle, Tokens: slices.Clone(f.Tokens[from:to]), Target: -1, Clip: f.clip(), Unit: f.ScoreLabel}
	if f.Target >= from && f.Target < to {
		s.Target = f.Target - from
	}
	return s
}

// clip returns the colour scale's full-intensity |score|.
func (s *Strip) clip() float64 {
	if s.Clip > 0 {
		return s.Clip
	}
	return (&Figure{Tokens: s.Tokens}).clip()
}

// layout sets the tokens in lines.
func (s *Strip) layout(st Style) (vg.Length, func(draw.Canvas), error) {
	if len(s.Tokens) == 0 {
		return 0, nil, fmt.Errorf("heatmap: %w: a token strip with no tokens", ErrShape)
	}
	fs := st.FontSize
	mg := margin(st)
	headH, drawHeader := header(st, s.Title, s.Subtitle)
	sty := textStyle(fs, false, color.Black)
	sty.YAlign = draw.YCenter
	pad := 0.14 * fs
	boxH := lineHeight(sty) + 0.3*fs
	lineH := boxH + 0.25*fs
	maxLines := s.MaxLines
	if maxLines <= 0 {
		maxLines = 40
	}
	inner := st.Width - 2*mg
	clip := s.clip()
	type box struct {
		x, y vg.Length
		w    vg.Length
		text string
		tok  int
	}
	var boxes []box
	x, line := vg.Length(0), 0
	left := 0
	for i, t := range s.Tokens {
		txt := ReadableToken(t.Text)
		w := width(sty, txt) + 2*pad
		if w > inner {
			txt = fit(sty, txt, inner-2*pad)
			w = width(sty, txt) + 2*pad
		}
		if x > 0 && x+w > inner {
			x, line = 0, line+1
		}
		if line >= maxLines {
			left = len(s.Tokens) - i
			break
		}
		boxes = append(boxes, box{x: mg + x, y: headH + vg.Length(line)*lineH, w: w, text: txt, tok: i})
		x += w
		if strings.HasSuffix(t.Text, "\n") {
			x, line = 0, line+1
		}
	}
	lines := 1
	if len(boxes) > 0 {
		lines = int((boxes[len(boxes)-1].y-headH)/lineH) + 1
	}
	textH := vg.Length(lines) * lineH
	moreStyle := textStyle(0.85*fs, false, color.Gray{0x55})
	moreH := vg.Length(0)
	if left > 0 {
		moreH = lineHeight(moreStyle) * 1.3
	}
	// Colour bar: horizontal, under the text, with the unit to its right.
	barY := headH + textH + moreH + 0.5*fs
	barW, barH := min(2.6*vg.Inch, 0.45*inner), 0.7*fs
	tickStyle := textStyle(0.85*fs, false, color.Black)
	tickStyle.XAlign = draw.XCenter
	unitStyle := textStyle(0.9*fs, false, color.Black)
	unitStyle.YAlign = draw.YCenter
	height := barY + barH + 0.3*fs + lineHeight(tickStyle) + mg
	over, under := false, false
	for _, t := range s.Tokens {
		over, under = over || t.Score > clip, under || t.Score < -clip
	}
	bt := barTicks(-clip, clip, over, under, 4, 0.12)
	barX := mg + width(tickStyle, bt[0].label)/2 // the first label centred on the bar's end stays inside
	unit := s.Unit
	if unit == "" {
		unit = "score"
	}

	paint := func(c draw.Canvas) {
		p := pen{c}
		drawHeader(p)
		for _, b := range boxes {
			t := s.Tokens[b.tok]
			bg := Diverging(t.Score / clip)
			p.rect(b.x, b.y, b.w, boxH, bg)
			ts := sty
			ts.Color = inkOn(bg)
			p.text(b.x+pad, b.y+boxH/2, b.text, ts)
			if b.tok == s.Target { // outlined, and underlined in the gap below its line
				p.frame(b.x, b.y, b.w, boxH, color.Black, 0.9)
				p.rect(b.x, b.y+boxH+0.05*fs, b.w, 0.15*fs, color.Black)
			}
		}
		if left > 0 {
			p.text(mg, headH+textH, fmt.Sprintf("… %d more tokens", left), moreStyle)
		}
		p.image(barX, barY, barW, barH, gradient(-clip, clip, clip, false))
		p.frame(barX, barY, barW, barH, color.Gray{0x55}, 0.4)
		for _, t := range bt {
			x := barX + barW*vg.Length((t.v+clip)/(2*clip))
			p.line(x, barY+barH, x, barY+barH+0.25*fs, color.Black, 0.5)
			p.text(x, barY+barH+0.3*fs, t.label, tickStyle)
		}
		// The unit sits right of the bar, clear of the last tick label's overhang.
		ux := barX + barW + width(tickStyle, bt[len(bt)-1].label)/2 + 0.8*fs
		p.text(ux, barY+barH/2, fit(unitStyle, unit, st.Width-mg-ux), unitStyle)
	}
	return height, paint, nil
}
