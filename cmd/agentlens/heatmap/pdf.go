package heatmap

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"time"

	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"codeberg.org/go-pdf/fpdf"
	stdfont "golang.org/x/image/font"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// pdfCanvas is a vg.Canvas that writes a one-page PDF with fpdf, its text set in Liberation Sans
// embedded as Unicode (CID) subsets. gonum/plot's own vgpdf encodes text as Windows-1252, which loses
// →, −, Δ, ≥ and every non-Latin character of a token, and fails on bold faces; this canvas keeps
// them.
//
// Coordinates: fpdf takes points from the top-left corner with y down and writes PDF's native
// coordinates, y up from the bottom-left corner, which are the vg coordinates. Each point is handed to
// fpdf as (x, h − y), so that it lands where vg meant; transformations go to the PDF as raw "cm"
// matrices, which act in the native space.
type pdfCanvas struct {
	doc   *fpdf.Fpdf
	w, h  vg.Length
	state pdfState
	stack []pdfState
	fonts map[string]bool // "" and "B" once added
	n     int             // images registered
}

type pdfState struct {
	col    color.Color
	width  vg.Length
	dashes []vg.Length
	offset vg.Length
}

// pdfDate is the creation date written into every PDF, so that a figure's bytes depend on its
// content only.
var pdfDate = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newPDFCanvas(w, h vg.Length) *pdfCanvas {
	doc := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: float64(w), Ht: float64(h)}})
	doc.SetMargins(0, 0, 0)
	doc.SetAutoPageBreak(false, 0)
	doc.SetCreationDate(pdfDate)
	doc.SetModificationDate(pdfDate)
	doc.SetProducer("agentlens", false)
	doc.AddPage()
	c := &pdfCanvas{doc: doc, w: w, h: h, fonts: map[string]bool{}, state: pdfState{col: color.Black, width: 1}}
	c.apply()
	return c
}

func (c *pdfCanvas) Size() (vg.Length, vg.Length) { return c.w, c.h }

// at converts a vg point to fpdf's coordinates.
func (c *pdfCanvas) at(p vg.Point) (float64, float64) { return float64(p.X), float64(c.h - p.Y) }

// apply writes the current state (colour, alpha, line width, dashes) to the document.
func (c *pdfCanvas) apply() {
	col := c.state.col
	if col == nil {
		col = color.Black
	}
	n := color.NRGBAModel.Convert(col).(color.NRGBA)
	c.doc.SetFillColor(int(n.R), int(n.G), int(n.B))
	c.doc.SetDrawColor(int(n.R), int(n.G), int(n.B))
	c.doc.SetTextColor(int(n.R), int(n.G), int(n.B))
	c.doc.SetAlpha(float64(n.A)/255, "Normal")
	c.doc.SetLineWidth(float64(c.state.width))
	d := make([]float64, len(c.state.dashes))
	for i, v := range c.state.dashes {
		d[i] = float64(v)
	}
	c.doc.SetDashPattern(d, float64(c.state.offset))
}

func (c *pdfCanvas) SetLineWidth(w vg.Length) {
	c.state.width = w
	c.doc.SetLineWidth(float64(w))
}

func (c *pdfCanvas) SetLineDash(dashes []vg.Length, offs vg.Length) {
	c.state.dashes, c.state.offset = append([]vg.Length(nil), dashes...), offs
	c.apply()
}

func (c *pdfCanvas) SetColor(col color.Color) {
	c.state.col = col
	c.apply()
}

func (c *pdfCanvas) Rotate(t float64) {
	s, co := math.Sincos(t)
	c.doc.Transform(fpdf.TransformMatrix{A: co, B: s, C: -s, D: co})
}

func (c *pdfCanvas) Translate(p vg.Point) {
	c.doc.Transform(fpdf.TransformMatrix{A: 1, D: 1, E: float64(p.X), F: float64(p.Y)})
}

func (c *pdfCanvas) Scale(x, y float64) {
	c.doc.Transform(fpdf.TransformMatrix{A: x, D: y})
}

// Push saves the graphics state (q); Pop restores it (Q) and writes the saved state again, because
// fpdf's idea of the current colour and width does not follow Q.
func (c *pdfCanvas) Push() {
	c.stack = append(c.stack, c.state)
	c.doc.TransformBegin()
}

func (c *pdfCanvas) Pop() {
	if len(c.stack) == 0 {
		return
	}
	c.doc.TransformEnd()
	c.state, c.stack = c.stack[len(c.stack)-1], c.stack[:len(c.stack)-1]
	c.apply()
}

// path hands a vg path to fpdf, arcs as cubic Bézier curves.
func (c *pdfCanvas) path(p vg.Path) {
	var start, cur vg.Point
	started := false
	for _, comp := range p {
		switch comp.Type {
		case vg.MoveComp:
			start, cur, started = comp.Pos, comp.Pos, true
			c.doc.MoveTo(c.at(comp.Pos))
		case vg.LineComp:
			cur = comp.Pos
			c.doc.LineTo(c.at(comp.Pos))
		case vg.ArcComp:
			first := vg.Point{X: comp.Pos.X + comp.Radius*vg.Length(math.Cos(comp.Start)), Y: comp.Pos.Y + comp.Radius*vg.Length(math.Sin(comp.Start))}
			switch {
			case !started:
				c.doc.MoveTo(c.at(first))
				start, started = first, true
			case cur != first:
				c.doc.LineTo(c.at(first))
			}
			// Pieces of at most a quarter turn: control points at k = 4/3·tan(θ/4) of the radius.
			n := int(math.Ceil(math.Abs(comp.Angle) / (math.Pi / 2)))
			step := comp.Angle / float64(max(1, n))
			k := 4.0 / 3 * math.Tan(step/4)
			a := comp.Start
			r := float64(comp.Radius)
			cx, cy := float64(comp.Pos.X), float64(comp.Pos.Y)
			for range n {
				b := a + step
				x0, y0 := cx+r*math.Cos(a), cy+r*math.Sin(a)
				x3, y3 := cx+r*math.Cos(b), cy+r*math.Sin(b)
				x1, y1 := x0-k*r*math.Sin(a), y0+k*r*math.Cos(a)
				x2, y2 := x3+k*r*math.Sin(b), y3-k*r*math.Cos(b)
				p1x, p1y := c.at(vg.Point{X: vg.Length(x1), Y: vg.Length(y1)})
				p2x, p2y := c.at(vg.Point{X: vg.Length(x2), Y: vg.Length(y2)})
				p3x, p3y := c.at(vg.Point{X: vg.Length(x3), Y: vg.Length(y3)})
				c.doc.CurveBezierCubicTo(p1x, p1y, p2x, p2y, p3x, p3y)
				a = b
			}
			cur = vg.Point{X: vg.Length(cx + r*math.Cos(a)), Y: vg.Length(cy + r*math.Sin(a))}
		case vg.CurveComp:
			px, py := c.at(comp.Pos)
			switch len(comp.Control) {
			case 1:
				cx, cy := c.at(comp.Control[0])
				c.doc.CurveTo(cx, cy, px, py)
			case 2:
				ax, ay := c.at(comp.Control[0])
				bx, by := c.at(comp.Control[1])
				c.doc.CurveBezierCubicTo(ax, ay, bx, by, px, py)
			}
			cur = comp.Pos
		case vg.CloseComp:
			c.doc.ClosePath()
			cur = start
		}
	}
}

func (c *pdfCanvas) Stroke(p vg.Path) {
	if c.state.width <= 0 || len(p) == 0 {
		return
	}
	c.path(p)
	c.doc.DrawPath("D")
}

func (c *pdfCanvas) Fill(p vg.Path) {
	if len(p) == 0 {
		return
	}
	c.path(p)
	c.doc.DrawPath("F")
}

// FillString sets str with its baseline starting at p, in Liberation Sans (bold when the face is).
func (c *pdfCanvas) FillString(f font.Face, p vg.Point, str string) {
	if f.Font.Size <= 0 || str == "" {
		return
	}
	style, ttf := "", liberationsansregular.TTF
	if f.Font.Weight >= stdfont.WeightBold {
		style, ttf = "B", liberationsansbold.TTF
	}
	if !c.fonts[style] {
		c.doc.AddUTF8FontFromBytes("LiberationSans", style, ttf)
		c.fonts[style] = true
	}
	c.doc.SetFont("LiberationSans", style, float64(f.Font.Size))
	c.doc.Text(float64(p.X), float64(c.h-p.Y), str)
}

// DrawImage draws img stretched over rect, as a PNG inside the PDF.
func (c *pdfCanvas) DrawImage(rect vg.Rectangle, img image.Image) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		c.doc.SetError(fmt.Errorf("image: %w", err))
		return
	}
	c.n++
	name := fmt.Sprintf("img%d", c.n)
	opts := fpdf.ImageOptions{ImageType: "png"}
	c.doc.RegisterImageOptionsReader(name, opts, &b)
	x, y := c.at(vg.Point{X: rect.Min.X, Y: rect.Max.Y})
	c.doc.ImageOptions(name, x, y, float64(rect.Max.X-rect.Min.X), float64(rect.Max.Y-rect.Min.Y), false, opts, 0, "")
}

// WriteTo writes the document.
func (c *pdfCanvas) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	if err := c.doc.Output(&b); err != nil {
		return 0, fmt.Errorf("pdf: %w", err)
	}
	return b.WriteTo(w)
}
