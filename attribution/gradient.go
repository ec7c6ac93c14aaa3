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
	// Steps is the number of gradient passes of the first quadrature: Clenshaw–Curtis on Steps+1
	// points from the baseline (α = 0) to the input (α = 1), whose α = 1 gradient comes with the
	// input's own pass (default 16).
	Steps int
	// Tolerance, if positive, doubles the number of points (the new rule reuses every earlier point,
	// so each doubling costs as many passes as the rule had) until the completeness gap is at most
	// Tolerance·|metric(input) − metric(baseline)| or MaxSteps would be passed.
	Tolerance float64
	// MaxSteps bounds the gradient passes (default 8·Steps: three doublings).
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
	// far (the plan grows with each doubling).
	Progress func(done, total int)
}

// clenshawCurtis returns the n+1 Clenshaw–Curtis points of [0, 1], α_j = (1 − cos(jπ/n))/2, and their
// weights (Trefethen, Spectral Methods in MATLAB, clencurt, mapped from [−1, 1]). The points of n are
// every other point of 2n.
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

// IntegratedGradients attributes a metric to the input tokens by integrated gradients on the input
// embeddings: Score[pos] = Σ_d (x−b)[pos,d] · ∫₀¹ ∂metric/∂x[pos,d] at b+α(x−b) dα, the integral by
// Clenshaw–Curtis quadrature, refined by doubling its points while the completeness gap Σ Score −
// (metric(x) − metric(b)) is above opts.Tolerance. Result.Steps counts the gradient passes and
// Result.Delta is the remaining gap. Every point's gradient is kept (float32, pos × d_model each)
// until the end, since a doubled rule weighs the earlier points anew.
func IntegratedGradients(m *model.Model, tokens []int, metric model.Metric, opts IGOptions) (*Result, error) {
	n := opts.Steps
	if n <= 0 {
		n = 16
	}
	maxSteps := opts.MaxSteps
	if maxSteps <= 0 {
		maxSteps = 8 * n
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
	b, err := m.Run(tokens, model.RunOptions{LogitPositions: []int{metric.Position},
		Interventions: []model.Intervention{{Hook: hook.HookEmbed(), Kind: model.Replace, Values: base}}})
	if err != nil {
		return nil, fmt.Errorf("integrated gradients: baseline: %w", err)
	}
	out := &Result{Method: MethodIG, Metric: metric, Value: full.Value, Baseline: MetricValue(b.Logits.Row(0), metric),
		Score: make([]float64, T), Magnitude: make([]float64, T)}

	// grads[α] is the gradient at α (float32 like the model's), α = 1 from the input's pass.
	grads := map[float64][]float32{1: full.Grads[hook.HookEmbed()].Data}
	done, planned := 0, n
	point := model.NewTensor(1, T, d)
	acc := make([]float64, T*d)
	for {
		alpha, w := clenshawCurtis(n)
		for _, a := range alpha {
			if _, ok := grads[a]; ok {
				continue
			}
			for i := range point.Data {
				point.Data[i] = float32(float64(base.Data[i]) + a*diff[i])
			}
			res, err := m.Gradient(tokens, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()},
				Interventions: []model.Intervention{{Hook: hook.HookEmbed(), Kind: model.Replace, Values: point}}})
			if err != nil {
				return nil, fmt.Errorf("integrated gradients: α=%.4f: %w", a, err)
			}
			grads[a] = res.Grads[hook.HookEmbed()].Data
			done++
			if opts.Progress != nil {
				opts.Progress(done, planned)
			}
		}
		clear(acc)
		for j, a := range alpha {
			for i, g := range grads[a] {
				acc[i] += w[j] * float64(g)
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
		out.Gaps = append(out.Gaps, out.Delta)
		if opts.Tolerance <= 0 || math.Abs(out.Delta) <= opts.Tolerance*math.Abs(out.Value-out.Baseline) || done+n > maxSteps {
			return out, nil
		}
		n *= 2
		planned = done + n/2
	}
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
