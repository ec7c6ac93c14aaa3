package model

import (
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// MetricKind is the scalar a gradient is taken of.
type MetricKind int

// The supported metrics.
const (
	// LogProb is log p(Target | tokens[:Position+1]): the log-softmax of the logits at Position.
	LogProb MetricKind = iota
	// LogitDiff is logit[Target] − logit[Contrast] at Position.
	LogitDiff
)

// Metric is a scalar function of the logits at one position.
type Metric struct {
	Kind     MetricKind
	Position int // the position whose next-token logits are read (the target token sits at Position+1)
	Target   int
	Contrast int // LogitDiff only
}

// GradOptions select what a gradient pass returns.
type GradOptions struct {
	// Wrt lists the sites to differentiate against (hook_embed, block sites). Their activations are
	// returned too, in GradResult.Cache, so attribution patching needs one pass.
	Wrt []hook.Name
	// Interventions apply during the forward (and so the backward) pass.
	Interventions []Intervention
}

// GradResult holds a metric's value and its gradients.
type GradResult struct {
	Value float64
	Grads Cache // d metric / d site, shaped like the site
	Cache Cache // the sites' activations
}

// Gradient computes a metric and its gradient with respect to the requested sites in one backward pass.
// The backward runs layer by layer, recomputing each block from its saved input residual, so memory
// holds only the residual stream of every layer plus one block's graph.
func (m *Model) Gradient(tokens []int, metric Metric, opts GradOptions) (*GradResult, error) {
	p, err := m.newPass(tokens, opts.Interventions)
	if err != nil {
		return nil, err
	}
	if metric.Position < 0 || metric.Position >= p.T {
		return nil, fmt.Errorf("%w: metric position %d outside [0,%d)", ErrBadInput, metric.Position, p.T)
	}
	for _, t := range []int{metric.Target, metric.Contrast} {
		if t < 0 || t >= m.Arch.DVocab {
			return nil, fmt.Errorf("%w: metric token %d outside vocabulary", ErrBadInput, t)
		}
	}
	wrt := map[hook.Name]bool{}
	for _, n := range opts.Wrt {
		if n.Site == hook.LnFinal {
			return nil, fmt.Errorf("%w: gradients with respect to %s are not supported", ErrBadInput, n)
		}
		if err := m.checkName(n); err != nil {
			return nil, err
		}
		wrt[n] = true
	}
	res := &GradResult{Grads: Cache{}, Cache: Cache{}}
	x0, err := p.embedInput(opts.Interventions)
	if err != nil {
		return nil, err
	}
	D := m.Arch.DModel
	if wrt[hook.HookEmbed()] {
		res.Cache[hook.HookEmbed()] = &Tensor{Shape: []int{1, p.T, D}, Data: append([]float32(nil), x0.Data[:p.T*D]...)}
	}
	L := m.Arch.NLayers
	keep := make([]*tensors.Tensor, L)
	p.attnKept = make([]*hostBackward, L)
	xL, err := p.forwardLayers(tensors.FromFlatDataAndDimensions(x0.Data, x0.Shape...), nil, Cache{}, keep)
	if err != nil {
		return nil, err
	}
	value, g, err := p.headGrad(xL, metric)
	if err != nil {
		return nil, err
	}
	res.Value = value
	xL.FinalizeAll()
	for l := L - 1; l >= 0; l-- {
		if wrt[hook.ResidPostAt(l)] {
			res.Grads[hook.ResidPostAt(l)] = p.toHost(hook.ResidPost, g)
		}
		gIn, err := p.layerBackward(l, keep[l], g, wrt, res.Cache, res.Grads)
		if err != nil {
			return nil, fmt.Errorf("backward: %w", err)
		}
		g.FinalizeAll()
		g = gIn
		if wrt[hook.ResidPreAt(l)] {
			res.Grads[hook.ResidPreAt(l)] = p.toHost(hook.ResidPre, g)
		}
		if l > 0 {
			keep[l].FinalizeAll()
		}
		if m.opts.Progress != nil {
			m.opts.Progress("backward", L-l, L)
		}
	}
	if wrt[hook.HookEmbed()] {
		res.Grads[hook.HookEmbed()] = p.toHost(hook.ResidPre, g)
	}
	g.FinalizeAll()
	return res, nil
}

// headGrad computes the metric from the final residual and its gradient with respect to that residual.
func (p *pass) headGrad(x *tensors.Tensor, metric Metric) (float64, *tensors.Tensor, error) {
	m := p.m
	key := fmt.Sprintf("headgrad:%d", metric.Kind)
	e, err := m.exec(key, func(in []*graph.Node) []*graph.Node {
		x, norm, unembed, sel, target, contrast := in[0], in[1], in[2], in[3], in[4], in[5]
		a := m.Arch
		tp := x.Shape().Dimensions[1]
		x = graph.Identity(x)
		row := rmsNorm(graph.DotGeneral(sel, []int{1}, nil, graph.Reshape(x, tp, a.DModel), []int{0}, nil), norm, a.NormEps, a.NormOnePlus)
		logits := softcap(graph.DotGeneral(row, []int{1}, nil, unembed, []int{1}, nil), a.FinalSoftcap) // [1, d_vocab]
		var value *graph.Node
		switch metric.Kind {
		case LogitDiff:
			value = graph.ReduceAllSum(graph.Mul(logits, graph.Sub(target, contrast)))
		default:
			value = graph.ReduceAllSum(graph.Mul(graph.LogSoftmax(logits, -1), target))
		}
		return []*graph.Node{value, graph.Gradient(value, x)[0]}
	})
	if err != nil {
		return 0, nil, err
	}
	oneHot := func(tok int) *tensors.Tensor {
		v := make([]float32, m.Arch.DVocab)
		v[tok] = 1
		return tensors.FromFlatDataAndDimensions(v, 1, m.Arch.DVocab)
	}
	outs, err := run(e, []any{x, m.finalNorm, m.unembed, p.selector([]int{metric.Position}), oneHot(metric.Target), oneHot(metric.Contrast)})
	if err != nil {
		return 0, nil, fmt.Errorf("metric: %w", err)
	}
	v := tensors.MustCopyFlatData[float32](outs[0])[0]
	outs[0].FinalizeAll()
	if math.IsNaN(float64(v)) {
		return 0, nil, fmt.Errorf("%w: metric is NaN", ErrBadInput)
	}
	return float64(v), outs[1], nil
}
