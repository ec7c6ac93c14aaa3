package attn

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// Backward tiles: a work item is one kv head's key block of bwdKeyBlock keys, which walks the query
// blocks that see it. Its two score-sized tiles (probabilities and their gradient, group·bwdQBlock ×
// bwdKeyBlock floats each, 192 KiB for SmolLM2's group of 3) fit L2 together with the key block's
// gradient accumulators. Measured on SmolLM2's 4k layer (2 AVX2 cores): 128×128 at 0.78 s, 64×256
// 0.86 s, 128×256 0.83 s, 64×128 0.88 s.
const (
	bwdQBlock   = 128
	bwdKeyBlock = 128
)

// chains is the number of dq accumulators per kv head (see Backward): enough units to balance a few
// cores, at chains·T·NHeads·DHead floats of accumulators (38 MB at SmolLM2's 4k).
const chains = 4

// Backward computes the gradients dq, dk, dv of a loss with respect to the q, k, v of Causal from the
// gradient dz with respect to its output z, as flash attention's backward pass does: the probabilities
// are recomputed tile by tile from lse (CausalLSE's), never stored whole. Shapes are Causal's (no
// prefix); dq, dk and dv are overwritten. It runs on GOMAXPROCS goroutines, and its results are the
// same bits for any number of them.
//
// With P = softmax(S), S = scale·q·kᵀ + mask, and D_i = Σ_d dz_i·z_i: dv = Pᵀ·dz, dS = P∘(dz·vᵀ − D),
// dq = scale·dS·k, dk = scale·dSᵀ·q. With a soft cap, S = Cap·tanh(scale·q·kᵀ/Cap) + mask and dS is
// multiplied by 1 − tanh² before the two products.
func Backward(dq, dk, dv, q, k, v, z, dz, lse []float32, s Shape, scale float32, window int) error {
	if err := s.check(0, window); err != nil {
		return err
	}
	nq, nkv := s.T*s.NHeads*s.DHead, s.T*s.NKVHeads*s.DHead
	for _, x := range []struct {
		name string
		got  []float32
		want int
	}{{"dq", dq, nq}, {"q", q, nq}, {"z", z, nq}, {"dz", dz, nq}, {"dk", dk, nkv}, {"dv", dv, nkv},
		{"k", k, nkv}, {"v", v, nkv}, {"lse", lse, s.NHeads * s.T}} {
		if len(x.got) != x.want {
			return fmt.Errorf("attn: shape %+v wants %s of %d floats, got %d", s, x.name, x.want, len(x.got))
		}
	}
	dh := s.DHead
	// D[h·T+i] = Σ_d dz·z for query i of head h.
	dsum := make([]float32, s.NHeads*s.T)
	for i := range s.T {
		for h := range s.NHeads {
			o := (i*s.NHeads + h) * dh
			acc := float32(0)
			for d, x := range dz[o : o+dh] {
				acc += x * z[o+d]
			}
			dsum[h*s.T+i] = acc
		}
	}
	kt, vt := transposeKeys(k, s, s.T), transposeKeys(v, s, s.T)
	// Work units are chains: chain c of kv head h takes key blocks c, c+chains, c+2·chains, … in order
	// and adds their queries' share into its own dq accumulator ([group, T, DHead]). The sums run in the
	// same order whichever goroutine takes a chain, so results do not depend on scheduling or
	// GOMAXPROCS.
	blocks := (s.T + bwdKeyBlock - 1) / bwdKeyBlock
	g := s.NHeads / s.NKVHeads
	acc := make([][]float32, s.NKVHeads*chains)
	parallel(len(acc), func() func(int) {
		w := newBwdWorker(s)
		// Chain 0 holds key block 0, seen by every query: chain-major order is largest first.
		return func(u int) {
			h, c := u%s.NKVHeads, u/s.NKVHeads
			acc[u] = make([]float32, g*s.T*dh)
			for b := c; b < blocks; b += chains {
				w.keyBlock(dk, dv, acc[u], q, k, kt, vt, dz, lse, dsum, h, b*bwdKeyBlock, scale, window)
			}
		}
	})
	// dq[i, h·g+j, :] = Σ_c acc[c·NKVHeads+h][j, i, :].
	for i := range s.T {
		for head := range s.NHeads {
			h, j := head/g, head%g
			dst := dq[(i*s.NHeads+head)*dh:][:dh]
			clear(dst)
			for c := range chains {
				for d, x := range acc[c*s.NKVHeads+h][(j*s.T+i)*dh:][:dh] {
					dst[d] += x
				}
			}
		}
	}
	return nil
}

// bwdWorker holds one goroutine's tiles.
type bwdWorker struct {
	s        Shape
	group    int
	qt, dzt  []float32 // [group·bwdQBlock, DHead]: scaled queries, output gradients
	p, ds    []float32 // [group·bwdQBlock, bwdKeyBlock]: probabilities, then score gradients
	dc       []float32 // [group·bwdQBlock, bwdKeyBlock]: the soft cap's derivative (Shape.Cap > 0)
	dkt, dvt []float32 // [bwdKeyBlock, DHead]
}

func newBwdWorker(s Shape) *bwdWorker {
	g := s.NHeads / s.NKVHeads
	r := g * bwdQBlock
	return &bwdWorker{s: s, group: g, qt: make([]float32, r*s.DHead), dzt: make([]float32, r*s.DHead),
		p: make([]float32, r*bwdKeyBlock), ds: make([]float32, r*bwdKeyBlock), dc: make([]float32, r*bwdKeyBlock),
		dkt: make([]float32, bwdKeyBlock*s.DHead), dvt: make([]float32, bwdKeyBlock*s.DHead)}
}

// keyBlock accumulates the gradients of keys k0..k0+bwdKeyBlock (clipped to T) of kv head h over every
// query block that sees them, writes them to dk and dv, and adds the queries' share to dqAcc
// ([group, T, DHead]).
func (w *bwdWorker) keyBlock(dk, dv, dqAcc, q, k, kt, vt, dz, lse, dsum []float32, h, k0 int, scale float32, window int) {
	s := w.s
	dh := s.DHead
	nk := min(bwdKeyBlock, s.T-k0)
	qStride, kvStride := s.NHeads*dh, s.NKVHeads*dh
	clear(w.dkt[:nk*dh])
	clear(w.dvt[:nk*dh])
	lastQ := min(s.T-1, k0+nk-2+window) // last query that sees a key of the block
	for q0 := k0 / bwdQBlock * bwdQBlock; q0 <= lastQ; q0 += bwdQBlock {
		nq := min(bwdQBlock, s.T-q0)
		rows := w.group * nq
		for g := range w.group {
			head := h*w.group + g
			for i := range nq {
				o := (q0+i)*qStride + head*dh
				qd, zd := w.qt[(g*nq+i)*dh:][:dh], w.dzt[(g*nq+i)*dh:][:dh]
				for d, x := range q[o : o+dh] {
					qd[d] = x * scale
				}
				copy(zd, dz[o:o+dh])
			}
		}
		p, ds := w.p[:rows*nk], w.ds[:rows*nk]
		// P = e^(scale·q·kᵀ − lse), zero where masked.
		sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.qt, dh, kt[h*dh*s.T+k0:], s.T, 0, p, nk)
		for r := range rows {
			g, i := r/nq, r%nq
			qi := q0 + i
			row := p[r*nk:][:nk]
			lo, hi := visible(qi, k0, nk, window)
			if lo >= hi {
				clear(row)
				continue
			}
			softcap(row[lo:hi], w.dc[r*nk+lo:r*nk+hi], s.Cap)
			vmath.ExpShift(row[lo:hi], lse[(h*w.group+g)*s.T+qi])
			clear(row[:lo])
			clear(row[hi:])
		}
		// dv += Pᵀ·dz; dS = P∘(dz·vᵀ − D).
		sgemm.SgemmSerial(true, false, nk, dh, rows, 1, p, nk, w.dzt, dh, 1, w.dvt, dh)
		sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.dzt, dh, vt[h*dh*s.T+k0:], s.T, 0, ds, nk)
		for r := range rows {
			g, i := r/nq, r%nq
			scoreGrad(ds[r*nk:][:nk], p[r*nk:][:nk], dsum[(h*w.group+g)*s.T+q0+i])
			if s.Cap > 0 { // through the cap: dS_raw = dS·(1 − tanh²); masked entries have p = 0, so ds = 0
				lo, hi := visible(q0+i, k0, nk, window)
				for j := lo; j < hi; j++ {
					ds[r*nk+j] *= w.dc[r*nk+j]
				}
			}
		}
		// dk += dSᵀ·(scale·q); dq += scale·dS·k, head by head into the [group, T, DHead] accumulator.
		sgemm.SgemmSerial(true, false, nk, dh, rows, 1, ds, nk, w.qt, dh, 1, w.dkt, dh)
		for g := range w.group {
			sgemm.SgemmSerial(false, false, nq, dh, nk, scale, ds[g*nq*nk:], nk, k[k0*kvStride+h*dh:], kvStride,
				1, dqAcc[(g*s.T+q0)*dh:], dh)
		}
	}
	for j := range nk {
		copy(dk[(k0+j)*kvStride+h*dh:][:dh], w.dkt[j*dh:][:dh])
		copy(dv[(k0+j)*kvStride+h*dh:][:dh], w.dvt[j*dh:][:dh])
	}
}

// scoreGrad sets ds[j] = p[j]·(ds[j] − d).
func scoreGrad(ds, p []float32, d float32) {
	for j, x := range ds {
		ds[j] = p[j] * (x - d)
	}
}
