package model

import (
	"math"
	"slices"
	"strconv"

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

// stage is the part of a block a graph computes. Short sequences run a whole block in one graph
// (stageFull); long ones split it so attention runs query chunk by query chunk and no [pos, pos] tensor
// of the whole sequence is ever materialised.
type stage int

const (
	stageFull stage = iota // resid_pre → resid_post
	stagePre               // resid_pre → (resid_pre after interventions, rotated q, rotated k, v)
	stageCore              // (q chunk, k, v) → z chunk
	stagePost              // (resid_pre, z) → resid_post
)

// stageSites are the hook sites computed inside each stage.
var stageSites = map[stage][]hook.Site{
	stagePre:  {hook.ResidPre, hook.Q, hook.K, hook.V, hook.RotQ, hook.RotK},
	stageCore: {hook.AttnScores, hook.Pattern},
	stagePost: {hook.Z, hook.AttnOut, hook.ResidMid, hook.MLPPre, hook.MLPPreLinear, hook.MLPPost, hook.MLPOut, hook.ResidPost},
}

// has reports whether a site is computed in the stage.
func (st stage) has(s hook.Site) bool {
	return st == stageFull || slices.Contains(stageSites[st], s)
}

// stageRoles are the weights each stage reads.
func (a *Arch) stageRoles(st stage) []Role {
	var out []Role
	for _, r := range a.roles() {
		pre := r == RoleAttnNorm || r == RoleQ || r == RoleK || r == RoleV || r == RoleQBias || r == RoleKBias || r == RoleVBias || r == RoleQNorm || r == RoleKNorm
		switch {
		case st == stageFull, st == stagePre && pre, st == stagePost && !pre:
			out = append(out, r)
		}
	}
	return out
}

// blockSpec is everything that changes a block graph's structure; it keys the compiled-graph cache.
type blockSpec struct {
	stage    stage
	sites    map[hook.Site]siteAction
	backward bool // take upstream gradients of the primary outputs, output gradients of the primary inputs (and of grad sites)
	// noBlockCausal computes attention over every key for every query (the reference path of tests).
	noBlockCausal bool
	// prefix: a full stage whose queries follow a stored prefix; its keys and values are inputs.
	prefix bool
	// coreOffset is a core stage's first query position; it is part of the graph so block-causal
	// attention can drop the keys after the chunk.
	coreOffset int
}

// key returns a canonical string for the spec.
func (s blockSpec) key() string {
	b := make([]byte, 0, 64)
	b = append(b, byte('0'+int(s.stage)))
	if s.backward {
		b = append(b, 'B')
	}
	if s.noBlockCausal {
		b = append(b, 'N')
	}
	if s.prefix {
		b = append(b, 'P')
	}
	if s.stage == stageCore {
		b = strconv.AppendInt(append(b, '@'), int64(s.coreOffset), 10)
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

// blockInputs names the positions of a block graph's inputs. Primary inputs by stage: full and pre: x
// (resid_pre), cos, sin; core: q, k, v, window, offset; post: x, z. Backward graphs add the upstream
// gradients of the primary outputs: full, post: gOut; pre: gX, gQ, gK, gV; core: gOut (of z).
type blockInputs struct {
	x, cos, sin, window, offset, posW int
	q, k, v, z                        int
	pk, pv, plen                      int // prefix keys, values and length
	weights                           map[Role]int
	// per intervened site: the position mask [pos] and, for Replace/Add/Mean-with-values, the values.
	mask, values map[hook.Site]int
	gOut         int
	gX, gQ, gK   int
	gV           int
	n            int
}

func (a *Arch) blockInputLayout(s blockSpec) blockInputs {
	in := blockInputs{weights: map[Role]int{}, mask: map[hook.Site]int{}, values: map[hook.Site]int{}}
	for _, p := range []*int{&in.x, &in.cos, &in.sin, &in.window, &in.offset, &in.q, &in.k, &in.v, &in.z, &in.pk, &in.pv, &in.plen, &in.gOut, &in.gX, &in.gQ, &in.gK, &in.gV} {
		*p = -1
	}
	next := func() int { in.n++; return in.n - 1 }
	switch s.stage {
	case stageFull:
		in.x, in.cos, in.sin, in.window = next(), next(), next(), next()
		if s.prefix {
			in.pk, in.pv, in.plen = next(), next(), next()
		}
	case stagePre:
		in.x, in.cos, in.sin = next(), next(), next()
	case stageCore:
		in.q, in.k, in.v, in.window, in.offset = next(), next(), next(), next(), next()
	case stagePost:
		in.x, in.z = next(), next()
	}
	in.posW = next()
	for _, r := range a.stageRoles(s.stage) {
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
		if s.stage == stagePre {
			in.gX, in.gQ, in.gK, in.gV = next(), next(), next(), next()
		} else {
			in.gOut = next()
		}
	}
	return in
}

// blockGraph builds one stage of a block. Outputs: the primary outputs (full, post: resid_post; pre:
// resid_pre after interventions, rotated q, rotated k, v; core: z), then (backward) the gradients of the
// primary inputs (full, pre: resid_pre; post: resid_pre, z; core: q, k, v), then the captured sites in
// hook.BlockSites order, then (backward) the gradients of grad sites in the same order.
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
	var primary, inputs []*graph.Node
	switch spec.stage {
	case stageFull:
		x := graph.Identity(args[b.in.x]) // a distinct node to differentiate against
		xs := b.site(hook.ResidPre, x)
		q, k, v := b.preAttention(xs)
		var z *graph.Node
		if spec.prefix {
			z = b.prefixAttention(q, k, v, args[b.in.pk], args[b.in.pv], args[b.in.plen])
		} else {
			z = b.attention(q, k, v, graph.Const(x.Graph(), int32(0)), 0)
		}
		primary, inputs = []*graph.Node{b.postAttention(xs, z)}, []*graph.Node{x}
	case stagePre:
		x := graph.Identity(args[b.in.x])
		xs := b.site(hook.ResidPre, x)
		q, k, v := b.preAttention(xs)
		primary, inputs = []*graph.Node{xs, q, k, v}, []*graph.Node{x}
	case stageCore:
		q, k, v := graph.Identity(args[b.in.q]), graph.Identity(args[b.in.k]), graph.Identity(args[b.in.v])
		primary, inputs = []*graph.Node{b.attention(q, k, v, args[b.in.offset], spec.coreOffset)}, []*graph.Node{q, k, v}
	case stagePost:
		x, z := graph.Identity(args[b.in.x]), graph.Identity(args[b.in.z])
		primary, inputs = []*graph.Node{b.postAttention(x, z)}, []*graph.Node{x, z}
	}
	outs := slices.Clone(primary)
	var gradSites []*graph.Node
	if spec.backward {
		var grads []*graph.Node
		if spec.stage == stagePre {
			grads = []*graph.Node{args[b.in.gX], args[b.in.gQ], args[b.in.gK], args[b.in.gV]}
		} else {
			grads = []*graph.Node{args[b.in.gOut]}
		}
		var obj *graph.Node
		for i, p := range primary {
			term := graph.ReduceAllSum(graph.Mul(p, grads[i]))
			if obj == nil {
				obj = term
			} else {
				obj = graph.Add(obj, term)
			}
		}
		wrt := slices.Clone(inputs)
		for _, site := range hook.BlockSites {
			if a, ok := spec.sites[site]; ok && a.grad {
				wrt = append(wrt, b.values[site])
			}
		}
		g := graph.Gradient(obj, wrt...)
		outs = append(outs, g[:len(inputs)]...)
		gradSites = g[len(inputs):]
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
// without batch and position axes); Add: x + values·m (values shaped like x without batch and position);
// Project: x − (x·v)/(v·v)·v·m over the last axis.
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
	case Project:
		v := broadcastRow(vals)
		last := len(dims) - 1
		dot := graph.BroadcastToDims(graph.ReduceAndKeep(graph.Mul(x, v), graph.ReduceSum, last), dims...)
		vv := graph.ReduceAllSum(graph.Mul(vals, vals))
		along := graph.Mul(graph.Div(dot, vv), v)
		return graph.Sub(x, graph.Where(on, along, graph.ZerosLike(x)))
	}
	return x
}

func (b *blockGraph) w(r Role) *graph.Node { return b.args[b.in.weights[r]] }

// preAttention computes the rotated queries and keys and the values from resid_pre:
// q [batch, pos, head_index, d_head], k and v [batch, pos, kv_head_index, d_head].
func (b *blockGraph) preAttention(x *graph.Node) (q, k, v *graph.Node) {
	a := b.arch
	d := a.Dims
	dims := x.Shape().Dimensions
	batch, T := dims[0], dims[1]
	h := x
	if !a.PostNormOnly {
		h = rmsNorm(x, b.w(RoleAttnNorm), a.NormEps, a.NormOnePlus)
	}
	q = linear(h, b.w(RoleQ))
	k = linear(h, b.w(RoleK))
	v = linear(h, b.w(RoleV))
	if a.QKVBias {
		q = addBias(q, b.w(RoleQBias))
		k = addBias(k, b.w(RoleKBias))
		v = addBias(v, b.w(RoleVBias))
	}
	if a.QKNormFull { // over the whole projection, before the heads are split (OLMo-2)
		q = rmsNorm(q, b.w(RoleQNorm), a.NormEps, a.NormOnePlus)
		k = rmsNorm(k, b.w(RoleKNorm), a.NormEps, a.NormOnePlus)
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
	return q, k, v
}

// causalBlock is the query-block size of block-causal attention: queries [s, s+causalBlock) attend to keys
// [0, s+causalBlock) only, so the score, softmax and value products above the diagonal blocks, about half
// of attention's work and memory at long lengths, are never computed. 256 keeps every matmul large
// (≥ 256×64×256) while skipping (n−1)/(2n) of the [pos, pos] work for n blocks.
const causalBlock = 256

// blockCausal reports whether attention may skip key blocks: only when the graph starts at query 0 (a whole
// block, or a core chunk whose offset is static) and no attention-score or pattern site is captured,
// intervened on or differentiated, since those expose the full [q_pos, k_pos] matrix.
func (b *blockGraph) blockCausal() bool {
	if b.spec.noBlockCausal {
		return false
	}
	for _, s := range []hook.Site{hook.AttnScores, hook.Pattern} {
		if _, ok := b.spec.sites[s]; ok {
			return false
		}
	}
	return true
}

// attention computes z [batch, q_pos, head_index, d_head] for queries at positions offset.. (q holds a
// chunk of Tq positions; k and v hold every key position). staticOffset ≥ 0 says offset is that
// constant, which lets block-causal attention drop the keys no query of a block can see.
func (b *blockGraph) attention(q, k, v, offset *graph.Node, staticOffset int) *graph.Node {
	g := q.Graph()
	Tk := k.Shape().Dimensions[1]
	static := staticOffset >= 0 && b.blockCausal()
	return b.queryBlocks(q, static, func(qb *graph.Node, s, e int) *graph.Node {
		if !static {
			return b.attentionRows(qb, k, v, causalMask(g, e-s, Tk, offset, b.args[b.in.window]))
		}
		kb, vb := k, v
		if kEnd := min(staticOffset+e, Tk); kEnd < Tk { // keys after the block's last query are never visible
			kb = graph.SliceAxis(k, 1, graph.AxisRange(0, kEnd))
			vb = graph.SliceAxis(v, 1, graph.AxisRange(0, kEnd))
		}
		return b.attentionRows(qb, kb, vb, causalMask(g, e-s, kb.Shape().Dimensions[1], graph.Const(g, int32(staticOffset+s)), b.args[b.in.window]))
	})
}

// prefixAttention is attention for queries that follow a stored prefix: keys are the prefix's pk
// ([batch, Pp, n_kv, d_head], real up to plen, padding after) then the run's own k, query i sits at
// absolute position plen+i. Query blocks skip the run's keys after them, as in attention.
func (b *blockGraph) prefixAttention(q, k, v, pk, pv, plen *graph.Node) *graph.Node {
	g := q.Graph()
	Pp := pk.Shape().Dimensions[1]
	return b.queryBlocks(q, b.blockCausal(), func(qb *graph.Node, s, e int) *graph.Node {
		kb := graph.Concatenate([]*graph.Node{pk, graph.SliceAxis(k, 1, graph.AxisRange(0, e))}, 1)
		vb := graph.Concatenate([]*graph.Node{pv, graph.SliceAxis(v, 1, graph.AxisRange(0, e))}, 1)
		return b.attentionRows(qb, kb, vb, prefixMask(g, e-s, Pp, e, s, plen, b.args[b.in.window]))
	})
}

// queryBlocks computes attention for q's positions in blocks of causalBlock queries (one block of all
// of them unless blocked), with block(q rows s..e, s, e), and joins the blocks' z along positions.
func (b *blockGraph) queryBlocks(q *graph.Node, blocked bool, block func(qb *graph.Node, s, e int) *graph.Node) *graph.Node {
	Tq := q.Shape().Dimensions[1]
	if !blocked || Tq <= causalBlock {
		return block(q, 0, Tq)
	}
	var zs []*graph.Node
	for s := 0; s < Tq; s += causalBlock {
		e := min(s+causalBlock, Tq)
		zs = append(zs, block(graph.SliceAxis(q, 1, graph.AxisRange(s, e)), s, e))
	}
	return graph.Concatenate(zs, 1)
}

// attentionRows is attention for queries q against keys k and values v under an additive mask
// [1, 1, q_pos, k_pos] (0 visible, −∞ hidden), materialising the [head, q_pos, k_pos] scores.
func (b *blockGraph) attentionRows(q, k, v, mask *graph.Node) *graph.Node {
	a := b.arch
	d := a.Dims
	batch, Tq, Tk := q.Shape().Dimensions[0], q.Shape().Dimensions[1], k.Shape().Dimensions[1]
	kvg := d.NHeads / d.NKVHeads
	// scores [batch, n_kv, group, q_pos, k_pos]: queries grouped by the kv head they share (head h uses kv
	// head h / group, as Hugging Face's repeat_kv).
	qg := graph.TransposeAllDims(graph.Reshape(q, batch, Tq, d.NKVHeads, kvg, d.DHead), 0, 2, 3, 1, 4)
	scores := graph.DotGeneral(qg, []int{4}, []int{0, 1}, k, []int{3}, []int{0, 2})
	scores = softcap(graph.MulScalar(scores, a.AttnScale), a.AttnSoftcap)
	scores = graph.Reshape(scores, batch, d.NHeads, Tq, Tk)
	scores = graph.Add(scores, mask)
	scores = b.site(hook.AttnScores, scores)
	pattern := b.site(hook.Pattern, graph.Softmax(scores, -1))
	pg := graph.Reshape(pattern, batch, d.NKVHeads, kvg, Tq, Tk)
	z := graph.DotGeneral(pg, []int{4}, []int{0, 1}, v, []int{1}, []int{0, 2}) // [batch, n_kv, group, q_pos, d_head]
	return graph.Reshape(graph.TransposeAllDims(z, 0, 3, 1, 2, 4), batch, Tq, d.NHeads, d.DHead)
}

// postAttention applies the output projection, the MLP and both residual additions; x is resid_pre. With
// SandwichNorm or PostNormOnly the attention and MLP outputs are normalised before they are added (and
// before hook_attn_out and hook_mlp_out); with PostNormOnly the MLP reads resid_mid unnormalised.
func (b *blockGraph) postAttention(x, z *graph.Node) *graph.Node {
	a := b.arch
	d := a.Dims
	dims := x.Shape().Dimensions
	batch, T := dims[0], dims[1]
	z = b.site(hook.Z, z)
	attnOut := linear(graph.Reshape(z, batch, T, d.NHeads*d.DHead), b.w(RoleO))
	postNorms := a.SandwichNorm || a.PostNormOnly
	if postNorms {
		attnOut = rmsNorm(attnOut, b.w(RolePostAttnNorm), a.NormEps, a.NormOnePlus)
	}
	attnOut = b.site(hook.AttnOut, attnOut)
	mid := b.site(hook.ResidMid, graph.Add(x, attnOut))

	h := mid
	if !a.PostNormOnly {
		h = rmsNorm(mid, b.w(RoleMLPNorm), a.NormEps, a.NormOnePlus)
	}
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
	if postNorms {
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

// causalMask returns [1, 1, q_pos, k_pos] with 0 where key k is visible from query offset+q (k ≤ q and
// q − k < window) and −∞ elsewhere. offset and window are int32 scalars (window is huge for global layers).
func causalMask(g *graph.Graph, Tq, Tk int, offset, window *graph.Node) *graph.Node {
	shape := shapes.Make(dtypes.Int32, Tq, Tk)
	qpos := graph.Add(graph.Iota(g, shape, 0), offset)
	kpos := graph.Iota(g, shape, 1)
	visible := graph.LogicalAnd(graph.LessOrEqual(kpos, qpos), graph.LessThan(graph.Sub(qpos, kpos), window))
	zero := graph.Zeros(g, shapes.Make(dtypes.Float32, Tq, Tk))
	negInf := graph.BroadcastToDims(graph.Const(g, float32(math.Inf(-1))), Tq, Tk)
	return graph.Reshape(graph.Where(visible, zero, negInf), 1, 1, Tq, Tk)
}

// prefixMask returns [1, 1, Tq, Pp+Tk], the additive mask of queries s..s+Tq of a run that follows a
// prefix of plen tokens stored in Pp ≥ plen padded positions, against the prefix keys then the run's keys
// 0..Tk-1. With absolute positions (prefix key j at j, run key j at plen+j, query i at plen+s+i), a key is
// visible if it is real (not prefix padding), not after the query and within the window.
func prefixMask(g *graph.Graph, Tq, Pp, Tk, s int, plen, window *graph.Node) *graph.Node {
	shape := shapes.Make(dtypes.Int32, Tq, Pp+Tk)
	col := graph.Iota(g, shape, 1)
	qpos := graph.Add(graph.AddScalar(graph.Iota(g, shape, 0), float64(s)), plen)
	inPrefix := graph.LessThan(col, graph.Scalar(g, dtypes.Int32, Pp))
	kpos := graph.Where(inPrefix, col, graph.Add(graph.AddScalar(col, float64(-Pp)), plen))
	real := graph.LogicalOr(graph.LogicalNot(inPrefix), graph.LessThan(col, plen))
	visible := graph.LogicalAnd(real, graph.LogicalAnd(graph.LessOrEqual(kpos, qpos), graph.LessThan(graph.Sub(qpos, kpos), window)))
	zero := graph.Zeros(g, shapes.Make(dtypes.Float32, Tq, Pp+Tk))
	negInf := graph.BroadcastToDims(graph.Const(g, float32(math.Inf(-1))), Tq, Pp+Tk)
	return graph.Reshape(graph.Where(visible, zero, negInf), 1, 1, Tq, Pp+Tk)
}

// softcap returns c·tanh(x/c), Gemma-2's logit soft cap, or x itself when c is 0.
func softcap(x *graph.Node, c float32) *graph.Node {
	if c == 0 {
		return x
	}
	return graph.MulScalar(graph.Tanh(graph.DivScalar(x, float64(c))), float64(c))
}

// geluTanh is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), PyTorch's gelu(approximate="tanh").
func geluTanh(x *graph.Node) *graph.Node {
	c := math.Sqrt(2 / math.Pi)
	inner := graph.MulScalar(graph.Add(x, graph.MulScalar(graph.Mul(x, graph.Square(x)), 0.044715)), c)
	return graph.Mul(graph.MulScalar(x, 0.5), graph.OnePlus(graph.Tanh(inner)))
}
