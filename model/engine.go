package model

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/agentlens/agentlens/model/hook"
	_ "github.com/agentlens/agentlens/model/internal/autodiff" // transformer-ready VJPs
	"github.com/agentlens/agentlens/model/internal/fastdot"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Options are run-time knobs of a loaded model.
type Options struct {
	// Bucket rounds sequence lengths up to a multiple of this many positions so compiled graphs are
	// reused (padding sits after the real tokens, where causal attention cannot see it). Default 64.
	Bucket int
	// AttnChunk is the query-chunk size for long sequences: when the padded length exceeds ChunkAbove,
	// each block runs as three graphs (pre-attention, attention chunk by chunk, post-attention) so no
	// [pos, pos] tensor of the whole sequence exists, and lengths are padded to a multiple of it.
	// Default 1024; negative disables chunking.
	AttnChunk int
	// ChunkAbove is the padded length above which attention is chunked. Below it one graph per block
	// holds the whole [head, pos, pos] attention, which is faster (fewer host round trips, better
	// fusion: 4k-token gradient 137 s unchunked vs 235 s in 1,024-query chunks on XLA CPU) at
	// ~0.8 GB per [head, pos, pos] f32 tensor at 4.6k tokens on SmolLM2. Default 5120; 0 or less with
	// AttnChunk set means AttnChunk.
	ChunkAbove int
	// GraphAttention computes attention inside the backend's block graphs, forward and backward. By
	// default a pass that captures no attention scores or pattern computes each layer's attention with
	// the tiled host kernel of model/internal/attn (pre-attention graph, kernel, post-attention graph),
	// which never forms the [head, pos, pos] scores: 9.7 s instead of 14.5 s of attention at 4k tokens
	// on SmolLM2 with XLA. Runs after a Prefix use it too (the stored keys come first), and so do
	// gradients: the kernel's flash backward (attn.Backward) gives dq, dk and dv between the post- and
	// pre-attention backward graphs, unless the layer's attention scores or pattern are among the Wrt
	// sites.
	GraphAttention bool
	// Progress, if set, is called after each layer of a forward or backward pass.
	Progress func(stage string, done, total int)
}

// Model is a decoder loaded into a GoMLX backend, ready to run with hooks.
type Model struct {
	Arch    *Arch
	backend backends.Backend
	opts    Options

	embed     []float32 // [d_vocab, d_model] host copy for gathering rows; nil when tied (rows come from unembed)
	layerW    [][]*tensors.Tensor
	finalNorm *tensors.Tensor
	unembed   *tensors.Tensor // [d_vocab, d_model]
	ropeGroup []int           // layer → first layer with the same RoPE setting

	// fullAttention turns block-causal attention off (tests compare the two).
	fullAttention bool
	// hostLayers counts layer attentions computed by the host kernel (tests check the path is taken).
	hostLayers atomic.Int64
	// prof, if set, adds up the passes' phase times (SetProfile).
	prof atomic.Pointer[Profile]

	mu    sync.Mutex
	execs map[string]*graph.Exec
	rope  map[[2]int][2]*tensors.Tensor // (rope group, padded length) → cos, sin
}

// Backend returns the GoMLX backend the model runs on.
func (m *Model) Backend() backends.Backend { return m.backend }

// Dims returns the model's sizes.
func (m *Model) Dims() Dims { return m.Arch.Dims }

// ContextLength returns the context length the model was trained for (0: unknown). Runs longer than it
// are not refused here (RoPE extrapolates), but attribution over them is not to be trusted: commands
// refuse such episodes.
func (m *Model) ContextLength() int { return m.Arch.ContextLength }

// newModel builds a Model from host weights. get returns a weight by Hugging Face name, already checked
// against the shape the architecture expects.
func newModel(a *Arch, backend backends.Backend, opts Options, get func(name string, shape []int) ([]float32, error)) (*Model, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if _, ok := backend.(*simplego.Backend); ok {
		// SimpleGo's stock DotGeneral runs at a few GFLOP/s; the sgemm-backed one is ~10× faster. On a
		// GoMLX whose internals differ, Install installs nothing and the stock executor stays: results
		// are the same either way, only slower.
		_ = fastdot.Install()
	}
	if opts.Bucket <= 0 {
		opts.Bucket = 64
	}
	if opts.ChunkAbove == 0 && opts.AttnChunk == 0 {
		opts.ChunkAbove = 5120
	}
	if opts.ChunkAbove <= 0 {
		opts.ChunkAbove = opts.AttnChunk
	}
	if opts.AttnChunk == 0 {
		opts.AttnChunk = 1024
	}
	m := &Model{Arch: a, backend: backend, opts: opts, execs: map[string]*graph.Exec{}, rope: map[[2]int][2]*tensors.Tensor{}}
	d := a.Dims
	embed, err := get(a.Names.Embed, []int{d.DVocab, d.DModel})
	if err != nil {
		return nil, err
	}
	fn, err := get(a.Names.FinalNorm, []int{d.DModel})
	if err != nil {
		return nil, err
	}
	if m.finalNorm, err = onDevice(backend, fn, d.DModel); err != nil {
		return nil, fmt.Errorf("final norm: %w", err)
	}
	// A tied table is kept once, in the device's shared buffer: embedInput gathers its rows from there.
	unembed := embed
	if !a.TiedEmbed {
		if unembed, err = get(a.Names.Unembed, []int{d.DVocab, d.DModel}); err != nil {
			return nil, err
		}
		m.embed = embed
	}
	if m.unembed, err = onDevice(backend, unembed, d.DVocab, d.DModel); err != nil {
		return nil, fmt.Errorf("unembedding: %w", err)
	}
	roles := a.roles()
	m.layerW = make([][]*tensors.Tensor, d.NLayers)
	for l := 0; l < d.NLayers; l++ {
		fused := map[string][]float32{}
		for _, r := range roles {
			shape := a.roleShape(r)
			data, err := a.layerWeight(l, r, get, fused)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", l, err)
			}
			w, err := onDevice(backend, data, shape...)
			if err != nil {
				return nil, fmt.Errorf("layer %d weight %v: %w", l, r, err)
			}
			m.layerW[l] = append(m.layerW[l], w)
		}
	}
	m.ropeGroup = make([]int, d.NLayers)
	for l := range m.ropeGroup {
		m.ropeGroup[l] = l
		for j := 0; j < l; j++ {
			if slices.Equal(a.LayerRoPE[j].InvFreq, a.LayerRoPE[l].InvFreq) && a.LayerRoPE[j].Scale == a.LayerRoPE[l].Scale {
				m.ropeGroup[l] = j
				break
			}
		}
	}
	return m, nil
}

// exec returns the compiled-graph executor for a key, building it with fn the first time.
func (m *Model) exec(key string, fn func([]*graph.Node) []*graph.Node) (*graph.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.execs[key]; ok {
		return e, nil
	}
	e, err := graph.NewExec(m.backend, fn)
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(-1)
	m.execs[key] = e
	return e, nil
}

// run executes an executor, turning graph-building panics into errors.
func run(e *graph.Exec, args []any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("model: graph execution: %v", r)
		}
	}()
	return e.Exec(args...)
}

func (m *Model) ropeTables(layer, tp int) (cos, sin *tensors.Tensor) {
	g := m.ropeGroup[layer]
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.rope[[2]int{g, tp}]; ok {
		return t[0], t[1]
	}
	c, s := ropeTables(m.Arch.LayerRoPE[g], tp, m.Arch.DHead)
	ct := tensors.FromFlatDataAndDimensions(c, tp, m.Arch.DHead)
	st := tensors.FromFlatDataAndDimensions(s, tp, m.Arch.DHead)
	m.rope[[2]int{g, tp}] = [2]*tensors.Tensor{ct, st}
	return ct, st
}

// ropeTables returns the rotary tables of layer l for the pass's positions: offset.. after a prefix.
// In a packed pass each sequence's rows get its own positions (padding rows position 0).
func (p *pass) ropeTables(l int) (cos, sin *tensors.Tensor) {
	if p.offset == 0 && p.packed == nil {
		return p.m.ropeTables(l, p.tp)
	}
	a := p.m.Arch
	g := p.m.ropeGroup[l]
	if p.rope == nil {
		p.rope = map[int][2]*tensors.Tensor{}
	}
	if t, ok := p.rope[g]; ok {
		return t[0], t[1]
	}
	spans := p.packed
	if spans == nil {
		spans = []span{{start: 0, n: p.tp, prefix: p.prefix}}
	}
	end := 1
	for _, s := range spans {
		end = max(end, s.prefix.Len()+s.n)
	}
	dh := a.DHead
	c, s := ropeTables(a.LayerRoPE[g], end, dh)
	ct, st := make([]float32, p.tp*dh), make([]float32, p.tp*dh)
	for row := range p.tp { // padding rows: position 0
		copy(ct[row*dh:(row+1)*dh], c[:dh])
		copy(st[row*dh:(row+1)*dh], s[:dh])
	}
	for _, sp := range spans {
		from := sp.prefix.Len() * dh
		copy(ct[sp.start*dh:(sp.start+sp.n)*dh], c[from:])
		copy(st[sp.start*dh:(sp.start+sp.n)*dh], s[from:])
	}
	t := [2]*tensors.Tensor{tensors.FromFlatDataAndDimensions(ct, p.tp, dh), tensors.FromFlatDataAndDimensions(st, p.tp, dh)}
	p.rope[g] = t
	return t[0], t[1]
}

// bucket returns the padded length for n positions and whether attention runs in query chunks.
func (m *Model) bucket(n int) (int, bool) {
	b := m.opts.Bucket
	tp := (n + b - 1) / b * b
	if c := m.opts.AttnChunk; c > 0 && tp > max(c, m.opts.ChunkAbove) {
		return (n + c - 1) / c * c, true
	}
	return tp, false
}

// siteShape returns a block site's activation shape for batch 1 and T positions.
func (a *Arch) siteShape(s hook.Site, T int) []int {
	d := a.Dims
	switch s {
	case hook.Q, hook.RotQ, hook.Z:
		return []int{1, T, d.NHeads, d.DHead}
	case hook.K, hook.V, hook.RotK:
		return []int{1, T, d.NKVHeads, d.DHead}
	case hook.AttnScores, hook.Pattern:
		return []int{1, d.NHeads, T, T}
	case hook.MLPPre, hook.MLPPreLinear, hook.MLPPost:
		return []int{1, T, d.DMLP}
	}
	return []int{1, T, d.DModel}
}

// pass holds the per-run state shared by forward and backward passes.
type pass struct {
	m       *Model
	T, tp   int
	tokens  []int
	byLayer []map[hook.Site]*Intervention
	posW    *tensors.Tensor
	chunked bool
	// prefix, with offset its length, supplies the keys and values of the positions before tokens.
	prefix *Prefix
	offset int
	rope   map[int][2]*tensors.Tensor // rope group → tables at the rows' positions (offset > 0 or packed)
	// packed (RunBatch) lists the sequences stacked in the pass's rows: position-wise stages see all tp
	// rows, attention runs sequence by sequence, each after its own prefix.
	packed []span
	// attnKept, when not nil (a gradient's pass), holds per layer the z and row log-sum-exp that the
	// forward's host attention computed, for the backward (T·(NHeads·DHead+NHeads) floats a layer).
	attnKept []*hostBackward
}

// span is one sequence of a packed pass: rows [start, start+n) at positions prefix.Len().. after
// prefix (nil: none).
type span struct {
	start, n int
	prefix   *Prefix
}

func (m *Model) newPass(tokens []int, ivs []Intervention) (*pass, error) {
	d := m.Arch.Dims
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrBadInput)
	}
	for i, t := range tokens {
		if t < 0 || t >= d.DVocab {
			return nil, fmt.Errorf("%w: token %d at position %d outside vocabulary of %d", ErrBadInput, t, i, d.DVocab)
		}
	}
	p := &pass{m: m, T: len(tokens), tokens: tokens, byLayer: make([]map[hook.Site]*Intervention, d.NLayers)}
	p.setTP(m.bucket(len(tokens)))
	for i := range ivs {
		iv := &ivs[i]
		if err := p.checkIntervention(iv); err != nil {
			return nil, err
		}
		if iv.Hook.Site.InBlock() {
			if p.byLayer[iv.Hook.Layer] == nil {
				p.byLayer[iv.Hook.Layer] = map[hook.Site]*Intervention{}
			}
			if _, dup := p.byLayer[iv.Hook.Layer][iv.Hook.Site]; dup {
				return nil, fmt.Errorf("%w: two interventions on %s", ErrBadInput, iv.Hook)
			}
			p.byLayer[iv.Hook.Layer][iv.Hook.Site] = iv
		}
	}
	return p, nil
}

// setTP sets the padded length (and whether attention runs in query chunks) and the position weights
// of a mean over the real positions.
func (p *pass) setTP(tp int, chunked bool) {
	p.tp, p.chunked = tp, chunked
	w := make([]float32, p.tp)
	for i := 0; i < p.T; i++ {
		w[i] = 1 / float32(p.T)
	}
	p.posW = tensors.FromFlatDataAndDimensions(w, p.tp)
}

func (p *pass) checkIntervention(iv *Intervention) error {
	a := p.m.Arch
	if iv.Hook.Site == hook.LnFinal {
		return fmt.Errorf("%w: interventions on %s are not supported", ErrBadInput, iv.Hook)
	}
	if iv.Hook.Site.InBlock() && (iv.Hook.Layer < 0 || iv.Hook.Layer >= a.NLayers) {
		return fmt.Errorf("%w: %s: model has %d layers", ErrBadInput, iv.Hook, a.NLayers)
	}
	for _, pos := range iv.Positions {
		if pos < 0 || pos >= p.T {
			return fmt.Errorf("%w: %s: position %d outside [0,%d)", ErrBadInput, iv.Hook, pos, p.T)
		}
	}
	full := a.siteShape(iv.Hook.Site, p.T)
	if iv.Hook.Site == hook.Embed {
		full = []int{1, p.T, a.DModel}
	}
	row := slices.Clone(full[1:])
	row = slices.Delete(row, posAxis(iv.Hook.Site)-1, posAxis(iv.Hook.Site))
	switch iv.Kind {
	case Replace:
		if iv.Values == nil || !slices.Equal(iv.Values.Shape, full) {
			return fmt.Errorf("%w: %s: replace values have shape %v, want %v", ErrBadInput, iv.Hook, shapeOf(iv.Values), full)
		}
	case Add:
		if iv.Values == nil || iv.Values.Numel() != numel(row) {
			return fmt.Errorf("%w: %s: add values have shape %v, want %v", ErrBadInput, iv.Hook, shapeOf(iv.Values), row)
		}
	case Project:
		if len(row) != 1 {
			return fmt.Errorf("%w: %s: a projection needs a site with one-axis rows, not %v", ErrBadInput, iv.Hook, row)
		}
		if iv.Values == nil || iv.Values.Numel() != row[0] {
			return fmt.Errorf("%w: %s: direction has shape %v, want %v", ErrBadInput, iv.Hook, shapeOf(iv.Values), row)
		}
		vv := 0.0
		for _, x := range iv.Values.Data {
			vv += float64(x) * float64(x)
		}
		if !(vv > 0) || math.IsInf(vv, 0) {
			return fmt.Errorf("%w: %s: direction has squared norm %g, want a finite positive one", ErrBadInput, iv.Hook, vv)
		}
	case Mean:
		if iv.Values == nil && p.chunked && (iv.Hook.Site == hook.AttnScores || iv.Hook.Site == hook.Pattern) {
			return fmt.Errorf("%w: %s: mean over positions of attention is not available for chunked long sequences; pass the mean as Values", ErrBadInput, iv.Hook)
		}
		if iv.Values != nil && iv.Values.Numel() != numel(row) {
			return fmt.Errorf("%w: %s: mean values have shape %v, want %v", ErrBadInput, iv.Hook, shapeOf(iv.Values), row)
		}
	case Zero:
	default:
		return fmt.Errorf("%w: %s: unknown intervention kind %d", ErrBadInput, iv.Hook, iv.Kind)
	}
	return nil
}

func shapeOf(t *Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}

// internalKind maps a user intervention to the graph's kind.
func internalKind(iv *Intervention) InterventionKind {
	if iv.Kind == Mean && iv.Values != nil {
		return meanGiven
	}
	return iv.Kind
}

// onDevice puts a weight onto the device at load time, in a buffer the host shares with it where the
// backend has them (XLA's CPU plugin, SimpleGo): the host slice is dropped, instead of staying next to
// the device's own copy for the model's lifetime.
func onDevice(backend backends.Backend, data []float32, dims ...int) (*tensors.Tensor, error) {
	t := tensors.FromFlatDataAndDimensions(data, dims...)
	if err := t.MaterializeOnDevice(backend, true, 0); err != nil {
		return nil, fmt.Errorf("to the device: %w", err)
	}
	return t, nil
}

// embedInput gathers (and scales) embeddings into [1, tp, d_model], applying hook_embed interventions.
// The rows come from the host table, or, for tied embeddings, from the unembedding's shared buffer.
func (p *pass) embedInput(ivs []Intervention) (*Tensor, error) {
	defer p.m.spent(PhaseEmbed, p.m.mark())
	a := p.m.Arch
	D := a.DModel
	x := NewTensor(1, p.tp, D)
	scale := a.EmbedScale
	if scale == 0 {
		scale = 1
	}
	gather := func(table []float32) {
		for i, t := range p.tokens {
			row := table[t*D : (t+1)*D]
			dst := x.Data[i*D : (i+1)*D]
			for j, v := range row {
				dst[j] = v * scale
			}
		}
	}
	if p.m.embed != nil {
		gather(p.m.embed)
	} else if err := tensors.ConstFlatData(p.m.unembed, gather); err != nil {
		return nil, fmt.Errorf("model: embedding rows: %w", err)
	}
	for i := range ivs {
		if ivs[i].Hook.Site == hook.Embed {
			applyHostIntervention(&ivs[i], x, p.T)
		}
	}
	return x, nil
}

// applyHostIntervention applies an intervention to a [1, tp, D] host tensor (hook_embed).
func applyHostIntervention(iv *Intervention, x *Tensor, T int) {
	D := x.Shape[2]
	positions := iv.Positions
	if positions == nil {
		positions = make([]int, T)
		for i := range positions {
			positions[i] = i
		}
	}
	var mean []float32
	if iv.Kind == Mean {
		mean = make([]float32, D)
		if iv.Values != nil {
			copy(mean, iv.Values.Data)
		} else {
			for i := 0; i < T; i++ {
				for j := 0; j < D; j++ {
					mean[j] += x.Data[i*D+j] / float32(T)
				}
			}
		}
	}
	for _, pos := range positions {
		dst := x.Data[pos*D : (pos+1)*D]
		switch iv.Kind {
		case Replace:
			copy(dst, iv.Values.Data[pos*D:(pos+1)*D])
		case Zero:
			clear(dst)
		case Mean:
			copy(dst, mean)
		case Add:
			for j := range dst {
				dst[j] += iv.Values.Data[j]
			}
		case Project:
			var dot, vv float32
			for j, v := range iv.Values.Data {
				dot += dst[j] * v
				vv += v * v
			}
			for j, v := range iv.Values.Data {
				dst[j] -= dot / vv * v
			}
		}
	}
}

// blockExec returns the executor for a layer spec.
func (m *Model) blockExec(spec blockSpec) (*graph.Exec, error) {
	return m.exec("block:"+spec.key(), func(in []*graph.Node) []*graph.Node {
		layout := m.Arch.blockInputLayout(spec)
		// Values of Add / meanGiven arrive flat; reshape them to the site row shape.
		args := slices.Clone(in)
		// Sequence length: the residual's, or (attention core) the keys'.
		seq := layout.x
		if seq < 0 {
			seq = layout.k
		}
		T := in[seq].Shape().Dimensions[1]
		for site, vi := range layout.values {
			if spec.sites[site].kind == Replace {
				continue
			}
			row := slices.Clone(m.Arch.siteShape(site, T)[1:])
			row = slices.Delete(row, posAxis(site)-1, posAxis(site))
			args[vi] = graph.Reshape(in[vi], row...)
		}
		return m.Arch.buildBlock(spec, args)
	})
}

// toHost copies a [1, tp, ...] device tensor to a host Tensor cut to T positions along the position axis.
func (p *pass) toHost(site hook.Site, t *tensors.Tensor) *Tensor {
	dims := t.Shape().Dimensions
	flat := tensors.MustCopyFlatData[float32](t)
	switch site {
	case hook.AttnScores, hook.Pattern: // [1, H, tp, tp] → [1, H, T, T]
		H := dims[1]
		out := NewTensor(1, H, p.T, p.T)
		for h := 0; h < H; h++ {
			for q := 0; q < p.T; q++ {
				copy(out.Data[(h*p.T+q)*p.T:(h*p.T+q+1)*p.T], flat[(h*p.tp+q)*p.tp:])
			}
		}
		return out
	default:
		shape := slices.Clone(dims)
		shape[1] = p.T
		return &Tensor{Shape: shape, Data: flat[:numel(shape)]}
	}
}
