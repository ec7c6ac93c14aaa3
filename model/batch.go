package model

import (
	"fmt"
	"slices"

	"github.com/agentlens/agentlens/model/hook"
)

// packBucket is the granularity of a packed pass's row count, so that batches of similar size share
// compiled graphs whatever their sequences' lengths.
const packBucket = 512

// BatchItem is one sequence of RunBatch.
type BatchItem struct {
	// Tokens are the sequence's tokens, starting with its Prefix's tokens (if they are just those, the
	// last prefix position is recomputed, as in Run).
	Tokens []int
	// Prefix, if set, holds the keys and values of the first Prefix.Len() tokens (see
	// RunOptions.Prefix); items may have different prefixes.
	Prefix *Prefix
	// LogitPositions are the absolute positions, after the prefix, whose logits are returned; nil means
	// the last.
	LogitPositions []int
	// NextLogProbs returns the next tokens' log-probabilities at LogitPositions instead of logits (see
	// RunOptions.NextLogProbs); every item of a batch must agree.
	NextLogProbs bool
}

// RunBatch runs several sequences in one packed pass: the positions each computes (those after its
// prefix) are stacked row after row, so every layer's pre- and post-attention graphs run once on all of
// them, while attention runs sequence by sequence in the host kernel, each after its own prefix. Short
// sequences gain most (XLA's matmuls on 256 rows run at about two thirds of their speed on 4k rows, and
// each layer's graph executions are shared), and since the row count is rounded up to a multiple of
// 512, not each length, batches of different sequences reuse the same compiled graphs.
//
// Each Result holds its item's logits and captured sites (from Offset, the item's prefix length, on):
// the same as a Run of the item with RunOptions{Prefix: item.Prefix, Capture: capture}, up to float32
// summation order. Attention scores and patterns cannot be captured. Without the host kernel
// (Options.GraphAttention) the items run one by one.
func (m *Model) RunBatch(items []BatchItem, capture []hook.Name) ([]*Result, error) {
	if err := refuseAttnCapture(capture, "a batch"); err != nil {
		return nil, err
	}
	for i, it := range items {
		if it.NextLogProbs != items[0].NextLogProbs {
			return nil, fmt.Errorf("%w: batch item %d: NextLogProbs %v, item 0's %v: every item must agree", ErrBadInput, i,
				it.NextLogProbs, items[0].NextLogProbs)
		}
	}
	if !m.hostAttentionOn() || len(items) == 1 {
		out := make([]*Result, len(items))
		for i, it := range items {
			res, err := m.Run(it.Tokens, RunOptions{Prefix: it.Prefix, LogitPositions: it.LogitPositions, Capture: capture,
				NextLogProbs: it.NextLogProbs})
			if err != nil {
				return nil, fmt.Errorf("batch item %d: %w", i, err)
			}
			out[i] = res
		}
		return out, nil
	}
	spans := make([]span, len(items))
	positions := make([][]int, len(items))
	var flat, rows []int
	for i, it := range items {
		pf, err := m.fitPrefix(it.Tokens, it.Prefix)
		if err != nil {
			return nil, fmt.Errorf("batch item %d: %w", i, err)
		}
		P := pf.Len()
		positions[i] = it.LogitPositions
		if positions[i] == nil {
			positions[i] = []int{len(it.Tokens) - 1}
		}
		spans[i] = span{start: len(flat), n: len(it.Tokens) - P, prefix: pf}
		end := len(it.Tokens) // a next-token log-probability needs a next token
		if it.NextLogProbs {
			end--
		}
		for _, pos := range positions[i] {
			if pos < P || pos >= end {
				return nil, fmt.Errorf("%w: batch item %d: logit position %d outside [%d,%d)", ErrBadInput, i, pos, P, end)
			}
			rows = append(rows, len(flat)+pos-P)
		}
		flat = append(flat, it.Tokens[P:]...)
	}
	// Padding rows after the last sequence hold token 0; no sequence attends to them.
	flat = append(flat, make([]int, (len(flat)+packBucket-1)/packBucket*packBucket-len(flat))...)
	p, err := m.newPass(flat, nil)
	if err != nil {
		return nil, err
	}
	p.setTP(len(flat), false)
	p.packed = spans
	nextLP := len(items) > 0 && items[0].NextLogProbs
	res, err := m.runPass(p, RunOptions{LogitPositions: rows, Capture: capture, NextLogProbs: nextLP})
	if err != nil {
		return nil, err
	}
	V := m.Arch.DVocab
	out := make([]*Result, len(items))
	r := 0
	for i := range items {
		n := len(positions[i])
		sp := spans[i]
		out[i] = &Result{Positions: slices.Clone(positions[i]), Cache: Cache{}, Offset: sp.prefix.Len()}
		if nextLP {
			out[i].LogProbs = res.LogProbs[r : r+n : r+n]
		} else {
			out[i].Logits = &Tensor{Shape: []int{n, V}, Data: res.Logits.Data[r*V : (r+n)*V : (r+n)*V]}
		}
		r += n
		for name, t := range res.Cache { // [1, rows, ...]: the item's rows
			row := numel(t.Shape[2:])
			shape := slices.Clone(t.Shape)
			shape[1] = sp.n
			lo, hi := sp.start*row, (sp.start+sp.n)*row
			out[i].Cache[name] = &Tensor{Shape: shape, Data: t.Data[lo:hi:hi]}
		}
	}
	return out, nil
}
