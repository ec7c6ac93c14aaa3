package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/agentlens/agentlens/model/hook"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// RunOptions select what a forward pass captures, changes and returns.
type RunOptions struct {
	// Capture lists the hook sites to return in Result.Cache (only these are copied out).
	Capture []hook.Name
	// Interventions patch, ablate or steer sites during the run.
	Interventions []Intervention
	// LogitPositions are the positions whose logits are computed (unembedding is done only there).
	// Nil means the last position; use AllPositions for every position.
	LogitPositions []int
	// Prefix, if set, holds the keys and values of the first Prefix.Len() tokens, which must equal the
	// start of the run's tokens: only the later positions are computed (if the tokens are the prefix,
	// the last one is recomputed). Cache then covers positions
	// Prefix.Len() onwards (Result.Offset), and attention scores and patterns can be neither captured
	// nor intervened on. Interventions apply after the prefix: listed positions (absolute) must lie
	// after it, Replace values stay shaped over the whole run; an intervention without positions must
	// have been applied when the prefix was made too, for the run to equal the full intervened run.
	// LogitPositions stay absolute and must lie after the prefix.
	Prefix *Prefix
	// NextLogProbs asks, instead of logits, for the log-likelihood the model gives each next token:
	// Result.LogProbs[i] = log p(tokens[Positions[i]+1] | tokens[:Positions[i]+1]) (teacher forcing).
	// Every position needs a next token among the run's tokens. The vocabulary-wide logits are formed
	// in blocks inside the graph and never copied out, so scoring every position of a long episode
	// costs little memory.
	NextLogProbs bool
}

// AllPositions returns 0..n-1, for RunOptions.LogitPositions.
func AllPositions(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// Result is the output of a forward pass.
type Result struct {
	// Positions are the positions whose logits are in Logits, in order.
	Positions []int
	// Logits is [len(Positions), d_vocab] (nil with RunOptions.NextLogProbs).
	Logits *Tensor
	// LogProbs are the next tokens' log-probabilities at Positions (RunOptions.NextLogProbs only).
	LogProbs []float64
	// Cache holds the captured activations.
	Cache Cache
	// Offset is the position of the first row of Cache's position axes: 0, or with RunOptions.Prefix
	// the prefix length.
	Offset int
}

// RunWithCache runs tokens and captures the named sites (TransformerLens's run_with_cache), returning
// logits at the last position.
func (m *Model) RunWithCache(tokens []int, names ...hook.Name) (*Result, error) {
	return m.Run(tokens, RunOptions{Capture: names})
}

// Run runs a forward pass over tokens (one sequence; positions 0..len-1).
func (m *Model) Run(tokens []int, opts RunOptions) (*Result, error) {
	if opts.Prefix != nil {
		return m.runWithPrefix(tokens, opts)
	}
	p, err := m.newPass(tokens, opts.Interventions)
	if err != nil {
		return nil, err
	}
	return m.runPass(p, opts)
}

// runPass runs a forward pass prepared by newPass; LogitPositions are relative to the pass's tokens.
func (m *Model) runPass(p *pass, opts RunOptions) (*Result, error) {
	positions := opts.LogitPositions
	if positions == nil {
		positions = []int{p.T - 1}
	}
	for _, pos := range positions {
		if pos < 0 || pos >= p.T {
			return nil, fmt.Errorf("%w: logit position %d outside [0,%d)", ErrBadInput, pos, p.T)
		}
	}
	capture := map[hook.Name]bool{}
	for _, n := range opts.Capture {
		if err := m.checkName(n); err != nil {
			return nil, err
		}
		capture[n] = true
	}
	res := &Result{Positions: slices.Clone(positions), Cache: Cache{}}
	x0, err := p.embedInput(opts.Interventions)
	if err != nil {
		return nil, err
	}
	if capture[hook.HookEmbed()] {
		res.Cache[hook.HookEmbed()] = &Tensor{Shape: []int{1, p.T, m.Arch.DModel}, Data: slices.Clone(x0.Data[:p.T*m.Arch.DModel])}
	}
	x := tensors.FromFlatDataAndDimensions(x0.Data, x0.Shape...)
	x, err = p.forwardLayers(x, capture, res.Cache, nil)
	if err != nil {
		return nil, err
	}
	if opts.NextLogProbs {
		next := make([]int, len(positions))
		for i, pos := range positions {
			if pos+1 >= p.T {
				return nil, fmt.Errorf("%w: next-token log-probability at position %d: the run's last token has no next token", ErrBadInput, pos)
			}
			next[i] = p.tokens[pos+1]
		}
		if res.LogProbs, err = p.nextLogProbs(x, positions, next); err != nil {
			return nil, err
		}
		if capture[hook.LnFinalNormalized()] {
			_, lnf, err := p.head(x, positions[:1], true)
			if err != nil {
				return nil, err
			}
			res.Cache[hook.LnFinalNormalized()] = lnf
		}
		return res, nil
	}
	logits, lnf, err := p.head(x, positions, capture[hook.LnFinalNormalized()])
	if err != nil {
		return nil, err
	}
	res.Logits = logits
	if lnf != nil {
		res.Cache[hook.LnFinalNormalized()] = lnf
	}
	return res, nil
}

func (m *Model) checkName(n hook.Name) error {
	if n.Site.InBlock() && (n.Layer < 0 || n.Layer >= m.Arch.NLayers) {
		return fmt.Errorf("%w: %s: model has %d layers", ErrBadInput, n, m.Arch.NLayers)
	}
	return nil
}

// forwardLayers runs every block from residual x, capturing into cache. If keep is non-nil, keep[l]
// receives layer l's input residual (for a later backward pass).
func (p *pass) forwardLayers(x *tensors.Tensor, capture map[hook.Name]bool, cache Cache, keep []*tensors.Tensor) (*tensors.Tensor, error) {
	m := p.m
	for l := 0; l < m.Arch.NLayers; l++ {
		out, err := p.layerForward(l, x, capture, cache)
		if err != nil {
			return nil, err
		}
		if keep != nil {
			keep[l] = x
		} else if l > 0 {
			x.FinalizeAll()
		}
		x = out
		if m.opts.Progress != nil {
			m.opts.Progress("forward", l+1, m.Arch.NLayers)
		}
	}
	return x, nil
}

// selector returns [len(positions), tp] with a one at (i, positions[i]): unembedding only those rows.
func (p *pass) selector(positions []int) *tensors.Tensor {
	s := make([]float32, len(positions)*p.tp)
	for i, pos := range positions {
		s[i*p.tp+pos] = 1
	}
	return tensors.FromFlatDataAndDimensions(s, len(positions), p.tp)
}

// lpBlock is the number of positions whose next-token log-probabilities one graph execution forms: a
// fixed shape (the last block padded), so that any number of positions reuses one compiled graph, and
// [lpBlock, d_vocab] logits (50 MB for a 49k vocabulary) bound the memory.
const lpBlock = 256

// nextLogProbs applies the final norm, unembeds the selected positions and returns log-softmax at each
// position's next token, lpBlock positions per execution.
func (p *pass) nextLogProbs(x *tensors.Tensor, positions, next []int) ([]float64, error) {
	m := p.m
	defer m.spent(PhaseHead, m.mark())
	e, err := m.exec("head:next-logprob", func(in []*graph.Node) []*graph.Node {
		x, norm, unembed, sel, tok := in[0], in[1], in[2], in[3], in[4]
		a := m.Arch
		tp := x.Shape().Dimensions[1]
		rows := rmsNorm(graph.DotGeneral(sel, []int{1}, nil, graph.Reshape(x, tp, a.DModel), []int{0}, nil), norm, a.NormEps, a.NormOnePlus)
		logits := softcap(graph.DotGeneral(rows, []int{1}, nil, unembed, []int{1}, nil), a.FinalSoftcap) // [block, d_vocab]
		oneHot := graph.OneHot(tok, a.DVocab, logits.DType())
		return []*graph.Node{graph.ReduceSum(graph.Mul(graph.LogSoftmax(logits, -1), oneHot), 1)}
	})
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(positions))
	for b := 0; b < len(positions); b += lpBlock {
		n := min(lpBlock, len(positions)-b)
		pos := make([]int, lpBlock) // padding rows read position 0 and are dropped
		tok := make([]int32, lpBlock)
		copy(pos, positions[b:b+n])
		for i, t := range next[b : b+n] {
			tok[i] = int32(t)
		}
		outs, err := run(e, []any{x, m.finalNorm, m.unembed, p.selector(pos), tensors.FromFlatDataAndDimensions(tok, lpBlock)})
		if err != nil {
			return nil, fmt.Errorf("next-token log-probabilities: %w", err)
		}
		for _, v := range tensors.MustCopyFlatData[float32](outs[0])[:n] {
			if math.IsNaN(float64(v)) {
				return nil, fmt.Errorf("%w: next-token log-probability is NaN", ErrBadInput)
			}
			out = append(out, float64(v))
		}
		outs[0].FinalizeAll()
	}
	return out, nil
}

// head applies the final norm and unembeds the selected positions.
func (p *pass) head(x *tensors.Tensor, positions []int, captureLn bool) (*Tensor, *Tensor, error) {
	m := p.m
	defer m.spent(PhaseHead, m.mark())
	key := "head"
	if captureLn {
		key = "head+ln"
	}
	e, err := m.exec(key, func(in []*graph.Node) []*graph.Node {
		x, norm, unembed, sel := in[0], in[1], in[2], in[3]
		a := m.Arch
		tp := x.Shape().Dimensions[1]
		x2 := graph.Reshape(x, tp, a.DModel)
		var outs []*graph.Node
		var rows *graph.Node
		if captureLn {
			ln := rmsNorm(x2, norm, a.NormEps, a.NormOnePlus)
			rows = graph.DotGeneral(sel, []int{1}, nil, ln, []int{0}, nil)
			outs = append(outs, nil, graph.Reshape(ln, 1, tp, a.DModel))
		} else {
			rows = rmsNorm(graph.DotGeneral(sel, []int{1}, nil, x2, []int{0}, nil), norm, a.NormEps, a.NormOnePlus)
			outs = append(outs, nil)
		}
		outs[0] = softcap(graph.DotGeneral(rows, []int{1}, nil, unembed, []int{1}, nil), a.FinalSoftcap) // [P, d_vocab]
		return outs
	})
	if err != nil {
		return nil, nil, err
	}
	outs, err := run(e, []any{x, m.finalNorm, m.unembed, p.selector(positions)})
	if err != nil {
		return nil, nil, fmt.Errorf("unembed: %w", err)
	}
	logits := &Tensor{Shape: []int{len(positions), m.Arch.DVocab}, Data: tensors.MustCopyFlatData[float32](outs[0])}
	var ln *Tensor
	if captureLn {
		ln = p.toHost(hook.LnFinal, outs[1])
	}
	for _, o := range outs {
		o.FinalizeAll()
	}
	return logits, ln, nil
}
