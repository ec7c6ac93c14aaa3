package probes

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Method is how a probe's direction is found.
type Method string

// The training methods.
const (
	// Logistic is L2-regularised logistic regression on standardised inputs, solved by L-BFGS from
	// zero (deterministic): it minimises Σ log(1+e^(−s·(w·z+b))) + |w|²/(2C), as scikit-learn's
	// LogisticRegression(C) does (the bias is not penalised).
	Logistic Method = "logistic"
	// DiffMean is the difference of the class means in raw activation space (positive minus
	// negative; the "mass-mean" direction), with the bias at the midpoint of the two means.
	DiffMean Method = "diff_mean"
	// PairPCA is the first principal direction of twin differences in raw activation space (LAT): for
	// every group holding one positive and one negative example, x_pos − x_neg; the top right singular
	// vector of those rows (uncentred, so a consistent shift counts), signed so positives score higher,
	// bias at the midpoint of the class means.
	PairPCA Method = "pair_pca"
)

// Options configures Train. The zero value trains a logistic probe with C = 1.
type Options struct {
	Method Method  // default Logistic
	C      float64 // Logistic: inverse L2 strength, as in scikit-learn (default 1)
	// MaxIter bounds the L-BFGS iterations (default 1000).
	MaxIter int
}

func (o Options) withDefaults() Options {
	if o.Method == "" {
		o.Method = Logistic
	}
	if o.C <= 0 {
		o.C = 1
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 1000
	}
	return o
}

// Probe is a trained linear probe: score(x) = Weights·((x − Mean)/Scale) + Bias, positive meaning the
// positive class (for Logistic, the log-odds).
type Probe struct {
	Method  Method
	C       float64   // Logistic's C (0 for the other methods)
	Mean    []float64 // per-feature mean of the training examples
	Scale   []float64 // per-feature standard deviation (1 for a constant feature)
	Weights []float64 // the direction in standardised coordinates
	Bias    float64
	// Iterations is the number of solver iterations Logistic took (0 for the other methods).
	Iterations int
}

// Dim returns the number of features the probe takes.
func (p *Probe) Dim() int { return len(p.Weights) }

// Score returns the probe's score of one activation vector.
func (p *Probe) Score(x []float32) (float64, error) {
	if len(x) != len(p.Weights) {
		return 0, fmt.Errorf("%w: vector of %d features, probe takes %d", ErrInput, len(x), len(p.Weights))
	}
	s := p.Bias
	for j, v := range x {
		s += p.Weights[j] * (float64(v) - p.Mean[j]) / p.Scale[j]
	}
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0, fmt.Errorf("%w: score is %v (non-finite input)", ErrInput, s)
	}
	return s, nil
}

// ScoreAll scores every row of x.
func (p *Probe) ScoreAll(x [][]float32) ([]float64, error) {
	out := make([]float64, len(x))
	for i, row := range x {
		s, err := p.Score(row)
		if err != nil {
			return nil, fmt.Errorf("example %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}

// Direction returns the probe's unit direction in raw activation space (Weights/Scale, normalised):
// the vector to project out or add when testing the probe causally.
func (p *Probe) Direction() []float64 {
	d := make([]float64, len(p.Weights))
	var n float64
	for j, w := range p.Weights {
		d[j] = w / p.Scale[j]
		n += d[j] * d[j]
	}
	n = math.Sqrt(n)
	if n > 0 {
		for j := range d {
			d[j] /= n
		}
	}
	return d
}

// Train fits a probe to the examples.
func Train(e Examples, opts Options) (*Probe, error) {
	opts = opts.withDefaults()
	if err := e.Validate(); err != nil {
		return nil, err
	}
	pos, neg := counts(e.Y)
	if pos == 0 || neg == 0 {
		return nil, fmt.Errorf("%w: %d positive and %d negative examples", ErrOneClass, pos, neg)
	}
	mean, scale := standardisation(e.X)
	z := standardise(e.X, mean, scale)
	p := &Probe{Method: opts.Method, Mean: mean, Scale: scale}
	switch opts.Method {
	case Logistic:
		p.C = opts.C
		w, b, it, err := logistic(z, e.Y, opts.C, opts.MaxIter)
		if err != nil {
			return nil, err
		}
		p.Weights, p.Bias, p.Iterations = w, b, it
	case DiffMean, PairPCA:
		// Raw-space directions, written in standardised coordinates (w_j·scale_j) so that Score and
		// Direction treat every method alike. The raw activations are z·scale + mean; only centring
		// matters for the direction, so the standardised matrix times the scale serves.
		mp, mn := classMeans(z, e.Y)
		for j := range mp {
			mp[j] *= scale[j]
			mn[j] *= scale[j]
		}
		var raw []float64
		if opts.Method == DiffMean {
			raw = make([]float64, len(mp))
			for j := range mp {
				raw[j] = mp[j] - mn[j]
			}
		} else {
			centred := mat.DenseCopyOf(z)
			for i := range e.Len() {
				row := centred.RawRowView(i)
				for j := range row {
					row[j] *= scale[j]
				}
			}
			var err error
			if raw, err = pairDirection(centred, e.Y, e.Group); err != nil {
				return nil, err
			}
		}
		p.Bias = midpointBias(raw, mp, mn)
		p.Weights = make([]float64, len(raw))
		for j := range raw {
			p.Weights[j] = raw[j] * scale[j]
		}
	default:
		return nil, fmt.Errorf("%w: unknown method %q (want %s, %s or %s)", ErrInput, opts.Method, Logistic, DiffMean, PairPCA)
	}
	return p, nil
}

// standardisation returns each feature's mean and standard deviation (population), with 1 for a
// feature that is constant to within 1e-12 of its size.
func standardisation(x [][]float32) (mean, scale []float64) {
	n, d := len(x), len(x[0])
	mean, scale = make([]float64, d), make([]float64, d)
	for _, row := range x {
		for j, v := range row {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for _, row := range x {
		for j, v := range row {
			dv := float64(v) - mean[j]
			scale[j] += dv * dv
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j] / float64(n))
		if scale[j] <= 1e-12*(1+math.Abs(mean[j])) {
			scale[j] = 1
		}
	}
	return mean, scale
}

// standardise returns (x − mean)/scale as an [n, d] matrix.
func standardise(x [][]float32, mean, scale []float64) *mat.Dense {
	n, d := len(x), len(mean)
	z := mat.NewDense(n, d, nil)
	for i, row := range x {
		zr := z.RawRowView(i)
		for j, v := range row {
			zr[j] = (float64(v) - mean[j]) / scale[j]
		}
	}
	return z
}

func classMeans(z *mat.Dense, y []bool) (mp, mn []float64) {
	_, d := z.Dims()
	mp, mn = make([]float64, d), make([]float64, d)
	np, nn := 0.0, 0.0
	for i, lab := range y {
		m := mn
		if lab {
			m, np = mp, np+1
		} else {
			nn++
		}
		for j, v := range z.RawRowView(i) {
			m[j] += v
		}
	}
	for j := range mp {
		mp[j] /= np
		mn[j] /= nn
	}
	return mp, mn
}

// midpointBias puts the decision boundary halfway between the class means along w.
func midpointBias(w, mp, mn []float64) float64 {
	return -(dot(w, mp) + dot(w, mn)) / 2
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// pairDirection is PairPCA's direction: the top right singular vector of the twin differences.
func pairDirection(z *mat.Dense, y []bool, group []string) ([]float64, error) {
	if group == nil {
		return nil, fmt.Errorf("%w: %s needs group ids pairing each positive with a negative twin", ErrInput, PairPCA)
	}
	type pair struct{ pos, neg []int }
	byGroup := map[string]*pair{}
	for i, g := range group {
		p := byGroup[g]
		if p == nil {
			p = &pair{}
			byGroup[g] = p
		}
		if y[i] {
			p.pos = append(p.pos, i)
		} else {
			p.neg = append(p.neg, i)
		}
	}
	keys := make([]string, 0, len(byGroup))
	for g, p := range byGroup {
		if len(p.pos) == 1 && len(p.neg) == 1 {
			keys = append(keys, g)
		}
	}
	if len(keys) < 2 {
		return nil, fmt.Errorf("%w: %s needs at least 2 twin pairs (groups with one positive and one negative), found %d",
			ErrInput, PairPCA, len(keys))
	}
	sort.Strings(keys)
	_, d := z.Dims()
	diffs := mat.NewDense(len(keys), d, nil)
	for r, g := range keys {
		p := byGroup[g]
		zp, zn, dr := z.RawRowView(p.pos[0]), z.RawRowView(p.neg[0]), diffs.RawRowView(r)
		for j := range dr {
			dr[j] = zp[j] - zn[j]
		}
	}
	var svd mat.SVD
	if !svd.Factorize(diffs, mat.SVDThin) {
		return nil, fmt.Errorf("%w: SVD of the twin differences did not converge", ErrInput)
	}
	var v mat.Dense
	svd.VTo(&v)
	w := make([]float64, d)
	for j := range w {
		w[j] = v.At(j, 0)
	}
	// Sign: positives above their twins on average.
	s := 0.0
	for r := range keys {
		s += dot(w, diffs.RawRowView(r))
	}
	if s < 0 {
		for j := range w {
			w[j] = -w[j]
		}
	}
	return w, nil
}

// logistic minimises Σ softplus(−s_i(w·z_i+b)) + |w|²/(2C) with L-BFGS from w = 0, b = 0.
func logistic(z *mat.Dense, y []bool, c float64, maxIter int) (w []float64, b float64, iters int, err error) {
	n, d := z.Dims()
	sign := make([]float64, n)
	for i, lab := range y {
		sign[i] = -1
		if lab {
			sign[i] = 1
		}
	}
	margin := mat.NewVecDense(n, nil)
	coef := mat.NewVecDense(n, nil)
	gw := mat.NewVecDense(d, nil)
	// The objective is divided by n (the minimiser is the same) to keep the gradient tolerance
	// independent of the number of examples.
	// L-BFGS asks for the value and the gradient at the same point one after the other: keep the
	// margins z·w of the last point instead of computing them twice.
	last := make([]float64, d+1)
	haveLast := false
	eval := func(x []float64, grad []float64) float64 {
		bias := x[d]
		if !haveLast || !slices.Equal(last[:d], x[:d]) {
			margin.MulVec(z, mat.NewVecDense(d, x[:d]))
			copy(last, x)
			haveLast = true
		}
		f, gb := 0.0, 0.0
		for i := range n {
			m := sign[i] * (margin.AtVec(i) + bias)
			// softplus(−m) and its derivative −σ(−m), computed without overflow.
			if m > 0 {
				e := math.Exp(-m)
				f += math.Log1p(e)
				coef.SetVec(i, -sign[i]*e/(1+e))
			} else {
				e := math.Exp(m)
				f += -m + math.Log1p(e)
				coef.SetVec(i, -sign[i]/(1+e))
			}
			gb += coef.AtVec(i)
		}
		reg := 0.0
		for _, v := range x[:d] {
			reg += v * v
		}
		f = f/float64(n) + reg/(2*c*float64(n))
		if grad != nil {
			gw.MulVec(z.T(), coef)
			for j := range d {
				grad[j] = gw.AtVec(j)/float64(n) + x[j]/(c*float64(n))
			}
			grad[d] = gb / float64(n)
		}
		return f
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 { return eval(x, nil) },
		Grad: func(grad, x []float64) { eval(x, grad) },
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-7,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 20},
	}
	res, err := optimize.Minimize(problem, make([]float64, d+1), settings, &optimize.LBFGS{Store: 20})
	if err != nil && res == nil {
		return nil, 0, 0, fmt.Errorf("probes: logistic regression: %w", err)
	}
	// Hitting the iteration bound still leaves a usable probe; the count is reported.
	return append([]float64(nil), res.X[:d]...), res.X[d], res.Stats.MajorIterations, nil
}
