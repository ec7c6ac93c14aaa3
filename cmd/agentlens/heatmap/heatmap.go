package heatmap

import (
	"math"
	"slices"
)

// Token is one token of the figure.
type Token struct {
	Text    string
	Score   float64
	Segment int // index into Figure.Segments, or -1
}

// Segment is one segment of the figure.
type Segment struct {
	ID, Kind, Label string
	// Score is the segment's signed attribution, Share its share of the total magnitude (0..1).
	Score, Share float64
	// Effect is the segment-ablation effect on the metric when known (HasEffect).
	Effect    float64
	HasEffect bool
}

// Figure is what the writers draw.
type Figure struct {
	Title    string // e.g. "bundled:blackmail → first token of <tool_use:email>"
	Subtitle string // model, method and metric
	Tokens   []Token
	Target   int // index into Tokens of the target token, or -1
	Segments []Segment
	// Clip is the |score| that maps to full colour; 0 means the 99th percentile of |score|.
	Clip float64
	// ScoreMeaning says what red and blue mean in the legend; empty: "red raises the target, blue
	// lowers it" (attribution). ShareLabel heads the segments' bar column; empty: "share".
	ScoreMeaning, ShareLabel string
	// ScoreLabel and EffectLabel are the axis labels, with units, of the segment scores and the
	// deletion effects in the bar chart (empty: generic ones).
	ScoreLabel, EffectLabel string
}

// clip returns the colour scale's full-intensity |score|.
func (f *Figure) clip() float64 {
	if f.Clip > 0 {
		return f.Clip
	}
	abs := make([]float64, 0, len(f.Tokens))
	for _, t := range f.Tokens {
		if a := math.Abs(t.Score); a > 0 && !math.IsInf(a, 0) && !math.IsNaN(a) {
			abs = append(abs, a)
		}
	}
	if len(abs) == 0 {
		return 1
	}
	slices.Sort(abs)
	return abs[min(len(abs)-1, int(0.99*float64(len(abs))))]
}
