package heatmap_test

import (
	"bytes"
	"fmt"
	"image/png"
	"log"
	"math"

	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
)

// ExampleRender draws a small segment × segment matrix (lower triangle: NaN cells are left out) as a
// one-column PNG at 300 dpi.
func ExampleRender() {
	m := &heatmap.Matrix{
		Title: "segment × segment", Unit: "Δ mean log p", RowTitle: "later segment", ColTitle: "deleted segment",
		Rows: []string{"email[1]", "target"}, Cols: []string{"system", "email[1]"},
		Values: [][]float64{{0.4, math.NaN()}, {-0.2, 0.9}},
	}
	var b bytes.Buffer
	if err := heatmap.Render(&b, m, heatmap.PNG, heatmap.Style{Width: heatmap.OneColumn, DPI: 300}); err != nil {
		log.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("width:", img.Bounds().Dx(), "px")
	// Output: width: 1050 px
}
