package probes

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// AUROC returns the area under the ROC curve of scores for labels y: the probability that a random
// positive scores above a random negative, ties counting one half (the Mann–Whitney U statistic over
// n_pos·n_neg, from average ranks).
func AUROC(scores []float64, y []bool) (float64, error) {
	if len(scores) != len(y) {
		return 0, fmt.Errorf("%w: %d scores for %d labels", ErrInput, len(scores), len(y))
	}
	pos, neg := counts(y)
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("%w: AUROC needs both classes (%d positive, %d negative)", ErrOneClass, pos, neg)
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
		if math.IsNaN(scores[i]) {
			return 0, fmt.Errorf("%w: score %d is NaN", ErrInput, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	rankSum := 0.0 // sum of the positives' ranks (1-based, ties averaged)
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1 … j
		for _, k := range idx[i:j] {
			if y[k] {
				rankSum += avg
			}
		}
		i = j
	}
	np, nn := float64(pos), float64(neg)
	return (rankSum - np*(np+1)/2) / (np * nn), nil
}

// ThresholdAtFPR returns the threshold t at which "score > t" flags at most the fraction fpr of the
// negative scores: with the negatives sorted from high to low, t is the one at index ⌊fpr·n⌋, so ties at
// t are never flagged and the false-positive rate is ⌊fpr·n⌋/n or less (exact on ties). fpr is in [0, 1).
func ThresholdAtFPR(negatives []float64, fpr float64) (float64, error) {
	if len(negatives) == 0 {
		return 0, fmt.Errorf("%w: no negative scores to set a threshold on", ErrOneClass)
	}
	if !(fpr >= 0 && fpr < 1) {
		return 0, fmt.Errorf("%w: false-positive rate %v not in [0, 1)", ErrInput, fpr)
	}
	s := append([]float64(nil), negatives...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	return s[int(math.Floor(fpr*float64(len(s))))], nil
}

// FlaggedFraction returns the fraction of scores above t.
func FlaggedFraction(scores []float64, t float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	k := 0
	for _, s := range scores {
		if s > t {
			k++
		}
	}
	return float64(k) / float64(len(scores))
}

// Accuracy returns the fraction of examples whose "score > t" agrees with the label.
func Accuracy(scores []float64, y []bool, t float64) float64 {
	k := 0
	for i, s := range scores {
		if (s > t) == y[i] {
			k++
		}
	}
	return float64(k) / float64(len(scores))
}

// Platt fits p(positive | score) = σ(a·score + b) by maximum likelihood with Platt's smoothed targets
// ((n₊+1)/(n₊+2) and 1/(n₋+2), which keep separable scores finite), by Newton's method.
func Platt(scores []float64, y []bool) (a, b float64, err error) {
	pos, neg := counts(y)
	if pos == 0 || neg == 0 {
		return 0, 0, fmt.Errorf("%w: calibration needs both classes", ErrOneClass)
	}
	hi, lo := (float64(pos)+1)/(float64(pos)+2), 1/(float64(neg)+2)
	for range 100 {
		var g0, g1, h00, h01, h11 float64
		for i, s := range scores {
			t := lo
			if y[i] {
				t = hi
			}
			p := 1 / (1 + math.Exp(-(a*s + b)))
			d := p - t
			w := math.Max(p*(1-p), 1e-12)
			g0 += d * s
			g1 += d
			h00 += w * s * s
			h01 += w * s
			h11 += w
		}
		det := h00*h11 - h01*h01
		if det <= 0 {
			break
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		a, b = a-da, b-db
		if math.Abs(da) < 1e-12*(1+math.Abs(a)) && math.Abs(db) < 1e-12*(1+math.Abs(b)) {
			break
		}
	}
	return a, b, nil
}

// Interval is a point estimate with a bootstrap confidence interval.
type Interval struct {
	Value, Lo, Hi float64
}

// BootstrapAUROC returns the AUROC with a percentile bootstrap interval at the given level (e.g.
// 0.95) from rounds resamples, each drawing the positives and the negatives with replacement
// separately (so every resample has both classes); deterministic for a seed.
func BootstrapAUROC(scores []float64, y []bool, rounds int, level float64, seed uint64) (Interval, error) {
	v, err := AUROC(scores, y)
	if err != nil {
		return Interval{}, err
	}
	var pos, neg []int
	for i, lab := range y {
		if lab {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	stats := make([]float64, rounds)
	s := make([]float64, len(y))
	yy := make([]bool, len(y))
	for k := range stats {
		n := 0
		for _, class := range [][]int{pos, neg} {
			for range class {
				i := class[r.IntN(len(class))]
				s[n], yy[n] = scores[i], y[i]
				n++
			}
		}
		stats[k], _ = AUROC(s, yy)
	}
	lo, hi := percentiles(stats, level)
	return Interval{Value: v, Lo: lo, Hi: hi}, nil
}

// percentiles returns the (1−level)/2 and (1+level)/2 quantiles (nearest rank).
func percentiles(x []float64, level float64) (lo, hi float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(len(s)-1, max(0, i))]
	}
	return q((1 - level) / 2), q((1 + level) / 2)
}
