package heatmap

import "math"

// Curves is a line chart for papers: one or more series of (x, y) points with an optional interval
// band each, such as a probe's AUROC by layer with its bootstrap interval.
type Curves struct {
	Title, Subtitle string
	XLabel, YLabel  string
	YMin, YMax      float64 // y range; both 0: from the data
	Series          []Series
	// Reference draws a dashed horizontal line at this y (e.g. chance, 0.5) when RefLabel is set.
	Reference float64
	RefLabel  string
	// Diagonal draws the dashed line y = x and gives both axes the same range (a scatter of an estimate
	// against the quantity it estimates).
	Diagonal bool
}

// Series is one line of a Curves chart.
type Series struct {
	Name   string
	Points []Point
	// Color picks the series' colour from the palette, 1-based, so related series can share one (0: by
	// the series' position); Dash is a dash pattern in points ("" solid, "6 3" dashed, "2 2" dotted).
	Color int
	Dash  string
	// Scatter draws the points as markers only: no line, no band.
	Scatter bool
}

// Point is one x with its y and interval [Lo, Hi] (Lo = Hi = Y for none).
type Point struct {
	X, Y, Lo, Hi float64
}

// integral reports whether every x of every series is an integer.
func integral(series []Series) bool {
	for _, s := range series {
		for _, p := range s.Points {
			if p.X != math.Trunc(p.X) {
				return false
			}
		}
	}
	return true
}
