package attribution

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"

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
	// Steps is the number of Gauss–Legendre nodes on the path (default 16).
	Steps int
	// BaselineTokens, if set, are token ids (one per input token) whose embeddings are the baseline, e.g.
	// the input with every content token replaced by a pad or space token.
	BaselineTokens []int
	// Baseline is the embedding the path starts from, [1, pos, d_model] like hook_embed, when
	// BaselineTokens is nil; nil means zeros. A zero baseline is the textbook choice but a poor one for
	// RMSNorm models: the norm of α·x blows up near α = 0, so the path integral has a spike there that
	// quadrature misses and completeness fails; token baselines keep the path smooth.
	Baseline *model.Tensor
	// Progress, if set, is called after each step.
	Progress func(done, total int)
}

// IntegratedGradients attributes a metric to the input tokens by integrated gradients on the input
// embeddings: Score[pos] = Σ_d (x−b)[pos,d] · ∫₀¹ ∂metric/∂x[pos,d] at b+α(x−b) dα, with the integral
// taken by Gauss–Legendre quadrature. It runs Steps+1 gradient passes and one or two forward passes.
func IntegratedGradients(m *model.Model, tokens []int, metric model.Metric, opts IGOptions) (*Result, error) {
	steps := opts.Steps
	if steps <= 0 {
		steps = 16
	}
	d := m.Dims().DModel
	T := len(tokens)
	// The input embedding x, from a pass that returns it with its gradient (used as the α=1 value too).
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
	alphas, weights := make([]float64, steps), make([]float64, steps)
	quad.Legendre{}.FixedLocations(alphas, weights, 0, 1)
	acc := make([]float64, T*d) // Σ_k w_k · grad at α_k
	point := model.NewTensor(1, T, d)
	for k, a := range alphas {
		for i := range point.Data {
			point.Data[i] = float32(float64(base.Data[i]) + a*diff[i])
		}
		res, err := m.Gradient(tokens, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()},
			Interventions: []model.Intervention{{Hook: hook.HookEmbed(), Kind: model.Replace, Values: point}}})
		if err != nil {
			return nil, fmt.Errorf("integrated gradients: step %d (α=%.4f): %w", k, a, err)
		}
		g := res.Grads[hook.HookEmbed()].Data
		for i := range acc {
			acc[i] += weights[k] * float64(g[i])
		}
		if opts.Progress != nil {
			opts.Progress(k+1, steps)
		}
	}
	b, err := m.Run(tokens, model.RunOptions{LogitPositions: []int{metric.Position},
		Interventions: []model.Intervention{{Hook: hook.HookEmbed(), Kind: model.Replace, Values: base}}})
	if err != nil {
		return nil, fmt.Errorf("integrated gradients: baseline: %w", err)
	}
	out := &Result{Method: MethodIG, Metric: metric, Value: full.Value, Baseline: MetricValue(b.Logits.Row(0), metric),
		Score: make([]float64, T), Magnitude: make([]float64, T), Steps: steps}
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
