package attn

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// Shape is the layout of one attention call: T positions, NHeads query heads sharing NKVHeads key/value
// heads (grouped-query attention: query head h reads kv head h/(NHeads/NKVHeads), as Hugging Face's
// repeat_kv), DHead values per head. Cap > 0 soft-caps the scaled scores, s → Cap·tanh(s/Cap), before the
// mask and softmax (Gemma-2's attn_logit_softcapping); every kernel applies it, the backward through
// tanh's derivative.
type Shape struct {
	T, NHeads, NKVHeads, DHead int
	Cap                        float32
}

// Tile sizes: a work item is qBlock queries of one kv head's query group against keyBlock keys at a time,
// so its score tile (group·qBlock × keyBlock floats, 384 KiB for SmolLM2's group of 3) and accumulator stay
// in L2 while the products keep sgemm's micro-kernel busy. Measured on SmolLM2's 4k layer (2 AVX2
// cores): 128×256 at 0.28–0.31 s; 64×256 0.35 s, 128×512 0.31 s, 128×128 0.33 s, 64×1024 0.34 s.
const (
	qBlock   = 128
	keyBlock = 256
)

// Causal computes z = softmax(scale·q·kᵀ + mask)·v for every query position i, where key j is visible
// when j ≤ i and i − j < window. q and z are [T, NHeads, DHead], k and v [T, NKVHeads, DHead], row-major.
// It runs on GOMAXPROCS goroutines.
func Causal(z, q, k, v []float32, s Shape, scale float32, window int) error {
	return CausalAfter(z, q, k, v, s, 0, scale, window)
}

// CausalAfter is Causal for queries that follow past earlier positions (a stored prefix): k and v hold
// past+T positions, the prefix's first, and query i sits at position past+i.
func CausalAfter(z, q, k, v []float32, s Shape, past int, scale float32, window int) error {
	return causal(z, nil, q, k, v, s, past, scale, window)
}

// CausalLSE is Causal that also stores, for Backward, the log-sum-exp of each query row's visible scaled
// scores in lse [NHeads, T] (row-major: head h, query i at lse[h·T+i]).
func CausalLSE(z, lse, q, k, v []float32, s Shape, scale float32, window int) error {
	if len(lse) != s.NHeads*s.T {
		return fmt.Errorf("attn: shape %+v wants lse of %d floats, got %d", s, s.NHeads*s.T, len(lse))
	}
	return causal(z, lse, q, k, v, s, 0, scale, window)
}

func causal(z, lse, q, k, v []float32, s Shape, past int, scale float32, window int) error {
	if err := s.check(past, window); err != nil {
		return err
	}
	nq, nkv := s.T*s.NHeads*s.DHead, (past+s.T)*s.NKVHeads*s.DHead
	lseOnly := z == nil && v == nil && lse != nil // LSE's call
	if len(q) != nq || len(k) != nkv || !lseOnly && (len(z) != nq || len(v) != nkv) {
		return fmt.Errorf("attn: shape %+v wants q and z of %d and k and v of %d floats, got q %d, z %d, k %d, v %d",
			s, nq, nkv, len(q), len(z), len(k), len(v))
	}
	kt := transposeKeys(k, s, past+s.T)
	blocks := (s.T + qBlock - 1) / qBlock
	parallel(s.NKVHeads*blocks, func() func(int) {
		w := newWorker(s, past)
		// Largest blocks first: item i takes query block blocks-1-i/NKVHeads.
		return func(i int) {
			w.block(z, lse, q, kt, v, i%s.NKVHeads, (blocks-1-i/s.NKVHeads)*qBlock, scale, window)
		}
	})
	return nil
}

// check validates a shape, a prefix length and a window.
func (s Shape) check(past, window int) error {
	if s.T <= 0 || s.NHeads <= 0 || s.NKVHeads <= 0 || s.DHead <= 0 || s.NHeads%s.NKVHeads != 0 || past < 0 {
		return fmt.Errorf("attn: bad shape %+v or past %d", s, past)
	}
	if window <= 0 {
		return fmt.Errorf("attn: window %d, want > 0", window)
	}
	return nil
}

// parallel runs items 0..n-1 in order of index on up to GOMAXPROCS goroutines; newWorker is called
// once per goroutine and returns the function that runs one item with that goroutine's buffers.
func parallel(n int, newWorker func() func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do := newWorker()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				do(i)
			}
		}()
	}
	wg.Wait()
}

// worker holds one goroutine's tiles.
type worker struct {
	s      Shape
	past   int // positions before the first query
	group  int
	qt     []float32 // [group·qBlock, DHead] scaled queries
	scores []float32 // [group·qBlock, keyBlock]
	acc    []float32 // [group·qBlock, DHead]
	m, l   []float32 // running row max and sum of exponentials
}

func newWorker(s Shape, past int) *worker {
	g := s.NHeads / s.NKVHeads
	r := g * qBlock
	return &worker{s: s, past: past, group: g, qt: make([]float32, r*s.DHead), scores: make([]float32, r*keyBlock),
		acc: make([]float32, r*s.DHead), m: make([]float32, r), l: make([]float32, r)}
}

// transposeKeys returns k [n, NKVHeads, DHead] as [NKVHeads, DHead, n], so each key block of a kv
// head is a row-major DHead × block slice (row stride n) that sgemm packs with contiguous copies.
func transposeKeys(k []float32, s Shape, n int) []float32 {
	kt := make([]float32, len(k))
	for t := range n {
		for h := range s.NKVHeads {
			src := k[(t*s.NKVHeads+h)*s.DHead:][:s.DHead]
			for d, x := range src {
				kt[(h*s.DHead+d)*n+t] = x
			}
		}
	}
	return kt
}

// block computes z (and lse, if not nil; only lse when z and v are nil) for queries q0.. q0+qBlock (clipped to T; at positions
// past+q0..) of the query heads of kv head h; kt is transposeKeys(k). Row g·nq+i of the tiles is query
// q0+i of query head h·group+g.
func (w *worker) block(z, lse, q, kt, v []float32, h, q0 int, scale float32, window int) {
	s := w.s
	dh := s.DHead
	nq := min(qBlock, s.T-q0)
	rows := w.group * nq
	qStride, kvStride := s.NHeads*dh, s.NKVHeads*dh
	for g := range w.group {
		head := h*w.group + g
		for i := range nq {
			src := q[(q0+i)*qStride+head*dh:][:dh]
			dst := w.qt[(g*nq+i)*dh:][:dh]
			for d, x := range src {
				dst[d] = x * scale
			}
		}
	}
	negInf := float32(math.Inf(-1))
	for r := range rows {
		w.m[r], w.l[r] = negInf, 0
	}
	clear(w.acc[:rows*dh])
	nKeys := w.past + s.T
	q0 += w.past                                       // from here on, absolute positions
	last := q0 + nq - 1                                // last query of the block
	first := max(0, q0-window+1) / keyBlock * keyBlock // first key block any query of the block sees
	for k0 := first; k0 <= last; k0 += keyBlock {
		nk := min(keyBlock, last+1-k0)
		sc := w.scores[:rows*nk]
		sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.qt, dh, kt[h*dh*nKeys+k0:], nKeys, 0, sc, nk)
		for r := range rows {
			row := sc[r*nk:][:nk]
			lo, hi := visible(q0+r%nq, k0, nk, window)
			if lo >= hi { // no visible key in this block
				clear(row)
				continue
			}
			clear(row[:lo])
			clear(row[hi:])
			vis := row[lo:hi]
			softcap(vis, nil, s.Cap)
			mx := vmath.RowMax(vis, w.m[r])
			alpha := vmath.Exp32(w.m[r] - mx)
			sum := vmath.ExpShift(vis, mx)
			w.m[r], w.l[r] = mx, w.l[r]*alpha+sum
			if alpha != 1 && v != nil {
				a := w.acc[r*dh:][:dh]
				for d := range a {
					a[d] *= alpha
				}
			}
		}
		if v != nil {
			sgemm.SgemmSerial(false, false, rows, dh, nk, 1, sc, nk, v[k0*kvStride+h*dh:], kvStride, 1, w.acc, dh)
		}
	}
	for g := range w.group {
		head := h*w.group + g
		for i := range nq {
			r := g*nq + i
			if z != nil {
				inv := 1 / w.l[r]
				src := w.acc[r*dh:][:dh]
				dst := z[(q0-w.past+i)*qStride+head*dh:][:dh]
				for d, x := range src {
					dst[d] = x * inv
				}
			}
			if lse != nil {
				lse[head*s.T+q0-w.past+i] = w.m[r] + float32(math.Log(float64(w.l[r])))
			}
		}
	}
}

// softcap replaces each score x by c·tanh(x/c) when c > 0, and (d not nil) stores the derivative
// 1 − tanh²(x/c) in d. It computes in float64 and rounds once to float32.
func softcap(x, d []float32, c float32) {
	if c <= 0 {
		return
	}
	c64 := float64(c)
	for j, v := range x {
		t := math.Tanh(float64(v) / c64)
		x[j] = float32(c64 * t)
		if d != nil {
			d[j] = float32(1 - t*t)
		}
	}
}

// visible returns the range [lo, hi) of a key block's indices (keys k0..k0+nk) that query position qi
// sees: keys kj ≤ qi with qi − kj < window. lo ≥ hi when it sees none.
func visible(qi, k0, nk, window int) (lo, hi int) {
	lo = max(0, qi-window+1-k0)
	hi = min(nk, qi-k0+1)
	return lo, hi
}
