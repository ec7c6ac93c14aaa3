package probes

import (
	"fmt"
	"math"
)

// Examples is a labeled activation matrix: X is [n_examples, d_model] (one row per example, e.g. one
// episode's residual stream at the last token before its action), Y the labels (true = positive, e.g.
// misaligned), Group an optional group id per example (twin pairs share one, so cross-validation never
// splits a pair across folds; empty: every example is its own group).
type Examples struct {
	X     [][]float32
	Y     []bool
	Group []string
}

// Len returns the number of examples.
func (e Examples) Len() int { return len(e.X) }

// Dim returns the number of features (0 for no examples).
func (e Examples) Dim() int {
	if len(e.X) == 0 {
		return 0
	}
	return len(e.X[0])
}

// Validate checks that e can be trained on: rows, equal lengths, finite values, one label (and at
// most one group) per row.
func (e Examples) Validate() error {
	if len(e.X) == 0 {
		return fmt.Errorf("%w: no examples", ErrInput)
	}
	if len(e.Y) != len(e.X) {
		return fmt.Errorf("%w: %d labels for %d examples", ErrInput, len(e.Y), len(e.X))
	}
	if e.Group != nil && len(e.Group) != len(e.X) {
		return fmt.Errorf("%w: %d group ids for %d examples", ErrInput, len(e.Group), len(e.X))
	}
	d := len(e.X[0])
	if d == 0 {
		return fmt.Errorf("%w: example 0 has no features", ErrInput)
	}
	for i, row := range e.X {
		if len(row) != d {
			return fmt.Errorf("%w: example %d has %d features, example 0 has %d", ErrInput, i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: example %d feature %d is %v", ErrInput, i, j, v)
			}
		}
	}
	return nil
}

// counts returns the numbers of positive and negative labels.
func counts(y []bool) (pos, neg int) {
	for _, v := range y {
		if v {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg
}

// subset returns the examples at the indices.
func (e Examples) subset(idx []int) Examples {
	s := Examples{X: make([][]float32, len(idx)), Y: make([]bool, len(idx))}
	if e.Group != nil {
		s.Group = make([]string, len(idx))
	}
	for k, i := range idx {
		s.X[k], s.Y[k] = e.X[i], e.Y[i]
		if e.Group != nil {
			s.Group[k] = e.Group[i]
		}
	}
	return s
}
