package probes

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// ROC returns the receiver operating characteristic of scores for labels y: the false- and
// true-positive rates of "score ≥ t" as the threshold t falls through every distinct score, from (0, 0)
// (nothing flagged) to (1, 1) (everything flagged). Tied scores enter together, so the curve's
// trapezoid area is AUROC's value with ties counting one half.
func ROC(scores []float64, y []bool) (fpr, tpr []float64, err error) {
	if len(scores) != len(y) {
		return nil, nil, fmt.Errorf("%w: %d scores for %d labels", ErrInput, len(scores), len(y))
	}
	pos, neg := counts(y)
	if pos == 0 || neg == 0 {
		return nil, nil, fmt.Errorf("%w: a ROC curve needs both classes (%d positive, %d negative)", ErrOneClass, pos, neg)
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
		if math.IsNaN(scores[i]) {
			return nil, nil, fmt.Errorf("%w: score %d is NaN", ErrInput, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) }) // high to low
	fpr, tpr = []float64{0}, []float64{0}
	tp, fp := 0, 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if y[idx[j]] {
				tp++
			} else {
				fp++
			}
			j++
		}
		fpr, tpr = append(fpr, float64(fp)/float64(neg)), append(tpr, float64(tp)/float64(pos))
		i = j
	}
	return fpr, tpr, nil
}
