package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/agentlens/agentlens/model/internal/attn"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// This file generates text with a KV cache. The prompt runs once (Run capturing PrefixSites, after
// SampleOptions.Prefix where it matches) and its keys and values become a Prefix shared by every sample.
// Each decoding step then feeds the samples' latest tokens as the rows of one pass: per layer, the
// pre-attention graph (norm, q/k/v projections, qk norms, RoPE at the rows' position) on all rows, the
// new keys and values appended to each sample's own cache, attention on the host (attn.Decode: each row's
// query against the shared prompt keys and values, transposed once per call, and its own, read in
// place), and the post-attention graph, fused with the next layer's pre-attention graph; then the final
// norm and unembedding of the rows. The graphs are the ones Run uses, so every family's layers (qk
// norms, sliding windows, soft caps, post-norms) behave as in a forward pass.

// SampleOptions configure Generate.
type SampleOptions struct {
	// MaxTokens is the most new tokens per sample (required > 0).
	MaxTokens int
	// Temperature divides the logits before sampling; 0 is greedy decoding (argmax, ties to the
	// lowest id; the RNG is not used).
	Temperature float64
	// TopK keeps the TopK highest-scoring tokens (and any tied with the TopK-th, as Hugging Face's
	// TopKLogitsWarper); 0 turns it off.
	TopK int
	// TopP keeps the smallest set of most probable tokens whose probability reaches TopP (nucleus
	// sampling, as Hugging Face's TopPLogitsWarper); 0 or 1 turns it off.
	TopP float64
	// MinP keeps the tokens with p ≥ MinP·p_max (Hugging Face's MinPLogitsWarper); 0 turns it off.
	MinP float64
	// Seed seeds the samples' generators: sample i draws from a PCG seeded with (Seed, FirstSample+i),
	// so samples are reproducible across runs, backends and batch sizes.
	Seed uint64
	// FirstSample numbers the samples from FirstSample on (for their seeds and Stop): generating
	// samples 0..7 at once or 8 calls with FirstSample 0..7 and n = 1 gives the same samples.
	FirstSample int
	// StopTokens end a sample (e.g. EOS and end-of-turn ids); the stop token is included in Tokens.
	StopTokens []int
	// Stop, if set, is asked after each token with the sample's number and its tokens so far (the
	// caller decodes and checks stop strings); true ends the sample. It must not keep generated.
	Stop func(sample int, generated []int) bool
	// Prefix holds the keys and values of a prefix of the prompt (e.g. the previous agent turn's, from
	// GeneratePrefix); only the tokens it shares with the start of the prompt are reused.
	Prefix *Prefix
	// Progress, if set, is called after each decoding step with the tokens generated so far over all
	// samples and the most there can be (n·MaxTokens).
	Progress func(done, total int)
}

// Generation is one sample of Generate.
type Generation struct {
	// Tokens are the generated tokens (a stop token included).
	Tokens []int
	// LogProbs are the log-probabilities of Tokens under the model's own distribution (log-softmax of
	// the logits, before temperature and truncation).
	LogProbs []float32
	// StopReason says why the sample ended: "stop_token", "stop" (SampleOptions.Stop) or "max_tokens".
	StopReason string

	// kv is the decoding cache: the prompt's Prefix and the sample's own keys and values (for
	// GeneratePrefix; a Generation holds them as long as it is kept).
	kv *sampleKV
}

// Stop reasons of a Generation.
const (
	StopToken = "stop_token"
	StopFunc  = "stop"
	StopMax   = "max_tokens"
)

// GenerateStats time a Generate call. Decoding speed is Generated/DecodeSeconds tokens per second.
type GenerateStats struct {
	// PromptTokens is the prompt's length; PrefixReused how many of its positions came from
	// SampleOptions.Prefix rather than being computed.
	PromptTokens, PrefixReused int
	// Generated is the number of tokens generated over all samples.
	Generated int
	// PrefillSeconds is the time to run the prompt, DecodeSeconds the time of the decoding steps
	// (forward passes and sampling).
	PrefillSeconds, DecodeSeconds float64
}

// sampleKV is a sample's decoding cache: the keys and values of its generated tokens that have been fed
// back (all but the last), per layer [pos, n_kv_heads, d_head] flat, after the prompt's.
type sampleKV struct {
	prompt *Prefix
	k, v   [][]float32
}

// check validates the options for a model with vocabulary v.
func (o *SampleOptions) check(vocab int) error {
	switch {
	case o.MaxTokens <= 0:
		return fmt.Errorf("%w: generate: MaxTokens %d, want > 0", ErrBadInput, o.MaxTokens)
	case !(o.Temperature >= 0) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("%w: generate: temperature %g, want a finite value ≥ 0", ErrBadInput, o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("%w: generate: TopK %d, want ≥ 0", ErrBadInput, o.TopK)
	case !(o.TopP >= 0 && o.TopP <= 1):
		return fmt.Errorf("%w: generate: TopP %g, want in [0, 1]", ErrBadInput, o.TopP)
	case !(o.MinP >= 0 && o.MinP <= 1):
		return fmt.Errorf("%w: generate: MinP %g, want in [0, 1]", ErrBadInput, o.MinP)
	case o.FirstSample < 0:
		return fmt.Errorf("%w: generate: FirstSample %d, want ≥ 0", ErrBadInput, o.FirstSample)
	}
	for _, t := range o.StopTokens {
		if t < 0 || t >= vocab {
			return fmt.Errorf("%w: generate: stop token %d outside vocabulary of %d", ErrBadInput, t, vocab)
		}
	}
	return nil
}

// Generate samples n continuations of prompt. The prompt's keys and values are computed once (reusing
// opts.Prefix where it matches the prompt's start) and shared by all samples, which decode together:
// each step runs the active samples' latest tokens as the rows of one pass, attending to the shared
// prompt cache and their own. Sample i is drawn with its own generator (see SampleOptions.Seed), so a
// sample does not depend on the others. prompt plus MaxTokens must fit the model's context length when
// it is known.
func (m *Model) Generate(prompt []int, n int, opts SampleOptions) (gens []Generation, stats *GenerateStats, err error) {
	a := m.Arch
	if err := opts.check(a.DVocab); err != nil {
		return nil, nil, err
	}
	if n <= 0 {
		return nil, nil, fmt.Errorf("%w: generate: %d samples, want > 0", ErrBadInput, n)
	}
	if len(prompt) == 0 {
		return nil, nil, fmt.Errorf("%w: generate: empty prompt", ErrBadInput)
	}
	if c := a.ContextLength; c > 0 && len(prompt)+opts.MaxTokens > c {
		return nil, nil, fmt.Errorf("%w: generate: %d prompt tokens + %d new exceed the model's context length of %d",
			ErrBadInput, len(prompt), opts.MaxTokens, c)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("model: generate: %v", r)
		}
	}()
	start := time.Now()
	pf, err := m.reusablePrefix(prompt, opts.Prefix)
	if err != nil {
		return nil, nil, err
	}
	res, err := m.Run(prompt, RunOptions{Prefix: pf, Capture: m.PrefixSites()})
	if err != nil {
		return nil, nil, fmt.Errorf("generate: prompt: %w", err)
	}
	full, err := m.ExtendPrefix(pf, prompt, res)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: prompt: %w", err)
	}
	stats = &GenerateStats{PromptTokens: len(prompt), PrefixReused: res.Offset, PrefillSeconds: time.Since(start).Seconds()}
	start = time.Now()
	d := newDecoder(m, full, n, opts)
	gens = make([]Generation, n)
	for i := range gens {
		gens[i].kv = d.kv[i]
	}
	// Every sample's first token comes from the prompt's last logits.
	logits := make([][]float32, n)
	active := make([]int, n)
	for i := range n {
		logits[i], active[i] = res.Logits.Row(0), i
	}
	total := n * opts.MaxTokens
	for len(active) > 0 {
		next := active[:0:0]
		for r, i := range active {
			g := &gens[i]
			tok := d.sample(i, logits[r])
			g.Tokens = append(g.Tokens, tok)
			g.LogProbs = append(g.LogProbs, logProb(logits[r], tok))
			stats.Generated++
			switch {
			case slices.Contains(opts.StopTokens, tok):
				g.StopReason = StopToken
			case opts.Stop != nil && opts.Stop(opts.FirstSample+i, g.Tokens):
				g.StopReason = StopFunc
			case len(g.Tokens) == opts.MaxTokens:
				g.StopReason = StopMax
			default:
				next = append(next, i)
			}
		}
		if opts.Progress != nil {
			opts.Progress(stats.Generated, total)
		}
		active = next
		if len(active) == 0 {
			break
		}
		feed := make([]int, len(active))
		for r, i := range active {
			feed[r] = gens[i].Tokens[len(gens[i].Tokens)-1]
		}
		if logits, err = d.step(active, feed); err != nil {
			return nil, nil, fmt.Errorf("generate: step %d: %w", len(gens[active[0]].Tokens), err)
		}
	}
	stats.DecodeSeconds = time.Since(start).Seconds()
	return gens, stats, nil
}

// reusablePrefix returns the part of pf (nil: none) that prompt starts with, checking it was made by m.
func (m *Model) reusablePrefix(prompt []int, pf *Prefix) (*Prefix, error) {
	if pf == nil {
		return nil, nil
	}
	if pf.nLayers != m.Arch.NLayers || pf.k[0].Shape[2] != m.Arch.NKVHeads || pf.k[0].Shape[3] != m.Arch.DHead {
		return nil, fmt.Errorf("%w: generate: prefix was made by a different model", ErrBadInput)
	}
	c := 0
	for c < min(len(prompt), pf.Len()) && prompt[c] == pf.tokens[c] {
		c++
	}
	return pf.Truncate(c)
}

// GeneratePrefix returns the Prefix of prompt followed by g.Tokens, for the next turn of an agent (pass
// it as SampleOptions.Prefix or RunOptions.Prefix). g must come from m.Generate(prompt, …): its keys
// and values are taken from the decoding cache, and only the last generated token (never fed back) is
// run.
func (m *Model) GeneratePrefix(prompt []int, g Generation) (*Prefix, error) {
	tokens := append(slices.Clone(prompt), g.Tokens...)
	kv := g.kv
	if kv == nil || len(g.Tokens) == 0 || !slices.Equal(kv.prompt.tokens, prompt) || kv.prompt.nLayers != m.Arch.NLayers {
		return nil, fmt.Errorf("%w: generate prefix: the generation was not made from this prompt by this model", ErrBadInput)
	}
	fed := len(tokens) - 1
	row := m.Arch.NKVHeads * m.Arch.DHead
	c := Cache{}
	names := m.PrefixSites()
	for l := range m.Arch.NLayers {
		for i, own := range [][]float32{kv.k[l], kv.v[l]} {
			src := kv.prompt.k[l]
			if i == 1 {
				src = kv.prompt.v[l]
			}
			if len(own) != (fed-len(prompt))*row {
				return nil, fmt.Errorf("%w: generate prefix: the generation's cache holds %d positions, want %d", ErrBadInput, len(own)/row, fed-len(prompt))
			}
			t := &Tensor{Shape: []int{1, fed, m.Arch.NKVHeads, m.Arch.DHead}, Data: make([]float32, 0, fed*row)}
			t.Data = append(append(t.Data, src.Data[:len(prompt)*row]...), own...)
			c[names[2*l+i]] = t
		}
	}
	before, err := m.PrefixFromCache(tokens[:fed], c)
	if err != nil {
		return nil, err
	}
	res, err := m.Run(tokens, RunOptions{Prefix: before, Capture: names})
	if err != nil {
		return nil, fmt.Errorf("generate prefix: %w", err)
	}
	return m.ExtendPrefix(before, tokens, res)
}

// decoder holds the state of one Generate's decoding steps.
type decoder struct {
	m      *Model
	prompt *Prefix
	opts   SampleOptions
	kv     []*sampleKV
	rngs   []*rand.Rand
	rope   map[int][2][]float32 // rope group → cos, sin for positions 0..prompt+MaxTokens
	kt, vt [][]float32          // per layer, the prompt's keys and values transposed for attn.Decode
	samp   sampler
}

func newDecoder(m *Model, prompt *Prefix, n int, opts SampleOptions) *decoder {
	a := m.Arch
	d := &decoder{m: m, prompt: prompt, opts: opts, rope: map[int][2][]float32{}}
	row := a.NKVHeads * a.DHead
	// The caches grow by appending; start with room for min(MaxTokens, 256) positions.
	c := min(opts.MaxTokens, 256) * row
	for i := range n {
		kv := &sampleKV{prompt: prompt, k: make([][]float32, a.NLayers), v: make([][]float32, a.NLayers)}
		for l := range a.NLayers {
			kv.k[l], kv.v[l] = make([]float32, 0, c), make([]float32, 0, c)
		}
		d.kv = append(d.kv, kv)
		d.rngs = append(d.rngs, rand.New(rand.NewPCG(opts.Seed, uint64(opts.FirstSample+i))))
	}
	s := attn.Shape{NHeads: a.NHeads, NKVHeads: a.NKVHeads, DHead: a.DHead}
	for l := range a.NLayers {
		d.kt = append(d.kt, attn.TransposeKeys(prompt.k[l].Data, s, prompt.Len()))
		d.vt = append(d.vt, attn.TransposeKeys(prompt.v[l].Data, s, prompt.Len()))
	}
	end := prompt.Len() + opts.MaxTokens
	for _, g := range m.ropeGroup {
		if _, ok := d.rope[g]; !ok {
			cos, sin := ropeTables(a.LayerRoPE[g], end, a.DHead)
			d.rope[g] = [2][]float32{cos, sin}
		}
	}
	return d
}

// sample draws sample i's next token from its logits.
func (d *decoder) sample(i int, logits []float32) int {
	return d.samp.sample(logits, &d.opts, d.rngs[i])
}

// decodeRows is the number of pass rows for r active samples: 1, 2, 4, 8, then multiples of 8, so a
// handful of graph shapes serve a whole generation as samples finish.
func decodeRows(r int) int {
	if r > 8 {
		return (r + 7) / 8 * 8
	}
	n := 1
	for n < r {
		n *= 2
	}
	return n
}

// step feeds tokens (one per active sample, in the order of active) and returns each row's next-token
// logits. All active samples have generated the same number of tokens, so the rows share a position.
func (d *decoder) step(active, feed []int) ([][]float32, error) {
	m, a := d.m, d.m.Arch
	rows := len(active)
	pos := d.prompt.Len() + len(d.kv[active[0]].k[0])/(a.NKVHeads*a.DHead)
	p, err := m.newPass(feed, nil)
	if err != nil {
		return nil, err
	}
	p.setTP(decodeRows(rows), false)
	dh := a.DHead
	p.rope = map[int][2]*tensors.Tensor{}
	for g, t := range d.rope {
		cos, sin := make([]float32, p.tp*dh), make([]float32, p.tp*dh)
		for r := range p.tp {
			copy(cos[r*dh:(r+1)*dh], t[0][pos*dh:])
			copy(sin[r*dh:(r+1)*dh], t[1][pos*dh:])
		}
		p.rope[g] = [2]*tensors.Tensor{tensors.FromFlatDataAndDimensions(cos, p.tp, dh), tensors.FromFlatDataAndDimensions(sin, p.tp, dh)}
	}
	p.offset = pos // ropeTables reads p.rope when offset > 0
	x0, err := p.embedInput(nil)
	if err != nil {
		return nil, err
	}
	x := tensors.FromFlatDataAndDimensions(x0.Data, x0.Shape...)
	s := attn.Shape{T: p.tp, NHeads: a.NHeads, NKVHeads: a.NKVHeads, DHead: dh, Cap: a.AttnSoftcap}
	kvRow, qRow := a.NKVHeads*dh, a.NHeads*dh
	segs := make([][]attn.Segment, p.tp)
	positions := make([]int, p.tp)
	P := d.prompt.Len()
	xs, q, k, v, err := p.preForward(0, x, nil, Cache{}, nil)
	if err != nil {
		return nil, err
	}
	for l := range a.NLayers {
		qh, kh, vh := m.hostCopy(q), m.hostCopy(k), m.hostCopy(v)
		finalize(q, k, v)
		t0 := m.mark()
		for r, i := range active {
			kv := d.kv[i]
			kv.k[l] = append(kv.k[l], kh[r*kvRow:(r+1)*kvRow]...)
			kv.v[l] = append(kv.v[l], vh[r*kvRow:(r+1)*kvRow]...)
			segs[r] = []attn.Segment{
				{KT: d.kt[l], VT: d.vt[l], Start: 0, N: P},
				{K: kv.k[l], V: kv.v[l], Start: P, N: len(kv.k[l]) / kvRow},
			}
			positions[r] = pos
		}
		z := make([]float32, p.tp*qRow)
		if err := attn.Decode(z, qh, segs, positions, s, float32(a.AttnScale), a.window(l)); err != nil {
			return nil, fmt.Errorf("layer %d attention: %w", l, err)
		}
		m.spent(PhaseAttention, t0)
		m.hostLayers.Add(1)
		zt, err := m.upload(z, 1, p.tp, a.NHeads, dh)
		if err != nil {
			return nil, err
		}
		if l == a.NLayers-1 {
			o, err := p.runStage(l, p.layerSpec(l, stagePost, nil, nil, false), stageIn{x: xs, z: zt})
			if err != nil {
				return nil, err
			}
			finalize(xs, zt)
			x = o.primary[0]
			break
		}
		// Layer l's post-attention and layer l+1's pre-attention in one graph.
		nxs, nq, nk, nv, err := p.postPre(l, xs, zt)
		if err != nil {
			return nil, err
		}
		q, k, v = nq, nk, nv
		finalize(xs, zt)
		xs = nxs
	}
	logits, _, err := p.head(x, AllPositions(rows), false)
	x.FinalizeAll()
	if err != nil {
		return nil, err
	}
	out := make([][]float32, rows)
	for r := range out {
		out[r] = logits.Row(r)
	}
	return out, nil
}

// postPre runs layer l's post-attention stage and layer l+1's pre-attention stage as one graph (half
// the graph executions of a decoding step), returning layer l+1's resid_pre and rotated q, k and v.
func (p *pass) postPre(l int, xs, z *tensors.Tensor) (nxs, q, k, v *tensors.Tensor, err error) {
	m, a := p.m, p.m.Arch
	post, pre := p.layerSpec(l, stagePost, nil, nil, false), p.layerSpec(l+1, stagePre, nil, nil, false)
	postIn, preIn := a.blockInputLayout(post), a.blockInputLayout(pre)
	e, err := m.exec("decode:"+post.key()+"|"+pre.key(), func(in []*graph.Node) []*graph.Node {
		x := a.buildBlock(post, in[:postIn.n])[0]
		args := slices.Insert(slices.Clone(in[postIn.n:]), preIn.x, x)
		return a.buildBlock(pre, args)
	})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	args := p.stageArgs(l, post, stageIn{x: xs, z: z})
	preArgs := p.stageArgs(l+1, pre, stageIn{})
	args = append(args, slices.Delete(preArgs, preIn.x, preIn.x+1)...)
	t0 := p.m.mark()
	outs, err := run(e, args)
	p.m.spent(PhasePreGraphs, t0)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("layers %d–%d: %w", l, l+1, err)
	}
	return outs[0], outs[1], outs[2], outs[3], nil
}

// logProb returns log softmax(logits)[tok], in float64.
func logProb(logits []float32, tok int) float32 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range logits {
		s += math.Exp(float64(v) - mx)
	}
	return float32(float64(logits[tok]) - mx - math.Log(s))
}

// sampler draws tokens; its buffers are reused between calls (one goroutine).
type sampler struct {
	scores, probs []float64
	idx           []int
}

// sample returns a token drawn from logits under opts, in Hugging Face's order of logits warpers:
// temperature (scores = logits/T), then top-k (drop scores below the k-th largest; ties with it stay),
// then top-p (sort the kept tokens by probability ascending, ties by id descending, i.e. the reverse of
// "most probable first, then lowest id"; drop those whose cumulative probability is ≤ 1−TopP, always
// keeping the most probable), then min-p (drop probabilities below MinP times the largest). Probabilities
// are a softmax over the tokens still kept, in float64 (top-p sums the tokens below a small share of
// p_max at once, then the rest in order: the same up to float64 rounding). The draw: u uniform in [0, 1) from rng, the
// first token (by id) whose cumulative probability exceeds u·Σp. Temperature 0 is the argmax of the
// logits (ties to the lowest id) and draws nothing.
func (s *sampler) sample(logits []float32, opts *SampleOptions, rng *rand.Rand) int {
	if opts.Temperature == 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	V := len(logits)
	if cap(s.scores) < V {
		s.scores, s.probs, s.idx = make([]float64, V), make([]float64, V), make([]int, 0, V)
	}
	sc, probs := s.scores[:V], s.probs[:V]
	negInf := math.Inf(-1)
	for i, v := range logits {
		sc[i] = float64(v) / opts.Temperature
	}
	if k := opts.TopK; k > 0 && k < V {
		kth := kthLargest(sc, k)
		for i, v := range sc {
			if v < kth {
				sc[i] = negInf
			}
		}
	}
	if p := opts.TopP; p > 0 && p < 1 {
		top := softmaxInto(probs, sc)
		// Tokens at or below a probability eps whose total is ≤ 1−p come first in ascending order and
		// are all dropped: find such an eps (a small share of p_max) and sort only the tokens above it.
		eps, small := -1.0, 0.0
		for e := top * 1e-2; e > top*1e-12; e *= 1e-2 {
			sum := 0.0
			for _, q := range probs {
				if q <= e {
					sum += q
				}
			}
			if sum <= 1-p {
				eps, small = e, sum
				break
			}
		}
		idx := s.idx[:0]
		for i, q := range probs {
			switch {
			case sc[i] == negInf:
			case q <= eps:
				sc[i] = negInf
			default:
				idx = append(idx, i)
			}
		}
		// Ascending probability, ties by descending id: the reverse of (most probable, lowest id) first.
		slices.SortFunc(idx, func(a, b int) int { return -cmpDesc(sc, a, b) })
		cum := small
		for _, i := range idx[:len(idx)-1] {
			cum += probs[i]
			if cum > 1-p {
				break
			}
			sc[i] = negInf
		}
	}
	if mp := opts.MinP; mp > 0 {
		top := softmaxInto(probs, sc)
		for i, q := range probs {
			if sc[i] > negInf && q < mp*top {
				sc[i] = negInf
			}
		}
	}
	softmaxInto(probs, sc)
	total, last := 0.0, 0
	for i, q := range probs {
		if sc[i] > negInf {
			total += q
			last = i
		}
	}
	u := rng.Float64() * total
	cum := 0.0
	for i, q := range probs {
		if sc[i] > negInf {
			cum += q
			if cum > u {
				return i
			}
		}
	}
	return last
}

// kthLargest returns the k-th largest of sc (1 ≤ k < len(sc)), with a min-heap of the k largest so far.
func kthLargest(sc []float64, k int) float64 {
	h := slices.Clone(sc[:k])
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= k {
				return
			}
			if c+1 < k && h[c+1] < h[c] {
				c++
			}
			if h[i] <= h[c] {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, v := range sc[k:] {
		if v > h[0] {
			h[0] = v
			down(0)
		}
	}
	return h[0]
}

// softmaxInto sets probs to the softmax of scores (−∞ scores get probability 0) and returns the largest
// probability.
func softmaxInto(probs, sc []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range sc {
		mx = math.Max(mx, v)
	}
	sum := 0.0
	for i, v := range sc {
		probs[i] = math.Exp(v - mx)
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
	return 1 / sum
}

// cmpDesc orders token ids by descending score, ties by ascending id.
func cmpDesc(sc []float64, a, b int) int {
	switch {
	case sc[a] > sc[b]:
		return -1
	case sc[a] < sc[b]:
		return 1
	}
	return a - b
}
