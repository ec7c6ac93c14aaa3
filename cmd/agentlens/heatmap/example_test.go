package heatmap_test

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"log"
	"math"
	"strings"

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

// ExampleForest draws the harmful-action rate of two models over two scenario families as a forest
// plot (dots at the rates, whiskers over their Wilson intervals, counts right of the plot), and shows
// the error for an interval that does not hold its estimate.
func ExampleForest() {
	f := &heatmap.Forest{
		Title:  "harmful-action rate by scenario family",
		XLabel: "harmful-action rate (95% Wilson interval)",
		Rows:   []string{"blackmail", "leaking"},
		Series: []heatmap.ForestSeries{
			{Name: "model A", Points: []heatmap.ForestPoint{{Y: 0.15, Lo: 0.05, Hi: 0.36, Note: "3/20"}, {Y: 0.6, Lo: 0.39, Hi: 0.78, Note: "12/20"}}},
			{Name: "model B", Points: []heatmap.ForestPoint{{Y: 0, Lo: 0, Hi: 0.16, Note: "0/20"}, {Y: math.NaN(), Note: "0/0"}}},
		},
	}
	var b bytes.Buffer
	if err := heatmap.Render(&b, f, heatmap.SVG, heatmap.Style{Width: heatmap.OneColumn}); err != nil {
		log.Fatal(err)
	}
	svg := b.String()
	fmt.Println(strings.Contains(svg, "3/20"), strings.Contains(svg, "model B"), strings.Contains(svg, "75%"))

	f.Series[0].Points[0].Lo = 0.2 // above the estimate
	err := heatmap.Render(&b, f, heatmap.PNG, heatmap.Style{})
	fmt.Println(errors.Is(err, heatmap.ErrShape))
	// Output:
	// true true true
	// true
}

// ExampleReadableToken shows how figures write tokens: special tokens in brackets, newlines escaped.
func ExampleReadableToken() {
	for _, tok := range []string{"<|im_start|>", "<start_of_turn>", ".\n\n", " Kyle", "<email>"} {
		fmt.Println(heatmap.ReadableToken(tok))
	}
	// Output:
	// [im_start]
	// [start_of_turn]
	// .\n\n
	//  Kyle
	// <email>
}

// ExampleWriteViewer writes the episode viewer of a three-token episode with one score set: one
// self-contained page, its data inline.
func ExampleWriteViewer() {
	e := &heatmap.Episode{
		Title:    "tiny",
		Tokens:   []string{"Hello", " Kyle", "<"},
		Segments: []heatmap.EpisodeSegment{{ID: "user[0].text[0]", Kind: "user", Start: 0, End: 2}},
		Target:   2,
		Scores:   []heatmap.ScoreSet{{Name: "grad_x_input", Unit: "Δ log p", Values: []float64{0.2, -0.7, math.NaN()}}},
	}
	var b bytes.Buffer
	if err := heatmap.WriteViewer(&b, e); err != nil {
		log.Fatal(err)
	}
	page := b.String()
	fmt.Println(strings.HasPrefix(page, "<!DOCTYPE html>"), strings.Contains(page, `"name":"grad_x_input"`), strings.Contains(page, "http"))
	// Output: true true false
}
