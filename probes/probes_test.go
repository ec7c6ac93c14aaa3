package probes

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// planted returns n examples in d dimensions: standard normal noise plus ±δ/2 along a random unit
// direction u for positives and negatives, alternating labels, consecutive examples (2i, 2i+1) sharing
// a group; twins also share a context vector orthogonal to u (std 2, four times the noise; PairPCA's
// differences remove it).
func planted(n, d int, delta float64, seed uint64) (Examples, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	u := make([]float64, d)
	norm := 0.0
	for j := range u {
		u[j] = r.NormFloat64()
		norm += u[j] * u[j]
	}
	for j := range u {
		u[j] /= math.Sqrt(norm)
	}
	e := Examples{X: make([][]float32, n), Y: make([]bool, n), Group: make([]string, n)}
	var ctx []float64
	for i := range n {
		if i%2 == 0 {
			ctx = make([]float64, d)
			cu := 0.0
			for j := range ctx {
				ctx[j] = 2 * r.NormFloat64()
				cu += ctx[j] * u[j]
			}
			for j := range ctx { // the context varies in every direction but the label's
				ctx[j] -= cu * u[j]
			}
		}
		y := i%2 == 0
		sign := -0.5
		if y {
			sign = 0.5
		}
		row := make([]float32, d)
		for j := range row {
			row[j] = float32(ctx[j] + 0.5*r.NormFloat64() + sign*delta*u[j])
		}
		e.X[i], e.Y[i], e.Group[i] = row, y, "pair"+strconv.Itoa(i/2)
	}
	return e, u
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestPlantedDirection trains each method on Gaussian data with a planted direction and checks the
// probe's raw-space direction against it: cosine ≥ 0.99 (the estimation error at n=2,000, d=32 is
// about sqrt(d/n)/δ ≈ 0.1 of the signal per axis, well inside that), and the in-sample AUROC is high.
func TestPlantedDirection(t *testing.T) {
	e, u := planted(2000, 32, 1.5, 7)
	for _, m := range []Method{Logistic, DiffMean, PairPCA} {
		t.Run(string(m), func(t *testing.T) {
			p, err := Train(e, Options{Method: m})
			if err != nil {
				t.Fatal(err)
			}
			if c := cosine(p.Direction(), u); c < 0.99 {
				t.Errorf("cosine(direction, planted) = %.4f, want ≥ 0.99", c)
			}
			s, err := p.ScoreAll(e.X)
			if err != nil {
				t.Fatal(err)
			}
			auc, _ := AUROC(s, e.Y)
			if auc < 0.9 {
				t.Errorf("in-sample AUROC = %.3f, want ≥ 0.9", auc)
			}
		})
	}
}

// TestInvariance: shifting features changes no score of any method; rescaling them changes no
// logistic score (it works in standardised coordinates), up to float32 rounding of the new inputs.
// The raw-space methods (DiffMean, PairPCA) are not scale-invariant by design.
func TestInvariance(t *testing.T) {
	e, _ := planted(400, 8, 1, 3)
	transform := func(scale bool) Examples {
		out := Examples{Y: e.Y, Group: e.Group, X: make([][]float32, e.Len())}
		for i, row := range e.X {
			out.X[i] = make([]float32, len(row))
			for j, v := range row {
				if scale {
					v *= float32(j+1) * 10
				}
				out.X[i][j] = v + float32(j)
			}
		}
		return out
	}
	shifted, scaled := transform(false), transform(true)
	for _, tc := range []struct {
		m Method
		x Examples
	}{{Logistic, scaled}, {Logistic, shifted}, {DiffMean, shifted}, {PairPCA, shifted}} {
		m := tc.m
		p1, err1 := Train(e, Options{Method: m})
		p2, err2 := Train(tc.x, Options{Method: m})
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		for i := range e.X {
			s1, _ := p1.Score(e.X[i])
			s2, _ := p2.Score(tc.x.X[i])
			if math.Abs(s1-s2) > 1e-4*(1+math.Abs(s1)) {
				t.Fatalf("%s: example %d scores %v, rescaled %v", m, i, s1, s2)
			}
		}
	}
}

// TestLogisticMatchesOptimality checks the logistic solution against its own optimality condition:
// the gradient of Σ log-loss + |w|²/(2C) is zero (to 1e-6 of n), with the bias unpenalised.
func TestLogisticMatchesOptimality(t *testing.T) {
	e, _ := planted(600, 6, 0.8, 11)
	p, err := Train(e, Options{C: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	z := standardise(e.X, p.Mean, p.Scale)
	grad := make([]float64, len(p.Weights))
	gb := 0.0
	for i, y := range e.Y {
		s := dot(p.Weights, z.RawRowView(i)) + p.Bias
		pr := 1 / (1 + math.Exp(-s))
		tgt := 0.0
		if y {
			tgt = 1
		}
		for j, v := range z.RawRowView(i) {
			grad[j] += (pr - tgt) * v
		}
		gb += pr - tgt
	}
	for j := range grad {
		grad[j] += p.Weights[j] / 0.5
		if math.Abs(grad[j]) > 1e-6*float64(e.Len()) {
			t.Errorf("∂/∂w[%d] = %g at the solution, want 0", j, grad[j])
		}
	}
	if math.Abs(gb) > 1e-6*float64(e.Len()) {
		t.Errorf("∂/∂b = %g at the solution, want 0", gb)
	}
}

// TestAUROCAgainstPairCounting compares AUROC with the direct count over all positive–negative pairs
// (ties ½), on integer scores with many ties.
func TestAUROCAgainstPairCounting(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for trial := range 20 {
		n := 5 + trial*7
		s, y := make([]float64, n), make([]bool, n)
		for i := range s {
			y[i] = r.IntN(3) == 0 || i == 0
			s[i] = float64(r.IntN(6))
			if y[i] {
				s[i] += float64(r.IntN(2))
			}
		}
		y[1] = false
		var num, den float64
		for i := range s {
			for j := range s {
				if y[i] && !y[j] {
					den++
					switch {
					case s[i] > s[j]:
						num++
					case s[i] == s[j]:
						num += 0.5
					}
				}
			}
		}
		got, err := AUROC(s, y)
		if err != nil {
			t.Fatal(err)
		}
		if want := num / den; math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: AUROC = %v, want %v (pair counting)", trial, got, want)
		}
	}
}

// TestRecallAtFPRExactOnTies: the threshold never flags more than ⌊fpr·n⌋ negatives, ties included,
// and the recall counts positives strictly above it.
func TestRecallAtFPRExactOnTies(t *testing.T) {
	neg := make([]float64, 200)
	for i := 190; i < 200; i++ {
		neg[i] = 1 // ten negatives tied at 1, the rest at 0
	}
	cases := []struct {
		name       string
		neg        []float64
		fpr        float64
		pos        []float64
		wantT      float64
		wantFlag   float64
		wantRecall float64
	}{
		// ⌊0.01·200⌋ = 2: the 3rd highest negative is 1, so nothing at 1 is flagged (FPR 0, not 5%).
		{"ties_at_threshold", neg, 0.01, []float64{1, 1, 2, 3}, 1, 0, 0.5},
		// ⌊0.05·200⌋ = 10: the 11th highest is 0; the ten at 1 are flagged, exactly 5%.
		{"ties_below", neg, 0.05, []float64{0, 0.5, 1, 2}, 0, 0.05, 0.75},
		{"distinct", []float64{5, 4, 3, 2, 1, 0, -1, -2, -3, -4}, 0.2, []float64{3.5, 4, 10}, 3, 0.2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := ThresholdAtFPR(tc.neg, tc.fpr)
			if err != nil {
				t.Fatal(err)
			}
			if th != tc.wantT {
				t.Errorf("ThresholdAtFPR = %v, want %v", th, tc.wantT)
			}
			if got := FlaggedFraction(tc.neg, th); got != tc.wantFlag {
				t.Errorf("false-positive rate = %v, want %v", got, tc.wantFlag)
			}
			if got := FlaggedFraction(tc.pos, th); got != tc.wantRecall {
				t.Errorf("recall = %v, want %v", got, tc.wantRecall)
			}
		})
	}
}

// TestPlattRecoversLogisticModel draws labels from p = σ(2s − 1) and fits them back.
func TestPlattRecoversLogisticModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	n := 20000
	s, y := make([]float64, n), make([]bool, n)
	for i := range s {
		s[i] = 3 * r.NormFloat64()
		y[i] = r.Float64() < 1/(1+math.Exp(-(2*s[i]-1)))
	}
	a, b, err := Platt(s, y)
	if err != nil {
		t.Fatal(err)
	}
	// Standard errors at n = 20,000 are about 0.04 for a and 0.03 for b.
	if math.Abs(a-2) > 0.15 || math.Abs(b+1) > 0.12 {
		t.Errorf("Platt = (%.3f, %.3f), want about (2, −1)", a, b)
	}
}

func TestGroupFolds(t *testing.T) {
	e, _ := planted(101, 2, 1, 1)
	folds, err := GroupFolds(e.Len(), e.Group, 5, 42)
	if err != nil {
		t.Fatal(err)
	}
	foldOf := map[string]int{}
	size := make([]int, 5)
	for i, f := range folds {
		if g, ok := foldOf[e.Group[i]]; ok && g != f {
			t.Fatalf("group %s split across folds %d and %d", e.Group[i], g, f)
		}
		foldOf[e.Group[i]] = f
		size[f]++
	}
	for f, n := range size {
		if n < 18 || n > 22 {
			t.Errorf("fold %d has %d examples, want about 101/5 (groups of 2 dealt round-robin)", f, n)
		}
	}
	again, _ := GroupFolds(e.Len(), e.Group, 5, 42)
	for i := range folds {
		if folds[i] != again[i] {
			t.Fatal("GroupFolds is not deterministic")
		}
	}
}

// TestCrossValidate on planted data: held-out AUROC high with an interval around it, and recall at 1%
// FPR consistent with the scores.
func TestCrossValidate(t *testing.T) {
	e, _ := planted(1000, 16, 2, 21)
	res, err := CrossValidate(e, Options{}, CVOptions{Seed: 1, Bootstrap: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.AUROC.Value < 0.95 || !(res.AUROC.Lo <= res.AUROC.Value && res.AUROC.Value <= res.AUROC.Hi) {
		t.Errorf("AUROC = %+v, want ≥ 0.95 inside its interval", res.AUROC)
	}
	if res.RecallAt1FPR <= 0 || res.RecallAt1FPR > 1 || res.FPR > 0.01 {
		t.Errorf("recall@1%%FPR = %v at FPR %v", res.RecallAt1FPR, res.FPR)
	}
	var neg []float64
	for i, s := range res.Scores {
		if !e.Y[i] {
			neg = append(neg, s)
		}
	}
	if got := FlaggedFraction(neg, res.Threshold); got != res.FPR {
		t.Errorf("FPR = %v, but the threshold flags %v of the out-of-fold negatives", res.FPR, got)
	}
}

func TestBadInput(t *testing.T) {
	good, _ := planted(10, 3, 1, 1)
	nan := good.subset([]int{0, 1, 2, 3})
	nan.X = append([][]float32(nil), nan.X...)
	nan.X[2] = []float32{0, float32(math.NaN()), 1}
	ragged := good.subset([]int{0, 1, 2})
	ragged.X = append([][]float32(nil), ragged.X...)
	ragged.X[1] = []float32{1, 2}
	one := good.subset([]int{0, 2, 4})
	cases := []struct {
		name    string
		e       Examples
		opts    Options
		wantErr error
		wantMsg string
	}{
		{"empty", Examples{}, Options{}, ErrInput, "no examples"},
		{"nan", nan, Options{}, ErrInput, "example 2 feature 1 is NaN"},
		{"ragged", ragged, Options{}, ErrInput, "example 1 has 2 features, example 0 has 3"},
		{"labels", Examples{X: good.X, Y: good.Y[:3]}, Options{}, ErrInput, "3 labels for 10 examples"},
		{"one_class", one, Options{}, ErrOneClass, "3 positive and 0 negative"},
		{"pairs_without_groups", Examples{X: good.X, Y: good.Y}, Options{Method: PairPCA}, ErrInput, "needs group ids"},
		{"unknown_method", good, Options{Method: "svm"}, ErrInput, `unknown method "svm"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(tc.e, tc.opts)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Train error = %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
	p, _ := Train(good, Options{})
	if _, err := p.Score([]float32{1, 2}); !errors.Is(err, ErrInput) {
		t.Errorf("Score of a 2-vector on a 3-feature probe: error = %v, want ErrInput", err)
	}
}
