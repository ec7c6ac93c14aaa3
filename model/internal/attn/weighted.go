package attn

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// Weighted-pattern tiles: a work item is one kv head's key block of wKeyBlock keys, which walks the
// query blocks that see it, so each item writes its own columns of the output and needs no reduction.
// Its probability tile is group·wQBlock × wKeyBlock floats (192 KiB for SmolLM2's group of 3), its
// accumulator group·R × wKeyBlock.
const (
	wQBlock   = 128
	wKeyBlock = 128
)

// LSE stores in lse [NHeads, T] (head h, query i at lse[h·T+i]) the log-sum-exp of each query row's
// visible scaled scores, the softmax normaliser of attention: pattern[h, i, j] = exp(scale·q_i·k_j −
// lse[h·T+i]) for the keys j that query i sees (j ≤ i, i − j < window) and 0 for the others. q is
// [T, NHeads, DHead] and k [T, NKVHeads, DHead], row-major (Causal's layout). It costs the score
// products of one Causal call and runs on GOMAXPROCS goroutines.
func LSE(lse, q, k []float32, s Shape, scale float32, window int) error {
	if err := s.check(0, window); err != nil {
		return err
	}
	if nq, nkv := s.T*s.NHeads*s.DHead, s.T*s.NKVHeads*s.DHead; len(q) != nq || len(k) != nkv {
		return fmt.Errorf("attn: shape %+v wants q of %d and k of %d floats, got q %d, k %d", s, nq, nkv, len(q), len(k))
	}
	if len(lse) != s.NHeads*s.T {
		return fmt.Errorf("attn: shape %+v wants lse of %d floats, got %d", s, s.NHeads*s.T, len(lse))
	}
	return causal(nil, lse, q, k, nil, s, 0, scale, window)
}

// WeightedPattern computes out[r, h, j] = Σ_i w[r, i]·pattern[h, i, j], the attention pattern of every
// head weighted by R rows of query weights w [R, T] (R = len(w)/T): row r of out is, for each head,
// the attention that the queries weighted by w[r] pay to each key j. A one-hot row is one query's
// pattern row; a row of 1/n over a span's queries is their mean pattern. pattern is as LSE says, from
// q, k and lse (LSE's output for the same q, k, scale and window); out is [R, NHeads, T] and
// overwritten. Query blocks where every row of w is zero are skipped, so the cost is at most one
// Causal call's score products plus R·T²·NHeads/2 multiply-adds for the weighting. It runs on
// GOMAXPROCS goroutines, and its results are the same bits for any number of them.
func WeightedPattern(out, w, q, k, lse []float32, s Shape, scale float32, window int) error {
	if err := s.check(0, window); err != nil {
		return err
	}
	if nq, nkv := s.T*s.NHeads*s.DHead, s.T*s.NKVHeads*s.DHead; len(q) != nq || len(k) != nkv {
		return fmt.Errorf("attn: shape %+v wants q of %d and k of %d floats, got q %d, k %d", s, nq, nkv, len(q), len(k))
	}
	if len(lse) != s.NHeads*s.T {
		return fmt.Errorf("attn: shape %+v wants lse of %d floats, got %d", s, s.NHeads*s.T, len(lse))
	}
	if len(w) == 0 || len(w)%s.T != 0 {
		return fmt.Errorf("attn: query weights of %d floats are not R rows of T = %d", len(w), s.T)
	}
	R := len(w) / s.T
	if len(out) != R*s.NHeads*s.T {
		return fmt.Errorf("attn: %d rows of query weights want out of %d floats, got %d", R, R*s.NHeads*s.T, len(out))
	}
	// active[b]: some row weighs a query of query block b.
	qBlocks := (s.T + wQBlock - 1) / wQBlock
	active := make([]bool, qBlocks)
	for r := range R {
		for i, x := range w[r*s.T : (r+1)*s.T] {
			if x != 0 {
				active[i/wQBlock] = true
			}
		}
	}
	kt := transposeKeys(k, s, s.T)
	blocks := (s.T + wKeyBlock - 1) / wKeyBlock
	parallel(s.NKVHeads*blocks, func() func(int) {
		wk := newWeightedWorker(s, R)
		// Key block 0 is seen by the most queries: block-major order is largest first.
		return func(u int) {
			wk.keyBlock(out, w, q, kt, lse, active, u%s.NKVHeads, u/s.NKVHeads*wKeyBlock, scale, window)
		}
	})
	return nil
}

// weightedWorker holds one goroutine's tiles.
type weightedWorker struct {
	s     Shape
	group int
	rows  int       // R
	qt    []float32 // [group·wQBlock, DHead] scaled queries
	p     []float32 // [group·wQBlock, wKeyBlock] probabilities
	acc   []float32 // [group, R, wKeyBlock]
}

func newWeightedWorker(s Shape, R int) *weightedWorker {
	g := s.NHeads / s.NKVHeads
	return &weightedWorker{s: s, group: g, rows: R, qt: make([]float32, g*wQBlock*s.DHead), p: make([]float32, g*wQBlock*wKeyBlock),
		acc: make([]float32, g*R*wKeyBlock)}
}

// keyBlock computes out[:, heads of kv head h, k0..k0+wKeyBlock) (clipped to T) over every active
// query block that sees those keys.
func (wk *weightedWorker) keyBlock(out, w, q, kt, lse []float32, active []bool, h, k0 int, scale float32, window int) {
	s := wk.s
	dh, R := s.DHead, wk.rows
	nk := min(wKeyBlock, s.T-k0)
	qStride := s.NHeads * dh
	acc := wk.acc[:wk.group*R*nk]
	clear(acc)
	lastQ := min(s.T-1, k0+nk-2+window) // last query that sees a key of the block
	for q0 := k0 / wQBlock * wQBlock; q0 <= lastQ; q0 += wQBlock {
		if !active[q0/wQBlock] {
			continue
		}
		nq := min(wQBlock, s.T-q0)
		rows := wk.group * nq
		for g := range wk.group {
			head := h*wk.group + g
			for i := range nq {
				src := q[(q0+i)*qStride+head*dh:][:dh]
				dst := wk.qt[(g*nq+i)*dh:][:dh]
				for d, x := range src {
					dst[d] = x * scale
				}
			}
		}
		p := wk.p[:rows*nk]
		sgemm.SgemmSerial(false, false, rows, nk, dh, 1, wk.qt, dh, kt[h*dh*s.T+k0:], s.T, 0, p, nk)
		for r := range rows {
			g, i := r/nq, r%nq
			row := p[r*nk:][:nk]
			lo, hi := visible(q0+i, k0, nk, window)
			if lo >= hi {
				clear(row)
				continue
			}
			softcap(row[lo:hi], nil, s.Cap)
			vmath.ExpShift(row[lo:hi], lse[(h*wk.group+g)*s.T+q0+i])
			clear(row[:lo])
			clear(row[hi:])
		}
		// acc[g] += w[:, q0..q0+nq) · P_g.
		for g := range wk.group {
			sgemm.SgemmSerial(false, false, R, nk, nq, 1, w[q0:], s.T, p[g*nq*nk:], nk, 1, acc[g*R*nk:], nk)
		}
	}
	for g := range wk.group {
		head := h*wk.group + g
		for r := range R {
			copy(out[(r*s.NHeads+head)*s.T+k0:][:nk], acc[(g*R+r)*nk:][:nk])
		}
	}
}
