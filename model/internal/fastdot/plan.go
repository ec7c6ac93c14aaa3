package fastdot

import (
	"fmt"
	"slices"

	"github.com/agentlens/agentlens/model/internal/sgemm"
)

// problem is a DotGeneral recast as batch GEMMs: out[i] (m×n, contiguous) = A_i (m×k) · B_iᵀ where B_i
// is the rhs's n×k matrix for batch item i.
type problem struct {
	batch, m, n, k int
	lhs, rhs       view
}

// view is how one operand yields its batch of [cross, contracting] matrices.
type view struct {
	dims    []int
	rows    int   // cross size (m or n)
	cols    int   // contracting size (k)
	offsets []int // start of each batch item's matrix in the (possibly packed) data
	// colMajor: element (r, c) is at offset + c·ld + r; otherwise at offset + r·ld + c.
	colMajor bool
	ld       int
	// pack, when set, is the axis permutation (batch, cross, contracting axes) that copies the operand
	// into a contiguous [batch, rows, cols] array first, because its axes cannot be read in place.
	pack []int
}

// plan maps DotGeneral parameters and operand dimensions to a problem; false when the parameters are
// inconsistent with the dimensions (then the stock executor decides what to do).
func plan(p params, lhsDims, rhsDims []int) (*problem, bool) {
	if len(p.lhsBatch) != len(p.rhsBatch) || len(p.lhsContracting) != len(p.rhsContracting) {
		return nil, false
	}
	for i := range p.lhsBatch {
		if !inRange(p.lhsBatch[i], lhsDims) || !inRange(p.rhsBatch[i], rhsDims) ||
			lhsDims[p.lhsBatch[i]] != rhsDims[p.rhsBatch[i]] {
			return nil, false
		}
	}
	for i := range p.lhsContracting {
		if !inRange(p.lhsContracting[i], lhsDims) || !inRange(p.rhsContracting[i], rhsDims) ||
			lhsDims[p.lhsContracting[i]] != rhsDims[p.rhsContracting[i]] {
			return nil, false
		}
	}
	lv, ok1 := newView(lhsDims, p.lhsBatch, p.lhsContracting)
	rv, ok2 := newView(rhsDims, p.rhsBatch, p.rhsContracting)
	if !ok1 || !ok2 || len(lv.offsets) != p.batchSize || lv.rows != p.lhsCross || rv.rows != p.rhsCross ||
		lv.cols != p.contracting || rv.cols != p.contracting || p.batchSize*p.lhsCross*p.rhsCross == 0 {
		return nil, false
	}
	return &problem{batch: p.batchSize, m: lv.rows, n: rv.rows, k: lv.cols, lhs: lv, rhs: rv}, true
}

func inRange(axis int, dims []int) bool { return axis >= 0 && axis < len(dims) }

// newView works out how to read the [batch][cross, contracting] matrices of a row-major tensor with the
// given batch and contracting axes (cross axes are the rest, in increasing order, as in DotGeneral's
// output). False when an axis is repeated.
func newView(dims, batchAxes, contractingAxes []int) (view, bool) {
	rank := len(dims)
	role := make([]int, rank) // 0 cross, 1 batch, 2 contracting
	for _, a := range batchAxes {
		if role[a] != 0 {
			return view{}, false
		}
		role[a] = 1
	}
	for _, a := range contractingAxes {
		if role[a] != 0 {
			return view{}, false
		}
		role[a] = 2
	}
	var crossAxes []int
	for a := range rank {
		if role[a] == 0 {
			crossAxes = append(crossAxes, a)
		}
	}
	strides := make([]int, rank)
	s := 1
	for a := rank - 1; a >= 0; a-- {
		strides[a] = s
		s *= dims[a]
	}
	v := view{dims: dims}
	var rowStride, colStride int
	var rowsOK, colsOK bool
	v.rows, rowStride, rowsOK = group(dims, strides, crossAxes)
	v.cols, colStride, colsOK = group(dims, strides, contractingAxes)
	if rowsOK && colsOK {
		switch {
		case v.cols == 1 || colStride == 1:
			v.ld = v.cols
			if v.rows > 1 {
				v.ld = rowStride
			}
			rowsOK = v.ld >= v.cols
		case v.rows == 1 || rowStride == 1:
			v.colMajor = true
			v.ld = v.rows
			if v.cols > 1 {
				v.ld = colStride
			}
			rowsOK = v.ld >= v.rows
		default:
			rowsOK = false
		}
	}
	if rowsOK && colsOK {
		v.offsets = batchOffsets(dims, strides, batchAxes)
		return v, true
	}
	// Not readable in place: pack into [batch, rows, cols].
	v.pack = slices.Concat(batchAxes, crossAxes, contractingAxes)
	v.colMajor = false
	v.ld = max(1, v.cols)
	nb := 1
	for _, a := range batchAxes {
		nb *= dims[a]
	}
	v.offsets = make([]int, nb)
	for i := range v.offsets {
		v.offsets[i] = i * v.rows * v.cols
	}
	return v, true
}

// group merges axes (in the given order) into one: its size, and the stride of one step of the merged
// index when consecutive axes nest exactly (ok false otherwise, with the size still right). Size-1
// axes are ignored; a group of size 1 has stride 0.
func group(dims, strides, axes []int) (size, stride int, ok bool) {
	size, ok = 1, true
	last := -1
	for _, a := range axes {
		if dims[a] == 1 {
			continue
		}
		if last >= 0 && strides[last] != strides[a]*dims[a] {
			ok = false
		}
		size *= dims[a]
		last = a
	}
	if last < 0 || !ok {
		return size, 0, ok
	}
	return size, strides[last], true
}

// batchOffsets lists the start offset of each batch item, batch axes varying in the given order
// (last fastest), as DotGeneral lays out its batch dimension.
func batchOffsets(dims, strides, batchAxes []int) []int {
	n := 1
	for _, a := range batchAxes {
		n *= dims[a]
	}
	offs := make([]int, n)
	idx := make([]int, len(batchAxes))
	off := 0
	for i := range offs {
		offs[i] = off
		for j := len(batchAxes) - 1; j >= 0; j-- {
			a := batchAxes[j]
			idx[j]++
			off += strides[a]
			if idx[j] < dims[a] {
				break
			}
			off -= strides[a] * dims[a]
			idx[j] = 0
		}
	}
	return offs
}

// data returns the operand's storage as the view reads it, packing it first when needed.
func (v *view) data(flat []float32) []float32 {
	if v.pack == nil {
		return flat
	}
	out := make([]float32, len(flat))
	permute(out, flat, v.dims, v.pack)
	return out
}

// permute writes into dst the row-major tensor src (dimensions dims) with its axes reordered by perm:
// dst axis i is src axis perm[i].
func permute(dst, src []float32, dims, perm []int) {
	rank := len(perm)
	if rank == 0 {
		copy(dst, src)
		return
	}
	srcStrides := make([]int, len(dims))
	s := 1
	for a := len(dims) - 1; a >= 0; a-- {
		srcStrides[a] = s
		s *= dims[a]
	}
	outDims := make([]int, rank)
	st := make([]int, rank)
	for i, a := range perm {
		outDims[i], st[i] = dims[a], srcStrides[a]
	}
	inner, innerStride := outDims[rank-1], st[rank-1]
	if inner == 0 {
		return
	}
	idx := make([]int, rank)
	off := 0
	for o := 0; o < len(dst); o += inner {
		d := dst[o : o+inner]
		if innerStride == 1 {
			copy(d, src[off:off+inner])
		} else {
			for i := range d {
				d[i] = src[off+i*innerStride]
			}
		}
		for ax := rank - 2; ax >= 0; ax-- {
			idx[ax]++
			off += st[ax]
			if idx[ax] < outDims[ax] {
				break
			}
			off -= st[ax] * outDims[ax]
			idx[ax] = 0
		}
	}
}

// run computes out = [batch, m, n] from the operands' flat data. sgemm panics only on inconsistent
// arguments, which would be a bug here: it is turned into an error rather than crashing the program.
func (pr *problem) run(lhs, rhs, out []float32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sgemm: %v", r)
		}
	}()
	a, b := pr.lhs.data(lhs), pr.rhs.data(rhs)
	offC := make([]int, pr.batch)
	for i := range offC {
		offC[i] = i * pr.m * pr.n
	}
	// A_i = lhs matrix (m×k): row-major means no transpose. op(B_i) = rhs matrixᵀ (k×n): a row-major
	// n×k rhs matrix is read transposed.
	sgemm.SgemmBatchOffsets(pr.lhs.colMajor, !pr.rhs.colMajor, pr.m, pr.n, pr.k, 1, a, pr.lhs.ld, pr.lhs.offsets,
		b, pr.rhs.ld, pr.rhs.offsets, 0, out, pr.n, offC)
	return nil
}
