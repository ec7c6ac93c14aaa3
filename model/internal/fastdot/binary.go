package fastdot

import (
	"runtime"
	"sync"
	"sync/atomic"
	_ "unsafe" // for go:linkname

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// This file replaces SimpleGo's float32 Add, Sub, Mul and Div when one operand is broadcast (a softmax's
// x − max and ÷ sum, a mask added to every head's scores, RMSNorm's x·rsqrt, a weight row): the stock
// executors advance a per-element multi-axis iterator for each operand, which made them a fifth of a
// forward pass. Here the axes are merged into runs that are either shared or broadcast by one side, and
// the innermost run is a plain loop. Same shapes and scalars stay with the stock executors (already plain
// loops), as does every other dtype.

// Stock executors, for what the broadcast path does not handle.
//
//go:linkname stockAdd github.com/gomlx/gomlx/backends/simplego.execAdd
func stockAdd(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

//go:linkname stockSub github.com/gomlx/gomlx/backends/simplego.execSub
func stockSub(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

//go:linkname stockMul github.com/gomlx/gomlx/backends/simplego.execMul
func stockMul(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

//go:linkname stockDiv github.com/gomlx/gomlx/backends/simplego.execDiv
func stockDiv(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

// binaryOp is one of the replaced operations.
type binaryOp int

const (
	opAdd binaryOp = iota
	opSub
	opMul
	opDiv
)

// installBinary registers the broadcast-aware executors.
func installBinary() {
	for _, r := range []struct {
		t     backends.OpType
		op    binaryOp
		stock nodeExecutor
	}{
		{backends.OpTypeAdd, opAdd, stockAdd},
		{backends.OpTypeSub, opSub, stockSub},
		{backends.OpTypeMul, opMul, stockMul},
		{backends.OpTypeDiv, opDiv, stockDiv},
	} {
		op, stock := r.op, r.stock
		setNodeExecutor(r.t, priorityUser, func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error) {
			if out, ok := broadcastBinary(backend, op, inputs); ok {
				return out, nil
			}
			if out, ok := sameShapeBinary(backend, op, inputs, inputsOwned); ok {
				return out, nil
			}
			return stock(backend, node, inputs, inputsOwned)
		})
	}
}

// broadcastBinary computes op on float32 operands of equal rank whose shapes differ (each axis equal or 1
// on one side); ok is false, with nothing allocated, for anything else. It runs on one goroutine:
// splitting its outer run with parallelSplit made the go backend's 1k forward no faster on a 2-core
// AMD EPYC (paired runs, 2026-12-07), unlike the same-shape operations.
func broadcastBinary(backend *simplego.Backend, op binaryOp, inputs []*simplego.Buffer) (*simplego.Buffer, bool) {
	if backend == nil || len(inputs) != 2 || inputs[0] == nil || inputs[1] == nil {
		return nil, false
	}
	ls, err1 := backend.BufferShape(inputs[0])
	rs, err2 := backend.BufferShape(inputs[1])
	if err1 != nil || err2 != nil || ls.DType != dtypes.Float32 || rs.DType != dtypes.Float32 ||
		ls.Rank() != rs.Rank() || ls.Size() == 1 || rs.Size() == 1 || ls.Equal(rs) {
		return nil, false
	}
	runs, ok := mergeAxes(ls.Dimensions, rs.Dimensions)
	if !ok {
		return nil, false
	}
	lhs, ok1 := float32Data(backend, inputs[0], ls.Size())
	rhs, ok2 := float32Data(backend, inputs[1], rs.Size())
	if !ok1 || !ok2 {
		return nil, false
	}
	dims := make([]int, ls.Rank())
	for i := range dims {
		dims[i] = max(ls.Dimensions[i], rs.Dimensions[i])
	}
	outBuf, out, ok := newFloat32(backend, dims...)
	if !ok {
		return nil, false
	}
	applyRuns(op, runs, lhs, rhs, out)
	return outBuf, true
}

// sameShapeRuns counts the buffers sameShapeBinary computed (tests check it is used).
var sameShapeRuns atomic.Int64

// sameShapeBinary computes op on two float32 operands of the same shape, of parallelMin elements or
// more, split across up to GOMAXPROCS goroutines (the stock executor loops on one; the residual adds
// and SwiGLU's gate·up products of a pure-Go pass are such operations). It writes in place into an
// owned operand (taking it over, as SimpleGo's executors do, by clearing its inputs entry) or into a
// new buffer. Each element is the same float32 operation on the same two numbers as the stock
// executor's: bit-identical. ok is false, with nothing allocated, for anything else.
func sameShapeBinary(backend *simplego.Backend, op binaryOp, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, bool) {
	if backend == nil || len(inputs) != 2 || inputs[0] == nil || inputs[1] == nil || len(inputsOwned) != 2 ||
		inputs[0] == inputs[1] {
		return nil, false
	}
	ls, err1 := backend.BufferShape(inputs[0])
	rs, err2 := backend.BufferShape(inputs[1])
	if err1 != nil || err2 != nil || ls.DType != dtypes.Float32 || !ls.Equal(rs) || ls.Size() < parallelMin {
		return nil, false
	}
	lhs, ok1 := float32Data(backend, inputs[0], ls.Size())
	rhs, ok2 := float32Data(backend, inputs[1], rs.Size())
	if !ok1 || !ok2 {
		return nil, false
	}
	var outBuf *simplego.Buffer
	var out []float32
	taken := -1
	switch {
	case inputsOwned[0]:
		outBuf, out, taken = inputs[0], lhs, 0
	case inputsOwned[1]:
		outBuf, out, taken = inputs[1], rhs, 1
	default:
		var ok bool
		if outBuf, out, ok = newFloat32(backend, ls.Dimensions...); !ok {
			return nil, false
		}
	}
	parallelSplit(len(out), len(out), func(lo, hi int) { loopVV(op, lhs[lo:hi], rhs[lo:hi], out[lo:hi]) })
	if taken >= 0 {
		inputs[taken] = nil
	}
	sameShapeRuns.Add(1)
	return outBuf, true
}

// run is a group of adjacent axes, n positions in all, over which each operand either advances (stride
// its inner size) or stays (stride 0).
type run struct {
	n            int
	lStep, rStep bool // lStep, rStep: the lhs, the rhs advances
}

// mergeAxes groups the axes of two broadcast-compatible shapes into runs, outermost first; axes of size 1
// on both sides are dropped. ok is false when some axis differs with neither side 1.
func mergeAxes(l, r []int) ([]run, bool) {
	var runs []run
	for i := range l {
		if l[i] != r[i] && l[i] != 1 && r[i] != 1 {
			return nil, false
		}
		n := max(l[i], r[i])
		if n == 1 {
			continue
		}
		cur := run{n: n, lStep: l[i] == n, rStep: r[i] == n}
		if k := len(runs) - 1; k >= 0 && runs[k].lStep == cur.lStep && runs[k].rStep == cur.rStep {
			runs[k].n *= n
			continue
		}
		runs = append(runs, cur)
	}
	return runs, true
}

// applyRuns writes op(lhs, rhs) broadcast over runs into out (row-major over the runs).
func applyRuns(op binaryOp, runs []run, lhs, rhs, out []float32) {
	if len(runs) == 0 {
		out[0] = apply1(op, lhs[0], rhs[0])
		return
	}
	var rec func(depth, lOff, rOff, oOff int)
	// Sizes of the operands and output below each depth.
	lIn, rIn, oIn := make([]int, len(runs)), make([]int, len(runs)), make([]int, len(runs))
	l, r, o := 1, 1, 1
	for i := len(runs) - 1; i >= 0; i-- {
		lIn[i], rIn[i], oIn[i] = l, r, o
		if runs[i].lStep {
			l *= runs[i].n
		}
		if runs[i].rStep {
			r *= runs[i].n
		}
		o *= runs[i].n
	}
	last := len(runs) - 1
	rec = func(depth, lOff, rOff, oOff int) {
		rn := runs[depth]
		if depth == last {
			n := rn.n
			dst := out[oOff : oOff+n]
			switch {
			case rn.lStep && rn.rStep:
				loopVV(op, lhs[lOff:lOff+n], rhs[rOff:rOff+n], dst)
			case rn.lStep:
				loopVS(op, lhs[lOff:lOff+n], rhs[rOff], dst)
			default:
				loopSV(op, lhs[lOff], rhs[rOff:rOff+n], dst)
			}
			return
		}
		for i := 0; i < rn.n; i++ {
			lo, ro := lOff, rOff
			if rn.lStep {
				lo += i * lIn[depth]
			}
			if rn.rStep {
				ro += i * rIn[depth]
			}
			rec(depth+1, lo, ro, oOff+i*oIn[depth])
		}
	}
	rec(0, 0, 0, 0)
}

// parallelSplit calls fn on consecutive ranges covering [0, n), in parallel on up to GOMAXPROCS
// goroutines when the work touches size ≥ parallelMin elements (at least parallelMin/2 per
// goroutine), else once on this goroutine.
func parallelSplit(n, size int, fn func(lo, hi int)) {
	parts := 1
	if size >= parallelMin {
		parts = min(runtime.GOMAXPROCS(0), size/(parallelMin/2), n)
	}
	if parts <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

func apply1(op binaryOp, a, b float32) float32 {
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	}
	return a / b
}

func loopVV(op binaryOp, a, b, dst []float32) {
	b, dst = b[:len(a)], dst[:len(a)]
	switch op {
	case opAdd:
		for i, x := range a {
			dst[i] = x + b[i]
		}
	case opSub:
		for i, x := range a {
			dst[i] = x - b[i]
		}
	case opMul:
		for i, x := range a {
			dst[i] = x * b[i]
		}
	default:
		for i, x := range a {
			dst[i] = x / b[i]
		}
	}
}

func loopVS(op binaryOp, a []float32, c float32, dst []float32) {
	dst = dst[:len(a)]
	switch op {
	case opAdd:
		for i, x := range a {
			dst[i] = x + c
		}
	case opSub:
		for i, x := range a {
			dst[i] = x - c
		}
	case opMul:
		for i, x := range a {
			dst[i] = x * c
		}
	default:
		for i, x := range a {
			dst[i] = x / c
		}
	}
}

func loopSV(op binaryOp, c float32, b, dst []float32) {
	dst = dst[:len(b)]
	switch op {
	case opAdd:
		for i, x := range b {
			dst[i] = c + x
		}
	case opSub:
		for i, x := range b {
			dst[i] = c - x
		}
	case opMul:
		for i, x := range b {
			dst[i] = c * x
		}
	default:
		for i, x := range b {
			dst[i] = c / x
		}
	}
}

func numel(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
