package attn

import (
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// Segment is a run of consecutive cached key/value positions: K and V are [N, NKVHeads, DHead]
// row-major (at least N rows), for positions Start..Start+N−1. A decode step reads the keys where they
// lie (a prompt's keys shared by every sample, then each sample's own), so nothing is copied or
// transposed per step.
type Segment struct {
	K, V     []float32
	Start, N int
	// KT, if set, holds the same keys transposed, [NKVHeads, DHead, N] (TransposeKeys): a long
	// segment's scores are then rows of a one-query product streaming over contiguous keys, several
	// times faster than dot products with strided key rows. K is not read.
	KT []float32
	// VT, if set, holds the values transposed likewise: each output is then a dot product with a
	// contiguous row of values. V is not read.
	VT []float32
}

// TransposeKeys returns k [n, NKVHeads, DHead] as [NKVHeads, DHead, n], for Segment.KT.
func TransposeKeys(k []float32, s Shape, n int) []float32 { return transposeKeys(k, s, n) }

// Decode computes attention for one query per row, as in a decoding step: row r's query q[r] ([NHeads,
// DHead]) sits at position pos[r] and attends to the keys of segs[r] (in position order, all at
// positions ≤ pos[r]) where pos[r] − j < window; z[r] receives softmax(scale·q·kᵀ)·v. q and z are
// [s.T, NHeads, DHead] with s.T = len(segs); a row with no segments gets z = 0 (padding rows). Scores
// are soft-capped when s.Cap > 0, as in Causal. Rows × kv heads run on GOMAXPROCS goroutines.
func Decode(z, q []float32, segs [][]Segment, pos []int, s Shape, scale float32, window int) error {
	if err := s.check(0, window); err != nil {
		return err
	}
	row := s.NHeads * s.DHead
	kvRow := s.NKVHeads * s.DHead
	if len(segs) != s.T || len(pos) != s.T || len(q) != s.T*row || len(z) != s.T*row {
		return fmt.Errorf("attn: decode shape %+v wants %d rows of segments and positions and q and z of %d floats, got %d, %d, %d, %d",
			s, s.T, s.T*row, len(segs), len(pos), len(q), len(z))
	}
	for r, ss := range segs {
		for i, sg := range ss {
			if sg.N < 0 || sg.Start < 0 || (sg.KT == nil && len(sg.K) < sg.N*kvRow) || (sg.KT != nil && len(sg.KT) < sg.N*kvRow) || (sg.VT == nil && len(sg.V) < sg.N*kvRow) || (sg.VT != nil && len(sg.VT) < sg.N*kvRow) || sg.Start+sg.N > pos[r]+1 ||
				i > 0 && sg.Start < ss[i-1].Start+ss[i-1].N {
				return fmt.Errorf("attn: decode row %d segment %d (start %d, %d positions, %d/%d floats) does not fit query position %d",
					r, i, sg.Start, sg.N, len(sg.K), len(sg.V), pos[r])
			}
		}
	}
	parallel(s.T*s.NKVHeads, func() func(int) {
		w := &decodeWorker{s: s, group: s.NHeads / s.NKVHeads}
		return func(i int) {
			w.item(z, q, segs[i/s.NKVHeads], pos[i/s.NKVHeads], i/s.NKVHeads, i%s.NKVHeads, scale, window)
		}
	})
	return nil
}

// decodeWorker holds one goroutine's buffers for Decode.
type decodeWorker struct {
	s      Shape
	group  int
	qt     []float32 // [group, DHead] scaled queries
	scores []float32 // [group, visible keys]
	acc    []float32 // [group, DHead]
}

// item computes z for the query heads of kv head h in row r.
func (w *decodeWorker) item(z, q []float32, segs []Segment, pos, r, h int, scale float32, window int) {
	s := w.s
	dh, g := s.DHead, w.group
	rowOff := r * s.NHeads * dh
	out := z[rowOff+h*g*dh:][:g*dh]
	// Visible part of each segment and their total.
	lo := max(0, pos-window+1)
	n := 0
	for _, sg := range segs {
		a, b := max(sg.Start, lo), min(sg.Start+sg.N, pos+1)
		n += max(0, b-a)
	}
	if n == 0 {
		clear(out)
		return
	}
	if cap(w.qt) < g*dh {
		w.qt, w.acc = make([]float32, g*dh), make([]float32, g*dh)
	}
	if cap(w.scores) < g*n {
		w.scores = make([]float32, g*n+g*n/2)
	}
	qt, acc, sc := w.qt[:g*dh], w.acc[:g*dh], w.scores[:g*n]
	for i, x := range q[rowOff+h*g*dh:][:g*dh] {
		qt[i] = x * scale
	}
	kvStride := s.NKVHeads * dh
	col := 0
	for _, sg := range segs {
		a, b := max(sg.Start, lo), min(sg.Start+sg.N, pos+1)
		if b <= a {
			continue
		}
		// scores[i, col:col+b−a] = qt[i] · Kᵀ over the segment's visible rows, one query head at a time:
		// sgemm's one-row path reads the strided keys in place (a multi-row product would pack them).
		if sg.KT != nil {
			kt := sg.KT[h*dh*sg.N+a-sg.Start:]
			for i := range g {
				sgemm.SgemmSerial(false, false, 1, b-a, dh, 1, qt[i*dh:], dh, kt, sg.N, 0, sc[i*n+col:], n)
			}
		} else {
			kseg := sg.K[(a-sg.Start)*kvStride+h*dh:]
			for i := range g {
				sgemm.SgemmSerial(false, true, 1, b-a, dh, 1, qt[i*dh:], dh, kseg, kvStride, 0, sc[i*n+col:], n)
			}
		}
		col += b - a
	}
	for i := range g {
		row := sc[i*n:][:n]
		softcap(row, nil, s.Cap)
		mx := vmath.RowMax(row, float32(math.Inf(-1)))
		sum := vmath.ExpShift(row, mx)
		inv := 1 / sum
		for j := range row {
			row[j] *= inv
		}
	}
	clear(acc)
	col = 0
	for _, sg := range segs {
		a, b := max(sg.Start, lo), min(sg.Start+sg.N, pos+1)
		if b <= a {
			continue
		}
		if sg.VT != nil {
			vt := sg.VT[h*dh*sg.N+a-sg.Start:]
			for i := range g {
				sgemm.SgemmSerial(false, true, 1, dh, b-a, 1, sc[i*n+col:], n, vt, sg.N, 1, acc[i*dh:], dh)
			}
		} else {
			vseg := sg.V[(a-sg.Start)*kvStride+h*dh:]
			for i := range g {
				sgemm.SgemmSerial(false, false, 1, dh, b-a, 1, sc[i*n+col:], n, vseg, kvStride, 1, acc[i*dh:], dh)
			}
		}
		col += b - a
	}
	copy(out, acc)
}
