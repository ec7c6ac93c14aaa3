package model

import (
	"math"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// This file builds the GoMLX graph of one decoder block. One compiled graph serves every layer of a model
// (weights, rotary tables and the sliding window are inputs), and one per sequence-length bucket.
//
// Activations use TransformerLens layouts: x is [batch, pos, d_model], q is [batch, pos, head_index,
// d_head], patterns are [batch, head_index, query_pos, key_pos].

// siteAction says what a block graph does at one hook site.
type siteAction struct {
	capture bool
	grad    bool             // output the gradient of the block's objective with respect to the site
	kind    InterventionKind // NoIntervention when none
}

// blockSpec is everything that changes the block graph's structure; it keys the compiled-graph cache.
type blockSpec struct {
	sites    map[hook.Site]siteAction
	backward bool // take upstream gradient of resid_post, output gradient of resid_pre (and of grad sites)
}

// key returns a canonical string for the spec.
func (s blockSpec) key() string {
	b := make([]byte, 0, 64)
	if s.backward {
		b = append(b, 'B')
	}
	for _, site := range hook.BlockSites {
		a, ok := s.sites[site]
		if !ok {
			continue
		}
		b = append(b, byte('a'+int(site)))
		if a.capture {
			b = append(b, 'c')
		}
		if a.grad {
			b = append(b, 'g')
		}
		b = append(b, byte('0'+int(a.kind)))
	}
	return string(b)
}

// blockInputs names the positions of a block graph's inputs.
type blockInputs struct {
	x, cos, sin, window, posW int
	weights                   map[Role]int
	// per intervened site: the position mask [pos] and, for Replace/Add/Mean-with-values, the values.
	mask, values map[hook.Site]int
	gOut         int // backward: gradient of the objective w.r.t. resid_post
	n            int
}

func (a *Arch) blockInputLayout(s blockSpec) blockInputs {
	in := blockInputs{weights: map[Role]int{}, mask: map[hook.Site]int{}, values: map[hook.Site]int{}, gOut: -1}
	next := func() int { in.n++; return in.n - 1 }
	in.x, in.cos, in.sin, in.window, in.posW = next(), next(), next(), next(), next()
	for _, r := range a.roles() {
		in.weights[r] = next()
	}
	for _, site := range hook.BlockSites {
		act, ok := s.sites[site]
		if !ok || act.kind == NoIntervention {
			continue
		}
		in.mask[site] = next()
		if act.kind.needsValues() {
			in.values[site] = next()
		}
	}
	if s.backward {
		in.gOut = next()
	}
	return in
}

// blockGraph builds the block. Outputs: resid_post, then (backward) the gradient w.r.t. resid_pre, then the
// captured sites in hook.BlockSites order, then (backward) the gradients of grad sites in the same order.
type blockGraph struct {
	arch *Arch
	spec blockSpec
	in   blockInputs
	args []*graph.Node
	// site values as built (after interventions), by site
	values map[hook.Site]*graph.Node
}

func (a *Arch) buildBlock(spec blockSpec, args []*graph.Node) []*graph.Node {
	b := &blockGraph{arch: a, spec: spec, in: a.blockInputLayout(spec), args: args, values: map[hook.Site]*graph.Node{}}
	x := args[b.in.x]
	// The residual input passes through an identity so it is a distinct node we can differentiate against.
	x = graph.Identity(x)
	residPre := b.site(hook.ResidPre, x)
	out := b.forward(residPre)
	outs := []*graph.Node{out}
	var gradSites []*graph.Node
	if spec.backward {
		obj := graph.ReduceAllSum(graph.Mul(out, args[b.in.gOut]))
		wrt := []*graph.Node{x}
		for _, site := range hook.BlockSites {
			if a, ok := spec.sites[site]; ok && a.grad {
				wrt = append(wrt, b.values[site])
			}
		}
		grads := graph.Gradient(obj, wrt...)
		outs = append(outs, grads[0])
		gradSites = grads[1:]
	}
	for _, site := range hook.BlockSites {
		if a, ok := spec.sites[site]; ok && a.capture {
			outs = append(outs, b.values[site])
		}
	}
	return append(outs, gradSites...)
}

// site applies the intervention configured for a site, records its value and returns it.
func (b *blockGraph) site(s hook.Site, x *graph.Node) *graph.Node {
	act, ok := b.spec.sites[s]
	if ok && act.kind != NoIntervention {
		var vals *graph.Node
		if i, ok := b.in.values[s]; ok {
			vals = b.args[i]
		}
		x = applyIntervention(act.kind, x, b.args[b.in.mask[s]], vals, b.args[b.in.posW], posAxis(s))
	}
	b.values[s] = x
	return x
}

// posAxis is the position axis of a site's value (query_pos for attention patterns).
func posAxis(s hook.Site) int {
	if s == hook.AttnScores || s == hook.Pattern {
		return 2
	}
	return 1
}

// applyIntervention rewrites x at the positions where mask (shape [pos]) is 1:
// Replace: x·(1-m) + values·m (values shaped like x); Zero: x·(1-m); Mean: the mean over the run's real
// positions (posW holds 1/T at real positions and 0 at padding), or the given values (shaped like x
// without batch and position axes); Add: x + values·m (values shaped like x without batch and position).
func applyIntervention(kind InterventionKind, x, mask, vals, posW *graph.Node, axis int) *graph.Node {
	dims := x.Shape().Dimensions
	bshape := make([]int, len(dims))
	for i := range bshape {
		bshape[i] = 1
	}
	bshape[axis] = dims[axis]
	m := graph.Reshape(mask, bshape...)
	// Select with Where rather than x·(1−m) + v·m: exact, and safe where x is −∞ (masked scores).
	on := graph.BroadcastToDims(graph.GreaterThan(m, graph.ScalarZero(x.Graph(), m.DType())), dims...)
	// broadcastRow turns values shaped like x without its batch and position axes into x's shape.
	broadcastRow := func(v *graph.Node) *graph.Node {
		shape := append([]int(nil), dims...)
		shape[0], shape[axis] = 1, 1
		return graph.BroadcastToDims(graph.Reshape(v, shape...), dims...)
	}
	switch kind {
	case Replace:
		return graph.Where(on, vals, x)
	case Zero:
		return graph.Where(on, graph.ZerosLike(x), x)
	case Mean, meanGiven:
		var mean *graph.Node
		if kind == meanGiven {
			mean = broadcastRow(vals)
		} else {
			wshape := make([]int, len(dims))
			for i := range wshape {
				wshape[i] = 1
			}
			wshape[axis] = dims[axis]
			mean = graph.ReduceAndKeep(graph.Mul(x, graph.Reshape(posW, wshape...)), graph.ReduceSum, axis)
			mean = graph.BroadcastToDims(mean, dims...)
		}
		return graph.Where(on, mean, x)
	case Add:
		return graph.Add(x, graph.Where(on, broadcastRow(vals), graph.ZerosLike(x)))
	}
	return x
}

func (b *blockGraph) w(r Role) *graph.Node { return b.args[b.in.weights[r]] }

// forward runs the block on resid_pre and returns resid_post.
func (b *blockGraph) forward(x *graph.Node) *graph.Node {
	a := b.arch
	d := a.Dims
	dims := x.Shape().Dimensions
	batch, T := dims[0], dims[1]
	kvg := d.NHeads / d.NKVHeads

	h := rmsNorm(x, b.w(RoleAttnNorm), a.NormEps, a.NormOnePlus)
	q := linear(h, b.w(RoleQ))
	k := linear(h, b.w(RoleK))
	v := linear(h, b.w(RoleV))
	if a.QKVBias {
		q = addBias(q, b.w(RoleQBias))
		k = addBias(k, b.w(RoleKBias))
		v = addBias(v, b.w(RoleVBias))
	}
	q = graph.Reshape(q, batch, T, d.NHeads, d.DHead)
	k = graph.Reshape(k, batch, T, d.NKVHeads, d.DHead)
	v = graph.Reshape(v, batch, T, d.NKVHeads, d.DHead)
	if a.QKNorm {
		q = rmsNorm(q, b.w(RoleQNorm), a.NormEps, a.NormOnePlus)
		k = rmsNorm(k, b.w(RoleKNorm), a.NormEps, a.NormOnePlus)
	}
	q = b.site(hook.Q, q)
	k = b.site(hook.K, k)
	v = b.site(hook.V, v)
	cos := graph.Reshape(b.args[b.in.cos], 1, T, 1, d.DHead)
	sin := graph.Reshape(b.args[b.in.sin], 1, T, 1, d.DHead)
	q = b.site(hook.RotQ, rope(q, cos, sin))
	k = b.site(hook.RotK, rope(k, cos, sin))

	// scores [batch, n_kv, group, q_pos, k_pos]: queries grouped by the kv head they share (head h uses kv
	// head h / group, as Hugging Face's repeat_kv).
	qg := graph.TransposeAllDims(graph.Reshape(q, batch, T, d.NKVHeads, kvg, d.DHead), 0, 2, 3, 1, 4)
	scores := graph.DotGeneral(qg, []int{4}, []int{0, 1}, k, []int{3}, []int{0, 2})
	scores = graph.MulScalar(scores, a.AttnScale)
	scores = graph.Reshape(scores, batch, d.NHeads, T, T)
	scores = graph.Add(scores, causalMask(x.Graph(), T, b.args[b.in.window]))
	scores = b.site(hook.AttnScores, scores)
	pattern := b.site(hook.Pattern, graph.Softmax(scores, -1))
	pg := graph.Reshape(pattern, batch, d.NKVHeads, kvg, T, T)
	z := graph.DotGeneral(pg, []int{4}, []int{0, 1}, v, []int{1}, []int{0, 2}) // [batch, n_kv, group, q_pos, d_head]
	z = graph.Reshape(graph.TransposeAllDims(z, 0, 3, 1, 2, 4), batch, T, d.NHeads, d.DHead)
	z = b.site(hook.Z, z)
	attnOut := linear(graph.Reshape(z, batch, T, d.NHeads*d.DHead), b.w(RoleO))
	if a.SandwichNorm {
		attnOut = rmsNorm(attnOut, b.w(RolePostAttnNorm), a.NormEps, a.NormOnePlus)
	}
	attnOut = b.site(hook.AttnOut, attnOut)
	mid := b.site(hook.ResidMid, graph.Add(x, attnOut))

	h = rmsNorm(mid, b.w(RoleMLPNorm), a.NormEps, a.NormOnePlus)
	pre := b.site(hook.MLPPre, linear(h, b.w(RoleGate)))
	preLin := b.site(hook.MLPPreLinear, linear(h, b.w(RoleUp)))
	var act *graph.Node
	switch a.Act {
	case GELUTanh:
		act = geluTanh(pre)
	default:
		act = graph.Mul(pre, graph.Logistic(pre))
	}
	post := b.site(hook.MLPPost, graph.Mul(act, preLin))
	mlpOut := linear(post, b.w(RoleDown))
	if a.SandwichNorm {
		mlpOut = rmsNorm(mlpOut, b.w(RolePostMLPNorm), a.NormEps, a.NormOnePlus)
	}
	mlpOut = b.site(hook.MLPOut, mlpOut)
	return b.site(hook.ResidPost, graph.Add(mid, mlpOut))
}

// linear computes x·Wᵀ for W in Hugging Face layout [out, in]; x is [..., in].
func linear(x, w *graph.Node) *graph.Node {
	return graph.DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil)
}

// addBias adds b [n] to x [..., n].
func addBias(x, b *graph.Node) *graph.Node {
	shape := make([]int, x.Rank())
	for i := range shape {
		shape[i] = 1
	}
	shape[len(shape)-1] = b.Shape().Dimensions[0]
	return graph.Add(x, graph.Reshape(b, shape...))
}

// rmsNorm normalises the last axis: x·rsqrt(mean(x²)+eps)·w, or ·(1+w) for Gemma.
func rmsNorm(x, w *graph.Node, eps float64, onePlus bool) *graph.Node {
	ms := graph.ReduceAndKeep(graph.Square(x), graph.ReduceMean, -1)
	y := graph.Mul(x, graph.Rsqrt(graph.AddScalar(ms, eps)))
	shape := make([]int, x.Rank())
	for i := range shape {
		shape[i] = 1
	}
	shape[len(shape)-1] = w.Shape().Dimensions[0]
	scale := graph.Reshape(w, shape...)
	if onePlus {
		scale = graph.OnePlus(scale)
	}
	return graph.Mul(y, scale)
}

// rope applies rotary embeddings in Hugging Face's rotate_half layout: x·cos + rotate_half(x)·sin, with
// rotate_half written as a constant signed permutation (a matmul) so its gradient needs no Slice.
func rope(x, cos, sin *graph.Node) *graph.Node {
	dh := x.Shape().Dimensions[x.Rank()-1]
	half := dh / 2
	r := make([][]float32, dh) // rotate_half(x)[i] = Σ_j x[j]·r[j][i]
	for j := range r {
		r[j] = make([]float32, dh)
	}
	for i := 0; i < half; i++ {
		r[i+half][i] = -1
		r[i][i+half] = 1
	}
	rot := graph.DotGeneral(x, []int{x.Rank() - 1}, nil, graph.Const(x.Graph(), r), []int{0}, nil)
	return graph.Add(graph.Mul(x, cos), graph.Mul(rot, sin))
}

// causalMask returns [1, 1, q_pos, k_pos] with 0 where key k is visible from query q (k ≤ q and q−k <
// window) and −∞ elsewhere. window is an int32 scalar input (a huge value for global layers).
func causalMask(g *graph.Graph, T int, window *graph.Node) *graph.Node {
	shape := shapes.Make(dtypes.Int32, T, T)
	qpos := graph.Iota(g, shape, 0)
	kpos := graph.Iota(g, shape, 1)
	visible := graph.LogicalAnd(graph.LessOrEqual(kpos, qpos), graph.LessThan(graph.Sub(qpos, kpos), window))
	zero := graph.Zeros(g, shapes.Make(dtypes.Float32, T, T))
	negInf := graph.BroadcastToDims(graph.Const(g, float32(math.Inf(-1))), T, T)
	return graph.Reshape(graph.Where(visible, zero, negInf), 1, 1, T, T)
}

// geluTanh is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), PyTorch's gelu(approximate="tanh").
func geluTanh(x *graph.Node) *graph.Node {
	c := math.Sqrt(2 / math.Pi)
	inner := graph.MulScalar(graph.Add(x, graph.MulScalar(graph.Mul(x, graph.Square(x)), 0.044715)), c)
	return graph.Mul(graph.MulScalar(x, 0.5), graph.OnePlus(graph.Tanh(inner)))
}
