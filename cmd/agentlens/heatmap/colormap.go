package heatmap

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// divergingStops are the colours of Diverging at −1, −0.8, …, +1: ColorBrewer's RdBu scheme (eleven
// classes, rated safe for colour-blind readers and in print) with its near-white middle class made pure
// white, so that zero is white.
var divergingStops = [11]color.RGBA{
	{0x05, 0x30, 0x61, 0xff}, {0x21, 0x66, 0xac, 0xff}, {0x43, 0x93, 0xc3, 0xff}, {0x92, 0xc5, 0xde, 0xff},
	{0xd1, 0xe5, 0xf0, 0xff}, {0xff, 0xff, 0xff, 0xff}, {0xfd, 0xdb, 0xc7, 0xff}, {0xf4, 0xa5, 0x82, 0xff},
	{0xd6, 0x60, 0x4d, 0xff}, {0xb2, 0x18, 0x2b, 0xff}, {0x67, 0x00, 0x1f, 0xff},
}

// nanColor marks a value that is not a number (a cell that was not measured).
var nanColor = color.RGBA{0xee, 0xee, 0xee, 0xff}

// Diverging returns the colour of x on the blue–white–red scale: −1 dark blue, 0 white, +1 dark red,
// linear in sRGB between the scale's eleven stops; x is clamped to [−1, 1], NaN is light grey.
func Diverging(x float64) color.RGBA {
	if math.IsNaN(x) {
		return nanColor
	}
	x = math.Max(-1, math.Min(1, x))
	pos := (x + 1) * 5 // 0 … 10
	i := min(int(pos), 9)
	t := pos - float64(i)
	a, b := divergingStops[i], divergingStops[i+1]
	mix := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + t*(float64(q)-float64(p)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// Color returns the CSS colour of a score on the Diverging scale clipped at clip (white at 0, dark red
// at +clip, dark blue at −clip); white when clip is not positive or the score is NaN.
func Color(score, clip float64) string {
	if clip <= 0 || math.IsNaN(score) {
		return "#ffffff"
	}
	return hex(Diverging(score / clip))
}

// hex is a colour's CSS #rrggbb.
func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// luminance is the relative luminance of an sRGB colour (0 black … 1 white), as WCAG defines it.
func luminance(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// inkOn returns black or white, whichever reads better on the background bg.
func inkOn(bg color.RGBA) color.Color {
	if luminance(bg) < 0.3 {
		return color.White
	}
	return color.Black
}

// Kind colours: Okabe and Ito's palette, distinguishable under the common colour-vision deficiencies,
// one hue per segment kind that carries content, greys for the rest.
var kindColors = map[string]color.RGBA{
	"system":         {0x99, 0x99, 0x99, 0xff},
	"user":           {0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	"email":          {0xe6, 0x9f, 0x00, 0xff}, // orange
	"document":       {0xf0, 0xe4, 0x42, 0xff}, // yellow
	"file":           {0xf0, 0xe4, 0x42, 0xff},
	"calendar":       {0xf0, 0xe4, 0x42, 0xff},
	"assistant_text": {0x00, 0x72, 0xb2, 0xff}, // blue
	"reasoning":      {0x56, 0xb4, 0xe9, 0xff}, // sky blue
	"tool_call":      {0x00, 0x9e, 0x73, 0xff}, // bluish green
	"tool_result":    {0xd5, 0x5e, 0x00, 0xff}, // vermillion
	"template":       {0xcc, 0xcc, 0xcc, 0xff},
	"target":         {0x00, 0x00, 0x00, 0xff},
}

// KindColor returns the colour of a segment kind (a grey for kinds it does not know).
func KindColor(kind string) color.RGBA {
	if c, ok := kindColors[kind]; ok {
		return c
	}
	return color.RGBA{0xbb, 0xbb, 0xbb, 0xff}
}

// seriesPalette are the line colours of Curves, Okabe–Ito again.
var seriesPalette = []color.RGBA{
	{0x00, 0x72, 0xb2, 0xff}, {0xd5, 0x5e, 0x00, 0xff}, {0x00, 0x9e, 0x73, 0xff}, {0xcc, 0x79, 0xa7, 0xff},
	{0xe6, 0x9f, 0x00, 0xff}, {0x56, 0xb4, 0xe9, 0xff}, {0x00, 0x00, 0x00, 0xff},
}

// tint mixes c with white: share 0 is white, 1 is c.
func tint(c color.RGBA, share float64) color.RGBA {
	m := func(v uint8) uint8 { return uint8(math.Round(255 - share*(255-float64(v)))) }
	return color.RGBA{m(c.R), m(c.G), m(c.B), 0xff}
}

// barTick is one labelled value of a colour bar.
type barTick struct {
	v     float64
	label string
}

// barTicks returns a colour bar's labelled values on [lo, hi]: both ends (marked ≥ or ≤ when values
// lie beyond them) and the round values about n apart between them, less those closer to an end than
// a share gap of the range, so no two labels collide.
func barTicks(lo, hi float64, over, under bool, n int, gap float64) []barTick {
	end := func(v float64, mark bool, sign string) barTick {
		s := fmtSigned(v)
		if mark {
			s = sign + " " + s
		}
		return barTick{v, s}
	}
	out := []barTick{end(lo, under, "≤")}
	step := niceStep(hi-lo, n)
	for k := math.Ceil(lo / step); k*step <= hi; k++ {
		v := k * step
		if v-lo < gap*(hi-lo) || hi-v < gap*(hi-lo) {
			continue
		}
		out = append(out, barTick{v, fmtSigned(v)})
	}
	return append(out, end(hi, over, "≥"))
}

// gradient is an image of the Diverging scale from lo (first pixel) to hi (last) over clip: a colour
// bar drawn as one image so that no seams show between slices.
func gradient(lo, hi, clip float64, vertical bool) image.Image {
	const n = 256
	r := image.Rect(0, 0, n, 1)
	if vertical {
		r = image.Rect(0, 0, 1, n)
	}
	img := image.NewRGBA(r)
	for k := range n {
		v := lo + (hi-lo)*(float64(k)+0.5)/n
		if vertical {
			img.SetRGBA(0, n-1-k, Diverging(v/clip)) // image rows run top down
		} else {
			img.SetRGBA(k, 0, Diverging(v/clip))
		}
	}
	return img
}
