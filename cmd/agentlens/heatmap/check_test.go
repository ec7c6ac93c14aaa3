package heatmap

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// box is an axis-aligned rectangle on the page, in points, y up.
type box struct {
	x0, y0, x1, y1 float64
	what           string
}

// overlap returns how far two boxes overlap in x and in y (negative: apart).
func (a box) overlap(b box) (dx, dy float64) {
	return math.Min(a.x1, b.x1) - math.Max(a.x0, b.x0), math.Min(a.y1, b.y1) - math.Max(a.y0, b.y0)
}

// contains reports whether b lies inside a, give or take tol.
func (a box) contains(b box, tol float64) bool {
	return b.x0 >= a.x0-tol && b.x1 <= a.x1+tol && b.y0 >= a.y0-tol && b.y1 <= a.y1+tol
}

func (a box) String() string {
	return fmt.Sprintf("%q [%.1f,%.1f]×[%.1f,%.1f]", a.what, a.x0, a.x1, a.y0, a.y1)
}

// affine is x' = a·x + b·y + e, y' = c·x + d·y + f.
type affine struct{ a, b, c, d, e, f float64 }

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.e, m.c*x + m.d*y + m.f
}

// then returns m followed (in the local frame) by n: points are mapped by n first, then by m.
func (m affine) then(n affine) affine {
	return affine{
		a: m.a*n.a + m.b*n.c, b: m.a*n.b + m.b*n.d,
		c: m.c*n.a + m.d*n.c, d: m.c*n.b + m.d*n.d,
		e: m.a*n.e + m.b*n.f + m.e, f: m.c*n.e + m.d*n.f + m.f,
	}
}

// checkCanvas is a vg.Canvas that draws nothing and records where text and filled rectangles land:
// the page boxes of every string (its advance width by the font's ascent and descent, turned by the
// canvas's rotations) and of every filled axis-aligned rectangle (bars, cells, swatches).
type checkCanvas struct {
	w, h  vg.Length
	cur   affine
	stack []affine
	texts []box
	rects []box
}

func newCheckCanvas(w, h vg.Length) *checkCanvas {
	return &checkCanvas{w: w, h: h, cur: affine{a: 1, d: 1}}
}

func (c *checkCanvas) Size() (vg.Length, vg.Length)        { return c.w, c.h }
func (c *checkCanvas) SetLineWidth(vg.Length)              {}
func (c *checkCanvas) SetLineDash([]vg.Length, vg.Length)  {}
func (c *checkCanvas) SetColor(color.Color)                {}
func (c *checkCanvas) Stroke(vg.Path)                      {}
func (c *checkCanvas) DrawImage(vg.Rectangle, image.Image) {}
func (c *checkCanvas) Push()                               { c.stack = append(c.stack, c.cur) }
func (c *checkCanvas) Pop()                                { c.cur, c.stack = c.stack[len(c.stack)-1], c.stack[:len(c.stack)-1] }
func (c *checkCanvas) Translate(p vg.Point) {
	c.cur = c.cur.then(affine{a: 1, d: 1, e: float64(p.X), f: float64(p.Y)})
}
func (c *checkCanvas) Scale(x, y float64) { c.cur = c.cur.then(affine{a: x, d: y}) }
func (c *checkCanvas) Rotate(t float64) {
	s, co := math.Sincos(t)
	c.cur = c.cur.then(affine{a: co, b: -s, c: s, d: co})
}

// pageBox maps a local rectangle to the bounding box of its image on the page.
func (c *checkCanvas) pageBox(x0, y0, x1, y1 float64, what string) box {
	b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1), what}
	for _, p := range [][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		x, y := c.cur.apply(p[0], p[1])
		b.x0, b.y0, b.x1, b.y1 = math.Min(b.x0, x), math.Min(b.y0, y), math.Max(b.x1, x), math.Max(b.y1, y)
	}
	return b
}

func (c *checkCanvas) FillString(f font.Face, p vg.Point, s string) {
	e := f.Extents()
	x, y := float64(p.X), float64(p.Y)
	c.texts = append(c.texts, c.pageBox(x, y-float64(e.Descent), x+float64(f.Width(s)), y+float64(e.Ascent), s))
}

// Fill records the path when it is an axis-aligned rectangle (four corners, closed or not).
func (c *checkCanvas) Fill(p vg.Path) {
	var pts [][2]float64
	for _, comp := range p {
		switch comp.Type {
		case vg.MoveComp, vg.LineComp:
			pts = append(pts, [2]float64{float64(comp.Pos.X), float64(comp.Pos.Y)})
		case vg.CloseComp:
		default:
			return // arcs and curves: markers, not rectangles
		}
	}
	if len(pts) == 5 && pts[4] == pts[0] {
		pts = pts[:4]
	}
	if len(pts) != 4 {
		return
	}
	xs, ys := map[float64]bool{}, map[float64]bool{}
	for _, p := range pts {
		xs[math.Round(p[0]*1000)], ys[math.Round(p[1]*1000)] = true, true
	}
	if len(xs) != 2 || len(ys) != 2 {
		return
	}
	x0, x1 := math.Min(pts[0][0], pts[2][0]), math.Max(pts[0][0], pts[2][0])
	y0, y1 := math.Min(pts[0][1], pts[2][1]), math.Max(pts[0][1], pts[2][1])
	c.rects = append(c.rects, c.pageBox(x0, y0, x1, y1, "rect"))
}

// problems lists the layout faults of what was drawn: text outside the page, two texts overlapping,
// and text that crosses the edge of a filled rectangle (text wholly inside one, like a token on its
// background, is fine). Overlaps under tol points are ignored (font extents include some air).
func (c *checkCanvas) problems(tol float64) []string {
	var out []string
	page := box{0, 0, float64(c.w), float64(c.h), "page"}
	for i, t := range c.texts {
		if !page.contains(t, tol) {
			out = append(out, fmt.Sprintf("text %s leaves the page (%.1f × %.1f pt)", t, c.w, c.h))
		}
		for _, u := range c.texts[i+1:] {
			if dx, dy := t.overlap(u); dx > tol && dy > tol {
				out = append(out, fmt.Sprintf("texts overlap: %s and %s", t, u))
			}
		}
		for _, r := range c.rects {
			if dx, dy := t.overlap(r); dx > tol && dy > tol && !r.contains(t, tol) {
				out = append(out, fmt.Sprintf("text %s crosses filled %s", t, r))
				break
			}
		}
	}
	return out
}
