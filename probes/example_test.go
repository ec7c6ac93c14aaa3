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

// ExampleROC computes the ROC curve of five scores: each step lowers the threshold past one distinct
// score, and the tied pair enters together.
func ExampleROC() {
	scores := []float64{0.9, 0.7, 0.7, 0.4, 0.1}
	labels := []bool{true, true, false, true, false}
	fpr, tpr, err := probes.ROC(scores, labels)
	if err != nil {
		panic(err)
	}
	for i := range fpr {
		fmt.Printf("(%.2f, %.2f) ", fpr[i], tpr[i])
	}
	fmt.Println()
	// Output: (0.00, 0.00) (0.00, 0.33) (0.50, 0.67) (0.50, 1.00) (1.00, 1.00)
}
