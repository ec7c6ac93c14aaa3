package attn

import (
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// Patches are replacements of some rotated keys or queries of one Causal call, for PatternDelta. Each
// key position belongs to at most one key patch and each query position to at most one query patch; a
// patch may cover positions anywhere in the sequence.
type Patches struct {
	// K holds the patched keys, [T, NKVHeads, DHead]: read only at positions whose KeyPart is ≥ 0.
	K []float32
	// KeyPart[j] is the key patch that replaces key j (0..NKey−1), or −1.
	KeyPart []int32
	NKey    int
	// Q holds the patched queries, [T, NHeads, DHead]: read only at rows whose QueryPart is ≥ 0.
	Q []float32
	// QueryPart[i] is the query patch that replaces query i (0..NQuery−1), or −1.
	QueryPart []int32
	NQuery    int
}

// PatternDelta is the change in Σ_{i,h} dz[i,h]·z[i,h] that each patch causes through the attention
// pattern alone, the values and dz held fixed: for patch p and query head h,
//
//	out[p·NHeads+h] = Σ_i Σ_j dz[i,h]·v[j,kv(h)] · (A′[h,i,j] − A[h,i,j])
//
// where A is the causal, windowed softmax pattern of (q, k) as in Causal and A′ the pattern with the
// patch's keys (key patches come first in out, then query patches) or queries replaced, recomputed
// exactly. With dz the gradient of a metric with respect to z, this is AtP*'s estimate of the patch's
// effect on the metric: exact through the softmax, linear from z on. Shapes are Causal's (no prefix);
// out has (NKey+NQuery)·NHeads entries and is overwritten.
//
// Cost: the scores q·kᵀ, the products dz·vᵀ and the patched scores, tile by tile as in Causal, about three
// of Causal's score products for every patch at once; no [head, query, key] matrix is formed. Sums run in
// float64 in a shared shift per row; the remainder of each row outside a patch is summed from its parts,
// never as a difference, so a row saturated on the patched keys keeps its precision.
func PatternDelta(out []float64, q, k, v, dz []float32, p Patches, s Shape, scale float32, window int) error {
	if err := s.check(0, window); err != nil {
		return err
	}
	nq, nkv := s.T*s.NHeads*s.DHead, s.T*s.NKVHeads*s.DHead
	for _, x := range []struct {
		name      string
		got, want int
	}{{"q", len(q), nq}, {"dz", len(dz), nq}, {"k", len(k), nkv}, {"v", len(v), nkv},
		{"out", len(out), (p.NKey + p.NQuery) * s.NHeads}, {"key parts", len(p.KeyPart), s.T}, {"query parts", len(p.QueryPart), s.T}} {
		if x.got != x.want {
			return fmt.Errorf("attn: shape %+v wants %s of %d, got %d", s, x.name, x.want, x.got)
		}
	}
	if p.NKey > 0 && len(p.K) != nkv || p.NQuery > 0 && len(p.Q) != nq {
		return fmt.Errorf("attn: shape %+v wants patched keys of %d and queries of %d floats, got %d and %d", s, nkv, nq, len(p.K), len(p.Q))
	}
	for _, c := range []struct {
		parts []int32
		n     int
	}{{p.KeyPart, p.NKey}, {p.QueryPart, p.NQuery}} {
		for i, x := range c.parts {
			if x < -1 || int(x) >= c.n {
				return fmt.Errorf("attn: position %d in patch %d of %d", i, x, c.n)
			}
		}
	}
	clear(out)
	kt, vt := transposeKeys(k, s, s.T), transposeKeys(v, s, s.T)
	var kpt []float32
	if p.NKey > 0 {
		kpt = transposeKeys(p.K, s, s.T)
	}
	// keysBefore[j] counts the patched keys before j, so a key block with none skips the patched scores.
	keysBefore := make([]int, s.T+1)
	for j, x := range p.KeyPart {
		keysBefore[j+1] = keysBefore[j]
		if x >= 0 {
			keysBefore[j+1]++
		}
	}
	blocks := (s.T + qBlock - 1) / qBlock
	items := make([][]float64, s.NKVHeads*blocks) // each work item's sums, added in item order: the same bits on any schedule
	parallel(len(items), func() func(int) {
		w := newStarWorker(s, p.NKey)
		return func(i int) {
			items[i] = make([]float64, len(out))
			w.block(items[i], q, kt, kpt, vt, dz, p, keysBefore, i%s.NKVHeads, (blocks-1-i/s.NKVHeads)*qBlock, scale, window)
		}
	})
	for _, acc := range items {
		for i, x := range acc {
			out[i] += x
		}
	}
	return nil
}

// sums is part of a softmax row: Σ e^(score) = e^m·a and Σ e^(score)·g = e^m·b over some keys, where g
// is dz·v of each key. The empty sums have m = −∞ and a = b = 0.
type sums struct {
	m    float32
	a, b float64
}

var empty = sums{m: float32(math.Inf(-1))}

// add adds keys with scores sc and products g (sc is overwritten), raising the shift to their maximum.
func (t *sums) add(sc, g []float32) {
	mx := vmath.RowMax(sc, t.m)
	if mx > t.m {
		alpha := math.Exp(float64(t.m) - float64(mx)) // 0 while empty
		t.a *= alpha
		t.b *= alpha
		t.m = mx
	}
	vmath.ExpShift(sc, mx)
	a, b := t.a, t.b
	for j, e := range sc {
		a += float64(e)
		b += float64(e) * float64(g[j])
	}
	t.a, t.b = a, b
}

// plus returns the sums over the keys of t and u.
func (t sums) plus(u sums) sums {
	switch {
	case math.IsInf(float64(u.m), -1):
		return t
	case math.IsInf(float64(t.m), -1):
		return u
	}
	m := max(t.m, u.m)
	ft, fu := math.Exp(float64(t.m)-float64(m)), math.Exp(float64(u.m)-float64(m))
	return sums{m: m, a: t.a*ft + u.a*fu, b: t.b*ft + u.b*fu}
}

// mean is Σ softmax·g over the keys: dz·z of a row whose keys these are.
func (t sums) mean() float64 { return t.b / t.a }

// starWorker holds one goroutine's tiles and per-row sums. Row r of the tiles is query q0+r%nq of query
// head h·group+r/nq, as in worker.
type starWorker struct {
	s                Shape
	group, nKey      int
	qt, qpt, dzt     []float32 // [group·qBlock, DHead]: scaled queries, scaled patched queries, dz
	sc, scK, scQ, gt []float32 // [group·qBlock, keyBlock]: scores, with patched keys, with patched queries; dz·vᵀ
	// Per row: keys of no patch (old scores); for a patched query, its whole row with the old and with
	// the new scores (summed alike, so a patch that changes nothing gives exactly 0); per row and key
	// patch, the patch's keys with old and new scores.
	none, query, queryOld []sums
	tmp                   []float32 // scratch: one row of a score tile
	old, new              []sums
	seen                  []bool // per row and key patch: the row sees one of the patch's keys
	pre, suf              []sums // scratch: sums of the old scores of the patches before and after each
}

func newStarWorker(s Shape, nKey int) *starWorker {
	g := s.NHeads / s.NKVHeads
	r := g * qBlock
	return &starWorker{s: s, group: g, nKey: nKey,
		qt: make([]float32, r*s.DHead), qpt: make([]float32, r*s.DHead), dzt: make([]float32, r*s.DHead),
		sc: make([]float32, r*keyBlock), scK: make([]float32, r*keyBlock), scQ: make([]float32, r*keyBlock), gt: make([]float32, r*keyBlock),
		none: make([]sums, r), query: make([]sums, r), queryOld: make([]sums, r), tmp: make([]float32, keyBlock), old: make([]sums, r*nKey), new: make([]sums, r*nKey), seen: make([]bool, r*nKey),
		pre: make([]sums, nKey+1), suf: make([]sums, nKey+1)}
}

// block adds the deltas of queries q0..q0+qBlock (clipped to T) of the query heads of kv head h into out.
// kt, kpt and vt are transposeKeys of the keys, patched keys and values.
func (w *starWorker) block(out []float64, q, kt, kpt, vt, dz []float32, p Patches, keysBefore []int, h, q0 int, scale float32, window int) {
	s := w.s
	dh, P := s.DHead, w.nKey
	nq := min(qBlock, s.T-q0)
	rows := w.group * nq
	qStride := s.NHeads * dh
	patchedRows := false
	for i := range nq {
		patchedRows = patchedRows || p.QueryPart[q0+i] >= 0
	}
	for g := range w.group {
		head := h*w.group + g
		for i := range nq {
			o := (q0+i)*qStride + head*dh
			r := g*nq + i
			qd, zd := w.qt[r*dh:][:dh], w.dzt[r*dh:][:dh]
			for d, x := range q[o : o+dh] {
				qd[d] = x * scale
			}
			copy(zd, dz[o:o+dh])
			if patchedRows {
				src := q
				if p.QueryPart[q0+i] >= 0 {
					src = p.Q
				}
				qp := w.qpt[r*dh:][:dh]
				for d, x := range src[o : o+dh] {
					qp[d] = x * scale
				}
			}
		}
	}
	for r := range rows {
		w.none[r], w.query[r], w.queryOld[r] = empty, empty, empty
	}
	for x := range rows * P {
		w.old[x], w.new[x], w.seen[x] = empty, empty, false
	}
	last := q0 + nq - 1
	first := max(0, q0-window+1) / keyBlock * keyBlock
	for k0 := first; k0 <= last; k0 += keyBlock {
		nk := min(keyBlock, last+1-k0)
		keyPatched := keysBefore[k0+nk] > keysBefore[k0]
		sc, scK, scQ, gt := w.sc[:rows*nk], w.scK[:rows*nk], w.scQ[:rows*nk], w.gt[:rows*nk]
		sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.qt, dh, kt[h*dh*s.T+k0:], s.T, 0, sc, nk)
		sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.dzt, dh, vt[h*dh*s.T+k0:], s.T, 0, gt, nk)
		if keyPatched {
			sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.qt, dh, kpt[h*dh*s.T+k0:], s.T, 0, scK, nk)
		}
		if patchedRows {
			sgemm.SgemmSerial(false, false, rows, nk, dh, 1, w.qpt, dh, kt[h*dh*s.T+k0:], s.T, 0, scQ, nk)
		}
		if s.Cap > 0 { // only visible entries are read below; capping the masked ones too is harmless
			softcap(sc, nil, s.Cap)
			if keyPatched {
				softcap(scK, nil, s.Cap)
			}
			if patchedRows {
				softcap(scQ, nil, s.Cap)
			}
		}
		for r := range rows {
			qi := q0 + r%nq
			lo, hi := visible(qi, k0, nk, window)
			if lo >= hi {
				continue
			}
			o := r * nk
			g := gt[o:][:nk]
			if p.QueryPart[qi] >= 0 {
				w.query[r].add(scQ[o+lo:o+hi], g[lo:hi])
				tmp := w.tmp[:hi-lo]
				copy(tmp, sc[o+lo:o+hi])
				w.queryOld[r].add(tmp, g[lo:hi])
			}
			// Runs of keys of the same patch (or of none).
			for u := lo; u < hi; {
				part := p.KeyPart[k0+u]
				v := u + 1
				for v < hi && p.KeyPart[k0+v] == part {
					v++
				}
				if part < 0 {
					w.none[r].add(sc[o+u:o+v], g[u:v])
				} else {
					x := r*P + int(part)
					w.old[x].add(sc[o+u:o+v], g[u:v])
					w.new[x].add(scK[o+u:o+v], g[u:v])
					w.seen[x] = true
				}
				u = v
			}
		}
	}
	for r := range rows {
		g, i := r/nq, r%nq
		head := h*w.group + g
		old, seen := w.old[r*P:][:P], w.seen[r*P:][:P]
		// Sums of the patches before and after each, so the rest of the row is added up, never subtracted.
		w.pre[0], w.suf[P] = empty, empty
		for x := range P {
			w.pre[x+1] = w.pre[x].plus(old[x])
			w.suf[P-1-x] = w.suf[P-x].plus(old[P-1-x])
		}
		if qp := p.QueryPart[q0+i]; qp >= 0 {
			out[(P+int(qp))*s.NHeads+head] += w.query[r].mean() - w.queryOld[r].mean()
		}
		for x := range P {
			if !seen[x] {
				continue
			}
			rest := w.none[r].plus(w.pre[x]).plus(w.suf[x+1])
			out[x*s.NHeads+head] += rest.plus(w.new[r*P+x]).mean() - rest.plus(old[x]).mean()
		}
	}
}
