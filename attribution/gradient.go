package attribution

import (
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
)

// Method names, as written in the method column of the Parquet tables.
const (
	MethodGradXInput = "grad_x_input"
	MethodIG         = "integrated_gradients"
	MethodAblation   = "segment_ablation"
)

// Result is a token-level attribution of one metric.
type Result struct {
	Method string
	Metric model.Metric
	// Value is the metric on the unmodified input.
	Value float64
	// Score[pos] is the signed attribution of input token pos: positive means the token raises the
	// metric. Positions after Metric.Position are zero (the model cannot see them).
	Score []float64
	// Magnitude[pos] is a non-negative size of the same attribution: the L2 norm over d_model of the
	// per-dimension attributions (gradient⊙input for GradientXInput).
	Magnitude []float64
	// Baseline is the metric at the baseline input (IntegratedGradients only) and Delta the
	// completeness gap Σ Score − (Value − Baseline), which goes to zero as Steps grows.
	Baseline, Delta float64
	// Steps is the number of gradient evaluations along the path (IntegratedGradients only).
	Steps int
	// Gaps are the completeness gaps of each quadrature rule tried, the first rule's first
	// (IntegratedGradients only; Delta is the last).
	Gaps []float64
}

// MetricName returns the name of a metric kind as written in the Parquet tables.
func MetricName(k model.MetricKind) string {
	if k == model.LogitDiff {
		return "logit_diff"
	}
	return "log_prob"
}

// GradientXInput attributes a metric to the input tokens by gradient×input on the input embeddings
// (hook_embed): Score[pos] = Σ_d ∂metric/∂x[pos,d] · x[pos,d].
func GradientXInput(m *model.Model, tokens []int, metric model.Metric) (*Result, error) {
	res, err := m.Gradient(tokens, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}})
	if err != nil {
		return nil, fmt.Errorf("gradient×input: %w", err)
	}
	x, g := res.Cache[hook.HookEmbed()], res.Grads[hook.HookEmbed()]
	out := &Result{Method: MethodGradXInput, Metric: metric, Value: res.Value,
		Score: make([]float64, len(tokens)), Magnitude: make([]float64, len(tokens))}
	d := m.Dims().DModel
	for p := range tokens {
		xs, gs := x.Data[p*d:(p+1)*d], g.Data[p*d:(p+1)*d]
		s, sq := 0.0, 0.0
		for j := range xs {
			v := float64(xs[j]) * float64(gs[j])
			s += v
			sq += v * v
		}
		out.Score[p], out.Magnitude[p] = s, math.Sqrt(sq)
	}
	return out, nil
}

// IGOptions configure IntegratedGradients.
type IGOptions struct {
	// Steps is the number of gradient passes of the first quadrature (default 16): the path is cut
	// into Steps/IGPoints equal intervals, each integrated by a Clenshaw–Curtis rule on IGPoints+1
	// points that include its ends (so neighbours share a point, and the input's own gradient pass
	// serves α = 1).
	Steps int
	// Tolerance, if positive, refines the path until the completeness gaps of its intervals add up to
	// at most Tolerance·|metric(input) − metric(baseline)|. An interval's gap is its share of the
	// attribution minus the metric's change across it, both known from its gradient passes (each pass
	// also gives the metric at its point). The interval with the largest gap is halved (its middle
	// point is kept, 2·(IGPoints−1) new passes) until the sum is small enough or MaxSteps would be
	// passed. Real paths need it: on Gemma-3 270M the metric along the straight path from a pad
	// baseline swings by 17 nats within 5% of the path, which no fixed rule of tens of points resolves.
	Tolerance float64
	// MaxSteps bounds the gradient passes (default 8·Steps).
	MaxSteps int
	// BaselineTokens, if set, are token ids (one per input token) whose embeddings are the baseline, e.g.
	// the input with every content token replaced by a pad or space token.
	BaselineTokens []int
	// Baseline is the embedding the path starts from, [1, pos, d_model] like hook_embed, when
	// BaselineTokens is nil; nil means zeros. A zero baseline is the textbook choice but a poor one for
	// RMSNorm models: the norm of α·x blows up near α = 0, so the path integral has a spike there that
	// quadrature misses and completeness fails; token baselines keep the path smooth.
	Baseline *model.Tensor
	// Progress, if set, is called after each gradient pass with the passes done and those planned so
	// far (the plan grows with each refinement).
	Progress func(done, total int)
}

// IGPoints is the number of gradient passes a Clenshaw–Curtis interval of the integrated-gradients path
// adds besides one of its ends (its rule has IGPoints+1 points).
const IGPoints = 4

// clenshawCurtis returns the n+1 Clenshaw–Curtis points of [0, 1], α_j = (1 − cos(jπ/n))/2, and their
// weights (Trefethen, Spectral Methods in MATLAB, clencurt, mapped from [−1, 1]).
func clenshawCurtis(n int) (alpha, w []float64) {
	alpha, w = make([]float64, n+1), make([]float64, n+1)
	for j := range alpha {
		alpha[j] = (1 - math.Cos(float64(j)*math.Pi/float64(n))) / 2
	}
	if n == 1 {
		return alpha, []float64{0.5, 0.5}
	}
	for j := 0; j <= n; j++ {
		theta := float64(j) * math.Pi / float64(n)
		v := 1.0
		if n%2 == 0 {
			if j == 0 || j == n {
				w[j] = 1 / float64(n*n-1) / 2
				continue
			}
			for k := 1; k < n/2; k++ {
				v -= 2 * math.Cos(2*float64(k)*theta) / float64(4*k*k-1)
			}
			v -= math.Cos(float64(n)*theta) / float64(n*n-1)
		} else {
			if j == 0 || j == n {
				w[j] = 1 / float64(n*n) / 2
				continue
			}
			for k := 1; k <= (n-1)/2; k++ {
				v -= 2 * math.Cos(2*float64(k)*theta) / float64(4*k*k-1)
			}
		}
		w[j] = v / float64(n) // 2v/n on [−1, 1], halved for [0, 1]
	}
	return alpha, w
}

// igPoint is the gradient and the metric at one point of the path.
type igPoint struct {
	grad []float32
	f    float64
}

// igInterval is one piece [a, b] of the integrated-gradients path with its quadrature.
type igInterval struct {
	a, b  float64
	acc   []float64 // Σ_k w_k · ∂metric/∂x at the interval's points, [pos·d_model]
	score float64   // Σ (x−b)·acc: the interval's share of the attribution
	gap   float64   // score − (f(b) − f(a))
}

// IntegratedGradients attributes a metric to the input tokens by integrated gradients on the input
// embeddings: Score[pos] = Σ_d (x−b)[pos,d] · ∫₀¹ ∂metric/∂x[pos,d] at b+α(x−b) dα. The integral is
// composite Clenshaw–Curtis quadrature on intervals of the path, refined where the completeness gap is
// largest while opts.Tolerance asks for it (see IGOptions). Result.Steps counts the gradient passes,
// Result.Delta is the remaining completeness gap and Result.Gaps the gap after each refinement.
func IntegratedGradients(m *model.Model, tokens []int, metric model.Metric, opts IGOptions) (*Result, error) {
	steps := opts.Steps
	if steps <= 0 {
		steps = 16
	}
	pieces := max(1, steps/IGPoints)
	maxSteps := opts.MaxSteps
	if maxSteps <= 0 {
		maxSteps = 8 * pieces * IGPoints
	}
	if opts.Tolerance < 0 || math.IsNaN(opts.Tolerance) {
		return nil, fmt.Errorf("%w: integrated gradients tolerance %v", ErrBadInput, opts.Tolerance)
	}
	d := m.Dims().DModel
	T := len(tokens)
	// The input embedding x and the gradient at α = 1.
	full, err := m.Gradient(tokens, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}})
	if err != nil {
		return nil, fmt.Errorf("integrated gradients: %w", err)
	}
	x := full.Cache[hook.HookEmbed()]
	base := opts.Baseline
	if opts.BaselineTokens != nil {
		if len(opts.BaselineTokens) != T {
			return nil, fmt.Errorf("%w: %d baseline tokens for %d input tokens", ErrBadInput, len(opts.BaselineTokens), T)
		}
		br, err := m.RunWithCache(opts.BaselineTokens, hook.HookEmbed())
		if err != nil {
			return nil, fmt.Errorf("integrated gradients: baseline embedding: %w", err)
		}
		base = br.Cache[hook.HookEmbed()]
	}
	if base == nil {
		base = model.NewTensor(1, T, d)
	} else if base.Numel() != T*d {
		return nil, fmt.Errorf("%w: baseline has %d values, want 1×%d×%d", ErrBadInput, base.Numel(), T, d)
	}
	diff := make([]float64, T*d)
	for i := range diff {
		diff[i] = float64(x.Data[i]) - float64(base.Data[i])
	}

	done, planned := 0, pieces*IGPoints
	point := model.NewTensor(1, T, d)
	// at returns the gradient and metric at α: one gradient pass (α = 1 comes from the input's pass).
	at := func(a float64) (igPoint, error) {
		if a == 1 {
			return igPoint{full.Grads[hook.HookEmbed()].Data, full.Value}, nil
		}
		for i := range point.Data {
			point.Data[i] = float32(float64(base.Data[i]) + a*diff[i])
		}
		res, err := m.Gradient(tokens, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()},
			Interventions: []model.Intervention{{Hook: hook.HookEmbed(), Kind: model.Replace, Values: point}}})
		if err != nil {
			return igPoint{}, fmt.Errorf("integrated gradients: α=%.6f: %w", a, err)
		}
		done++
		if opts.Progress != nil {
			opts.Progress(done, planned)
		}
		return igPoint{res.Grads[hook.HookEmbed()].Data, res.Value}, nil
	}
	// ends holds the points at interval ends (shared by neighbours); interior points are used once.
	ends := map[float64]igPoint{}
	end := func(a float64) (igPoint, error) {
		if p, ok := ends[a]; ok {
			return p, nil
		}
		p, err := at(a)
		if err == nil {
			ends[a] = p
		}
		return p, err
	}
	nodes, weights := clenshawCurtis(IGPoints)
	integrate := func(a, b float64) (*igInterval, error) {
		iv := &igInterval{a: a, b: b, acc: make([]float64, T*d)}
		var fa, fb float64
		for k, u := range nodes {
			var p igPoint
			var err error
			switch k {
			case 0:
				p, err = end(a)
				fa = p.f
			case len(nodes) - 1:
				p, err = end(b)
				fb = p.f
			case IGPoints / 2:
				// The middle point becomes the shared end of the halves if this interval is
				// refined: keep it (exactly (a+b)/2, the halves' end).
				p, err = end((a + b) / 2)
			default:
				p, err = at(a + u*(b-a))
			}
			if err != nil {
				return nil, err
			}
			w := weights[k] * (b - a)
			for i, g := range p.grad {
				iv.acc[i] += w * float64(g)
			}
		}
		for i, v := range iv.acc {
			iv.score += diff[i] * v
		}
		iv.gap = iv.score - (fb - fa)
		return iv, nil
	}
	var ivs []*igInterval
	for i := range pieces {
		iv, err := integrate(float64(i)/float64(pieces), float64(i+1)/float64(pieces))
		if err != nil {
			return nil, err
		}
		ivs = append(ivs, iv)
	}
	f0 := ends[0].f
	out := &Result{Method: MethodIG, Metric: metric, Value: full.Value, Baseline: f0,
		Score: make([]float64, T), Magnitude: make([]float64, T)}
	change := math.Abs(full.Value - f0)
	for {
		worst, abs, sum := 0, 0.0, 0.0
		for i, iv := range ivs {
			abs += math.Abs(iv.gap)
			sum += iv.gap
			if math.Abs(iv.gap) > math.Abs(ivs[worst].gap) {
				worst = i
			}
		}
		out.Gaps = append(out.Gaps, sum)
		if opts.Tolerance <= 0 || abs <= opts.Tolerance*change || done+2*(IGPoints-1) > maxSteps {
			break
		}
		iv := ivs[worst]
		mid := (iv.a + iv.b) / 2
		planned = done + 2*(IGPoints-1)
		lo, err := integrate(iv.a, mid)
		if err != nil {
			return nil, err
		}
		hi, err := integrate(mid, iv.b)
		if err != nil {
			return nil, err
		}
		ivs = append(ivs[:worst], append([]*igInterval{lo, hi}, ivs[worst+1:]...)...)
	}
	acc := make([]float64, T*d)
	for _, iv := range ivs {
		for i, v := range iv.acc {
			acc[i] += v
		}
	}
	total := 0.0
	for p := 0; p < T; p++ {
		s, sq := 0.0, 0.0
		for j := p * d; j < (p+1)*d; j++ {
			v := diff[j] * acc[j]
			s += v
			sq += v * v
		}
		out.Score[p], out.Magnitude[p] = s, math.Sqrt(sq)
		total += s
	}
	out.Delta = total - (out.Value - out.Baseline)
	out.Steps = done
	return out, nil
}

// MetricValue evaluates a metric on one row of logits (the row at metric.Position).
func MetricValue(logits []float32, metric model.Metric) float64 {
	if metric.Kind == model.LogitDiff {
		return float64(logits[metric.Target]) - float64(logits[metric.Contrast])
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range logits {
		s += math.Exp(float64(v) - mx)
	}
	return float64(logits[metric.Target]) - mx - math.Log(s)
}
