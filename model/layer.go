package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/internal/attn"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// This file runs one decoder layer forward or backward, either as one graph or as pre-attention,
// attention (by query chunk for long sequences, or the host kernel of package attn) and post-attention
// graphs.

// layerSpec builds the spec of one stage of layer l from captures, grads and interventions.
func (p *pass) layerSpec(l int, st stage, capture, grads map[hook.Name]bool, backward bool) blockSpec {
	s := blockSpec{stage: st, sites: map[hook.Site]siteAction{}, backward: backward, noBlockCausal: p.m.fullAttention, prefix: p.prefix != nil && st == stageFull}
	for _, site := range hook.BlockSites {
		if !st.has(site) {
			continue
		}
		n := hook.At(site, l)
		act := siteAction{capture: capture[n], grad: grads[n]}
		// resid_pre / resid_post gradients come from the pass itself, not from a graph.
		if site == hook.ResidPre || site == hook.ResidPost {
			act.grad = false
		}
		if iv, ok := p.byLayer[l][site]; ok {
			act.kind = internalKind(iv)
		}
		if act.capture || act.grad || act.kind != NoIntervention {
			s.sites[site] = act
		}
	}
	return s
}

// stageIn are the tensors a stage graph takes besides weights and interventions.
type stageIn struct {
	x, q, k, v, z      *tensors.Tensor
	gOut, gX, gQ, gK   *tensors.Tensor
	gV                 *tensors.Tensor
	chunkStart, chunkN int // core: the query positions of this chunk
}

// stageArgs assembles a stage graph's inputs in layout order.
func (p *pass) stageArgs(l int, spec blockSpec, in stageIn) []any {
	m := p.m
	layout := m.Arch.blockInputLayout(spec)
	args := make([]any, layout.n)
	set := func(i int, v any) {
		if i >= 0 {
			args[i] = v
		}
	}
	if layout.cos >= 0 {
		cos, sin := p.ropeTables(l)
		args[layout.cos], args[layout.sin] = cos, sin
	}
	if layout.pk >= 0 {
		args[layout.pk], args[layout.pv], _ = p.prefix.padded(l, m.opts.Bucket)
		args[layout.plen] = int32(p.offset)
	}
	set(layout.window, int32(m.Arch.window(l)))
	set(layout.offset, int32(in.chunkStart))
	set(layout.x, in.x)
	set(layout.q, in.q)
	set(layout.k, in.k)
	set(layout.v, in.v)
	set(layout.z, in.z)
	set(layout.gOut, in.gOut)
	set(layout.gX, in.gX)
	set(layout.gQ, in.gQ)
	set(layout.gK, in.gK)
	set(layout.gV, in.gV)
	args[layout.posW] = p.posW
	roles := m.Arch.roles()
	for _, r := range m.Arch.stageRoles(spec.stage) {
		args[layout.weights[r]] = m.layerW[l][slices.Index(roles, r)]
	}
	start, n := 0, p.tp
	if spec.stage == stageCore {
		start, n = in.chunkStart, in.chunkN
	}
	for site, idx := range layout.mask {
		iv := p.byLayer[l][site]
		args[idx] = p.positionMask(iv, site, start, n)
		if vi, ok := layout.values[site]; ok {
			if iv.Kind == Replace {
				args[vi] = p.padValues(site, iv.Values, start, n)
			} else {
				args[vi] = tensors.FromFlatDataAndDimensions(slices.Clone(iv.Values.Data), iv.Values.Numel())
			}
		}
	}
	return args
}

// positionMask returns [n] with 1 at the intervention's positions within [start, start+n) (all real
// positions if none given). Attention sites are masked by query position.
func (p *pass) positionMask(iv *Intervention, site hook.Site, start, n int) *tensors.Tensor {
	mask := make([]float32, n)
	in := func(pos int) bool { return pos >= start && pos < start+n }
	if iv.Positions == nil {
		for pos := 0; pos < p.T; pos++ {
			if in(pos) {
				mask[pos-start] = 1
			}
		}
	}
	for _, pos := range iv.Positions {
		if in(pos) {
			mask[pos-start] = 1
		}
	}
	return tensors.FromFlatDataAndDimensions(mask, n)
}

// padValues pads a Replace tensor (shape over T positions) to the graph's positions: tp positions, or
// for attention sites the query rows [start, start+n) by tp keys.
func (p *pass) padValues(site hook.Site, v *Tensor, start, n int) *tensors.Tensor {
	a := p.m.Arch
	switch site {
	case hook.AttnScores, hook.Pattern: // [1, H, T, T] → [1, H, n, tp]
		H := v.Shape[1]
		out := make([]float32, H*n*p.tp)
		if site == hook.AttnScores { // padded keys and queries stay masked
			for i := range out {
				out[i] = float32(math.Inf(-1))
			}
		}
		for h := 0; h < H; h++ {
			for q := start; q < start+n && q < p.T; q++ {
				copy(out[(h*n+q-start)*p.tp:], v.Data[(h*p.T+q)*p.T:(h*p.T+q+1)*p.T])
			}
		}
		return tensors.FromFlatDataAndDimensions(out, 1, H, n, p.tp)
	}
	full := a.siteShape(site, p.tp)
	if site == hook.Embed {
		full = []int{1, p.tp, a.DModel}
	}
	out := make([]float32, numel(full))
	copy(out, v.Data) // position is axis 1: data is contiguous in T-major order
	return tensors.FromFlatDataAndDimensions(out, full...)
}

// stageOut splits a stage graph's outputs.
type stageOut struct {
	primary, grads []*tensors.Tensor
	captures       map[hook.Site]*tensors.Tensor
	siteGrads      map[hook.Site]*tensors.Tensor
}

// runStage builds (or reuses) and runs one stage graph.
func (p *pass) runStage(l int, spec blockSpec, in stageIn) (*stageOut, error) {
	e, err := p.m.blockExec(spec)
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	args := p.stageArgs(l, spec, in)
	t0 := p.m.mark()
	outs, err := run(e, args)
	p.m.spent(spec.phase(), t0)
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	nPrimary := map[stage]int{stageFull: 1, stagePre: 4, stageCore: 1, stagePost: 1}[spec.stage]
	nGrads := 0
	if spec.backward {
		nGrads = map[stage]int{stageFull: 1, stagePre: 1, stageCore: 3, stagePost: 2}[spec.stage]
	}
	o := &stageOut{primary: outs[:nPrimary], grads: outs[nPrimary : nPrimary+nGrads],
		captures: map[hook.Site]*tensors.Tensor{}, siteGrads: map[hook.Site]*tensors.Tensor{}}
	i := nPrimary + nGrads
	for _, site := range hook.BlockSites {
		if a, ok := spec.sites[site]; ok && a.capture {
			o.captures[site] = outs[i]
			i++
		}
	}
	for _, site := range hook.BlockSites {
		if a, ok := spec.sites[site]; ok && a.grad {
			o.siteGrads[site] = outs[i]
			i++
		}
	}
	return o, nil
}

// phase is the Profile phase of running this stage graph.
func (s blockSpec) phase() Phase {
	switch {
	case s.backward:
		return PhaseBackwardGraphs
	case s.stage == stagePre:
		return PhasePreGraphs
	case s.stage == stagePost:
		return PhasePostGraphs
	case s.stage == stageCore:
		return PhaseAttentionGraphs
	}
	return PhaseLayerGraphs
}

// layerForward runs layer l on residual x (device tensor [1, tp, d_model]) and returns resid_post,
// copying captured sites into cache.
func (p *pass) layerForward(l int, x *tensors.Tensor, capture map[hook.Name]bool, cache Cache) (*tensors.Tensor, error) {
	host := p.hostAttention(l, capture)
	if !p.chunked && !host {
		o, err := p.runStage(l, p.layerSpec(l, stageFull, capture, nil, false), stageIn{x: x})
		if err != nil {
			return nil, err
		}
		p.collect(l, o.captures, cache)
		return o.primary[0], nil
	}
	xs, q, k, v, err := p.preForward(l, x, capture, cache, nil)
	if err != nil {
		return nil, err
	}
	var z *tensors.Tensor
	switch {
	case host && p.attnKept != nil:
		// A gradient's forward: keep z and the row log-sum-exp for the backward.
		var hb *hostBackward
		if hb, z, err = p.hostCoreBackward(l, q, k, v); err == nil {
			hb.q, hb.k, hb.v = nil, nil, nil // the backward copies them again from its recomputed stage
			p.attnKept[l] = hb
		}
	case host:
		z, err = p.hostCore(l, q, k, v)
	default:
		z, err = p.coreForward(l, q, k, v, capture, cache)
	}
	if err != nil {
		return nil, err
	}
	o, err := p.runStage(l, p.layerSpec(l, stagePost, capture, nil, false), stageIn{x: xs, z: z})
	if err != nil {
		return nil, err
	}
	p.collect(l, o.captures, cache)
	finalize(q, k, v, z)
	if xs != x {
		finalize(xs)
	}
	return o.primary[0], nil
}

// window returns layer l's attention window: its sliding-window size, or math.MaxInt32 for a global layer.
func (a *Arch) window(l int) int {
	if w := a.LayerWindow[l]; w > 0 {
		return w
	}
	return math.MaxInt32
}

// hostAttentionOn reports whether attention may run in package attn's host kernel at all.
func (m *Model) hostAttentionOn() bool { return !m.opts.GraphAttention && !m.fullAttention }

// hostAttention reports whether layer l's attention runs in package attn's tiled host kernel between
// the pre- and post-attention graphs: unless Options.GraphAttention is set or the layer's attention
// scores or pattern are captured (for a backward pass: differentiated) or intervened on, since the
// kernel never forms them.
func (p *pass) hostAttention(l int, capture map[hook.Name]bool) bool {
	if !p.m.hostAttentionOn() {
		return false
	}
	for _, site := range []hook.Site{hook.AttnScores, hook.Pattern} {
		if _, ok := p.byLayer[l][site]; ok || capture[hook.At(site, l)] {
			return false
		}
	}
	return true
}

// hostCore computes z [1, tp, n_heads, d_head] from rotated q and k and v with package attn; in a run
// after a prefix, the prefix's keys and values come first. In a packed pass each sequence attends to its
// own rows after its own prefix (padding rows get z = 0).
func (p *pass) hostCore(l int, q, k, v *tensors.Tensor) (*tensors.Tensor, error) {
	a := p.m.Arch
	qh, kh, vh := p.m.hostCopy(q), p.m.hostCopy(k), p.m.hostCopy(v)
	t0 := p.m.mark()
	z := make([]float32, len(qh))
	spans := p.packed
	if spans == nil {
		spans = []span{{start: 0, n: p.tp, prefix: p.prefix}}
	}
	rq, rk := a.NHeads*a.DHead, a.NKVHeads*a.DHead
	for _, sp := range spans {
		s := p.attnShape()
		s.T = sp.n
		q0, q1, k0, k1 := sp.start*rq, (sp.start+sp.n)*rq, sp.start*rk, (sp.start+sp.n)*rk
		kb, vb, past := withPrefix(sp.prefix, l, kh[k0:k1], vh[k0:k1])
		if err := attn.CausalAfter(z[q0:q1], qh[q0:q1], kb, vb, s, past, float32(a.AttnScale), a.window(l)); err != nil {
			return nil, fmt.Errorf("layer %d attention: %w", l, err)
		}
	}
	p.m.spent(PhaseAttention, t0)
	p.m.hostLayers.Add(1)
	return p.m.upload(z, 1, p.tp, a.NHeads, a.DHead)
}

// attnShape is package attn's shape of the pass's padded positions.
func (p *pass) attnShape() attn.Shape {
	d := p.m.Arch.Dims
	return attn.Shape{T: p.tp, NHeads: d.NHeads, NKVHeads: d.NKVHeads, DHead: d.DHead, Cap: p.m.Arch.AttnSoftcap}
}

// withPrefix returns layer l's keys and values with pf's past positions before k and v (k and v
// themselves when pf is nil).
func withPrefix(pf *Prefix, l int, k, v []float32) (kp, vp []float32, past int) {
	if pf == nil {
		return k, v, 0
	}
	past = pf.Len()
	n := len(pf.k[l].Data) / pf.k[l].Shape[1] * past
	return append(pf.k[l].Data[:n:n], k...), append(pf.v[l].Data[:n:n], v...), past
}

// hostBackward is one layer's attention on the host for a backward pass: forward gives z (as a device
// tensor for the post-attention graph) and keeps what grads needs; grads returns dq, dk and dv from dz.
type hostBackward struct {
	p               *pass
	l               int
	q, k, v, z, lse []float32
}

// hostCoreBackward runs layer l's attention forward in the host kernel, keeping the row log-sum-exp
// for hostBackward.grads; z and lse kept by the gradient's forward pass are reused, not recomputed.
func (p *pass) hostCoreBackward(l int, q, k, v *tensors.Tensor) (*hostBackward, *tensors.Tensor, error) {
	a := p.m.Arch
	if p.prefix != nil || p.packed != nil {
		return nil, nil, fmt.Errorf("layer %d attention: no backward after a prefix or in a batch", l)
	}
	hb := &hostBackward{p: p, l: l}
	hb.q, hb.k, hb.v = p.m.hostCopy(q), p.m.hostCopy(k), p.m.hostCopy(v)
	if kept := p.attnKept[l]; kept != nil {
		hb.z, hb.lse = kept.z, kept.lse
		p.attnKept[l] = nil
	} else {
		t0 := p.m.mark()
		hb.z, hb.lse = make([]float32, len(hb.q)), make([]float32, a.NHeads*p.tp)
		if err := attn.CausalLSE(hb.z, hb.lse, hb.q, hb.k, hb.v, p.attnShape(), float32(a.AttnScale), a.window(l)); err != nil {
			return nil, nil, fmt.Errorf("layer %d attention: %w", l, err)
		}
		p.m.spent(PhaseAttention, t0)
		p.m.hostLayers.Add(1)
	}
	z, err := p.m.upload(hb.z, 1, p.tp, a.NHeads, a.DHead)
	return hb, z, err
}

// grads returns the gradients with respect to q, k and v from gZ, the gradient with respect to z.
func (hb *hostBackward) grads(gZ *tensors.Tensor) (dq, dk, dv []float32, err error) {
	a := hb.p.m.Arch
	gz := hb.p.m.hostCopy(gZ)
	t0 := hb.p.m.mark()
	dq, dk, dv = make([]float32, len(hb.q)), make([]float32, len(hb.k)), make([]float32, len(hb.v))
	err = attn.Backward(dq, dk, dv, hb.q, hb.k, hb.v, hb.z, gz, hb.lse,
		hb.p.attnShape(), float32(a.AttnScale), a.window(hb.l))
	hb.p.m.spent(PhaseAttentionBackward, t0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("layer %d attention backward: %w", hb.l, err)
	}
	hb.p.m.hostLayers.Add(1)
	return dq, dk, dv, nil
}

// preForward runs the pre-attention stage.
func (p *pass) preForward(l int, x *tensors.Tensor, capture map[hook.Name]bool, cache Cache, grads map[hook.Name]bool) (xs, q, k, v *tensors.Tensor, err error) {
	o, err := p.runStage(l, p.layerSpec(l, stagePre, capture, grads, false), stageIn{x: x})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	p.collect(l, o.captures, cache)
	return o.primary[0], o.primary[1], o.primary[2], o.primary[3], nil
}

// coreForward runs attention chunk by chunk and assembles z [1, tp, n_heads, d_head]; captured attention
// scores and patterns are assembled row by row.
func (p *pass) coreForward(l int, q, k, v *tensors.Tensor, capture map[hook.Name]bool, cache Cache) (*tensors.Tensor, error) {
	spec := p.layerSpec(l, stageCore, capture, nil, false)
	chunk := p.m.opts.AttnChunk
	d := p.m.Arch.Dims
	qHost := tensors.MustCopyFlatData[float32](q)
	row := d.NHeads * d.DHead
	z := make([]float32, p.tp*row)
	rows := map[hook.Site]*Tensor{}
	for site, a := range spec.sites {
		if a.capture {
			rows[site] = NewTensor(1, d.NHeads, p.T, p.T)
		}
	}
	for start := 0; start < p.tp; start += chunk {
		qc := tensors.FromFlatDataAndDimensions(slices.Clone(qHost[start*row:(start+chunk)*row]), 1, chunk, d.NHeads, d.DHead)
		spec.coreOffset = start
		o, err := p.runStage(l, spec, stageIn{q: qc, k: k, v: v, chunkStart: start, chunkN: chunk})
		if err != nil {
			return nil, err
		}
		copy(z[start*row:], tensors.MustCopyFlatData[float32](o.primary[0]))
		for site, t := range o.captures {
			p.copyRows(rows[site], t, start, chunk)
		}
		finalize(qc, o.primary[0])
		finalizeMap(o.captures)
	}
	for site, t := range rows {
		cache[hook.At(site, l)] = t
	}
	return tensors.FromFlatDataAndDimensions(z, 1, p.tp, d.NHeads, d.DHead), nil
}

// copyRows copies query rows [start, start+n) ∩ [0, T) of a [1, H, n, tp] chunk into dst [1, H, T, T].
func (p *pass) copyRows(dst *Tensor, t *tensors.Tensor, start, n int) {
	flat := tensors.MustCopyFlatData[float32](t)
	H := dst.Shape[1]
	for h := 0; h < H; h++ {
		for q := start; q < start+n && q < p.T; q++ {
			copy(dst.Data[(h*p.T+q)*p.T:(h*p.T+q+1)*p.T], flat[(h*n+q-start)*p.tp:])
		}
	}
}

// collect copies captured device tensors into the cache and frees them.
func (p *pass) collect(l int, captures map[hook.Site]*tensors.Tensor, cache Cache) {
	if len(captures) == 0 {
		return
	}
	defer p.m.spent(PhaseCopies, p.m.mark())
	for site, t := range captures {
		cache[hook.At(site, l)] = p.toHost(site, t)
		t.FinalizeAll()
	}
}

// layerBackward recomputes layer l from its input residual x and back-propagates gOut (the gradient of
// the metric with respect to resid_post), returning the gradient with respect to resid_pre. Requested
// site activations go to cache and their gradients to grads.
func (p *pass) layerBackward(l int, x, gOut *tensors.Tensor, wrt map[hook.Name]bool, cache, grads Cache) (*tensors.Tensor, error) {
	host := p.hostAttention(l, wrt)
	if !p.chunked && !host {
		o, err := p.runStage(l, p.layerSpec(l, stageFull, wrt, wrt, true), stageIn{x: x, gOut: gOut})
		if err != nil {
			return nil, err
		}
		p.collect(l, o.captures, cache)
		p.collect(l, o.siteGrads, grads)
		finalize(o.primary...)
		return o.grads[0], nil
	}
	d := p.m.Arch.Dims
	// Recompute the forward stages (no captures).
	xs, q, k, v, err := p.preForward(l, x, nil, Cache{}, nil)
	if err != nil {
		return nil, err
	}
	var z *tensors.Tensor
	var hb *hostBackward
	if host {
		hb, z, err = p.hostCoreBackward(l, q, k, v)
	} else {
		z, err = p.coreForward(l, q, k, v, nil, Cache{})
	}
	if err != nil {
		return nil, err
	}
	// Post-attention backward: gradients of resid_pre (as the post stage sees it) and of z.
	po, err := p.runStage(l, p.layerSpec(l, stagePost, wrt, wrt, true), stageIn{x: xs, z: z, gOut: gOut})
	if err != nil {
		return nil, err
	}
	p.collect(l, po.captures, cache)
	p.collect(l, po.siteGrads, grads)
	gXs, gZ := po.grads[0], po.grads[1]
	finalize(po.primary...)
	var dq, dk, dv []float32
	if host {
		dq, dk, dv, err = hb.grads(gZ)
	} else {
		dq, dk, dv, err = p.coreBackward(l, q, k, v, gZ, wrt, cache, grads)
	}
	if err != nil {
		return nil, err
	}
	finalize(q, k, v, z, gZ)
	kvShape := []int{1, p.tp, d.NKVHeads, d.DHead}
	// Pre-attention backward: the objective sums all four outputs' contributions.
	pr, err := p.runStage(l, p.layerSpec(l, stagePre, wrt, wrt, true), stageIn{x: x, gX: gXs,
		gQ: tensors.FromFlatDataAndDimensions(dq, 1, p.tp, d.NHeads, d.DHead),
		gK: tensors.FromFlatDataAndDimensions(dk, kvShape...), gV: tensors.FromFlatDataAndDimensions(dv, kvShape...)})
	if err != nil {
		return nil, err
	}
	p.collect(l, pr.captures, cache)
	p.collect(l, pr.siteGrads, grads)
	finalize(pr.primary...)
	finalize(gXs)
	if xs != x {
		finalize(xs)
	}
	return pr.grads[0], nil
}

// coreBackward back-propagates gZ through layer l's attention graphs chunk by chunk, returning dq (by
// rows) and dk and dv (summed over chunks); captured attention sites and their gradients are assembled
// row by row into cache and grads.
func (p *pass) coreBackward(l int, q, k, v, gZ *tensors.Tensor, wrt map[hook.Name]bool, cache, grads Cache) (dq, dk, dv []float32, err error) {
	d := p.m.Arch.Dims
	spec := p.layerSpec(l, stageCore, wrt, wrt, true)
	chunk := p.m.opts.AttnChunk
	row := d.NHeads * d.DHead
	qHost := tensors.MustCopyFlatData[float32](q)
	gzHost := tensors.MustCopyFlatData[float32](gZ)
	dq = make([]float32, p.tp*row)
	dk = make([]float32, p.tp*d.NKVHeads*d.DHead)
	dv = make([]float32, len(dk))
	capRows, gradRows := map[hook.Site]*Tensor{}, map[hook.Site]*Tensor{}
	for site, a := range spec.sites {
		if a.capture {
			capRows[site] = NewTensor(1, d.NHeads, p.T, p.T)
		}
		if a.grad {
			gradRows[site] = NewTensor(1, d.NHeads, p.T, p.T)
		}
	}
	for start := 0; start < p.tp; start += chunk {
		qc := tensors.FromFlatDataAndDimensions(slices.Clone(qHost[start*row:(start+chunk)*row]), 1, chunk, d.NHeads, d.DHead)
		gc := tensors.FromFlatDataAndDimensions(slices.Clone(gzHost[start*row:(start+chunk)*row]), 1, chunk, d.NHeads, d.DHead)
		spec.coreOffset = start
		o, err := p.runStage(l, spec, stageIn{q: qc, k: k, v: v, gOut: gc, chunkStart: start, chunkN: chunk})
		if err != nil {
			return nil, nil, nil, err
		}
		copy(dq[start*row:], tensors.MustCopyFlatData[float32](o.grads[0]))
		addInto(dk, tensors.MustCopyFlatData[float32](o.grads[1]))
		addInto(dv, tensors.MustCopyFlatData[float32](o.grads[2]))
		for site, t := range o.captures {
			p.copyRows(capRows[site], t, start, chunk)
		}
		for site, t := range o.siteGrads {
			p.copyRows(gradRows[site], t, start, chunk)
		}
		finalize(qc, gc)
		finalize(o.primary...)
		finalize(o.grads...)
		finalizeMap(o.captures)
		finalizeMap(o.siteGrads)
	}
	for site, t := range capRows {
		cache[hook.At(site, l)] = t
	}
	for site, t := range gradRows {
		grads[hook.At(site, l)] = t
	}
	return dq, dk, dv, nil
}

func addInto(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

func finalize(ts ...*tensors.Tensor) {
	for _, t := range ts {
		if t != nil {
			t.FinalizeAll()
		}
	}
}

func finalizeMap(m map[hook.Site]*tensors.Tensor) {
	for _, t := range m {
		t.FinalizeAll()
	}
}
