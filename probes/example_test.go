package probes_test

import (
	"fmt"

	"github.com/agentlens/agentlens/probes"
)

// ExampleTrain fits a difference-of-means probe to four two-feature activations where the first
// feature carries the label, and scores a new vector.
func ExampleTrain() {
	e := probes.Examples{
		X: [][]float32{{2, 0.1}, {1.8, -0.1}, {-2, 0.1}, {-1.8, -0.1}},
		Y: []bool{true, true, false, false},
	}
	p, err := probes.Train(e, probes.Options{Method: probes.DiffMean})
	if err != nil {
		panic(err)
	}
	s, _ := p.Score([]float32{1.5, 0})
	d := p.Direction()
	fmt.Printf("direction [%.2f %.2f], score %.2f > 0: %v\n", d[0], d[1], s, s > 0)
	// Output: direction [1.00 0.00], score 5.70 > 0: true
}
