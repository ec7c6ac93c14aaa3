package probes

import (
	"fmt"
	"hash/fnv"
	"sort"
)

// GroupFolds assigns every example to one of k folds so that no group is split across folds: the
// groups (every example its own group when group is nil) are ordered by a hash of (seed, group id) and
// dealt round-robin, so folds differ in size by at most one group and the assignment is deterministic.
func GroupFolds(n int, group []string, k int, seed uint64) ([]int, error) {
	if k < 2 {
		return nil, fmt.Errorf("%w: %d folds (want at least 2)", ErrInput, k)
	}
	ids := make([]string, n)
	for i := range ids {
		if group != nil {
			ids[i] = group[i]
		} else {
			ids[i] = fmt.Sprint(i)
		}
	}
	uniq := map[string]uint64{}
	for _, g := range ids {
		if _, ok := uniq[g]; !ok {
			h := fnv.New64a()
			fmt.Fprintf(h, "%d\x00%s", seed, g)
			uniq[g] = h.Sum64()
		}
	}
	if len(uniq) < k {
		return nil, fmt.Errorf("%w: %d groups for %d folds", ErrInput, len(uniq), k)
	}
	order := make([]string, 0, len(uniq))
	for g := range uniq {
		order = append(order, g)
	}
	sort.Slice(order, func(a, b int) bool {
		if uniq[order[a]] != uniq[order[b]] {
			return uniq[order[a]] < uniq[order[b]]
		}
		return order[a] < order[b]
	})
	foldOf := make(map[string]int, len(order))
	for i, g := range order {
		foldOf[g] = i % k
	}
	folds := make([]int, n)
	for i, g := range ids {
		folds[i] = foldOf[g]
	}
	return folds, nil
}

// CVResult is a cross-validated evaluation: every example scored by the probe trained on the folds
// that do not hold its group.
type CVResult struct {
	Scores   []float64 // out-of-fold score of each example
	AUROC    Interval  // on the pooled out-of-fold scores, with a bootstrap interval
	Accuracy float64   // at score > 0 (each fold's own decision boundary)
	// Threshold flags 1% of the negatives' out-of-fold scores (ThresholdAtFPR); RecallAt1FPR is the
	// fraction of positives above it, FPR the fraction of negatives (1% or less with ties).
	Threshold    float64
	RecallAt1FPR float64
	FPR          float64
}

// CVOptions configures CrossValidate.
type CVOptions struct {
	Folds     int    // default 5
	Seed      uint64 // fold assignment and bootstrap
	Bootstrap int    // bootstrap resamples for the 95% AUROC interval (default 1000)
}

// CrossValidate trains a probe on k−1 folds and scores the held-out fold, for each fold (grouped:
// twins stay together), and evaluates the pooled out-of-fold scores.
func CrossValidate(e Examples, train Options, cv CVOptions) (CVResult, error) {
	if cv.Folds == 0 {
		cv.Folds = 5
	}
	if cv.Bootstrap == 0 {
		cv.Bootstrap = 1000
	}
	if err := e.Validate(); err != nil {
		return CVResult{}, err
	}
	folds, err := GroupFolds(e.Len(), e.Group, cv.Folds, cv.Seed)
	if err != nil {
		return CVResult{}, err
	}
	res := CVResult{Scores: make([]float64, e.Len())}
	for f := range cv.Folds {
		var tr, te []int
		for i, fi := range folds {
			if fi == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		p, err := Train(e.subset(tr), train)
		if err != nil {
			return CVResult{}, fmt.Errorf("fold %d: %w", f, err)
		}
		for _, i := range te {
			if res.Scores[i], err = p.Score(e.X[i]); err != nil {
				return CVResult{}, fmt.Errorf("fold %d: example %d: %w", f, i, err)
			}
		}
	}
	var neg []float64
	for i, s := range res.Scores {
		if !e.Y[i] {
			neg = append(neg, s)
		}
	}
	if res.Threshold, err = ThresholdAtFPR(neg, 0.01); err != nil {
		return CVResult{}, err
	}
	ev, err := evalScores(res.Scores, e.Y, res.Threshold, cv.Bootstrap, cv.Seed)
	if err != nil {
		return CVResult{}, err
	}
	res.AUROC, res.Accuracy, res.RecallAt1FPR, res.FPR = ev.AUROC, ev.Accuracy, ev.Recall, ev.FPR
	return res, nil
}

// Eval is a probe's performance on a set of examples.
type Eval struct {
	Examples, Positives int
	AUROC               Interval // with a bootstrap interval
	Accuracy            float64  // at score > 0 (the probe's own decision boundary)
	Recall              float64  // positives above the threshold
	FPR                 float64  // negatives above the threshold
}

// Evaluate scores the examples with p and measures AUROC (with a bootstrap interval of rounds
// resamples at level 0.95), accuracy at score > 0, and recall and false-positive rate at threshold.
func Evaluate(p *Probe, e Examples, threshold float64, rounds int, seed uint64) (Eval, error) {
	if err := e.Validate(); err != nil {
		return Eval{}, err
	}
	s, err := p.ScoreAll(e.X)
	if err != nil {
		return Eval{}, err
	}
	return evalScores(s, e.Y, threshold, rounds, seed)
}

func evalScores(s []float64, y []bool, threshold float64, rounds int, seed uint64) (Eval, error) {
	auc, err := BootstrapAUROC(s, y, rounds, 0.95, seed)
	if err != nil {
		return Eval{}, err
	}
	var pos, neg []float64
	for i, v := range s {
		if y[i] {
			pos = append(pos, v)
		} else {
			neg = append(neg, v)
		}
	}
	return Eval{Examples: len(s), Positives: len(pos), AUROC: auc, Accuracy: Accuracy(s, y, 0),
		Recall: FlaggedFraction(pos, threshold), FPR: FlaggedFraction(neg, threshold)}, nil
}
