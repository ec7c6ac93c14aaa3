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
	// RecallAt1FPR is the fraction of positives above the threshold that flags 1% of the negatives
	// (ThresholdAtFPR on the out-of-fold negative scores).
	RecallAt1FPR float64
}

// CVOptions configures CrossValidate.
type CVOptions struct {
	Folds     int     // default 5
	Seed      uint64  // fold assignment and bootstrap
	Bootstrap int     // bootstrap resamples for the AUROC interval (default 1000)
	Level     float64 // interval level (default 0.95)
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
	if cv.Level == 0 {
		cv.Level = 0.95
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
	if res.AUROC, err = BootstrapAUROC(res.Scores, e.Y, cv.Bootstrap, cv.Level, cv.Seed); err != nil {
		return CVResult{}, err
	}
	res.Accuracy = Accuracy(res.Scores, e.Y, 0)
	var pos, neg []float64
	for i, s := range res.Scores {
		if e.Y[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	t, err := ThresholdAtFPR(neg, 0.01)
	if err != nil {
		return CVResult{}, err
	}
	res.RecallAt1FPR = FlaggedFraction(pos, t)
	return res, nil
}
