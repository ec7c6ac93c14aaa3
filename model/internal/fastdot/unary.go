package fastdot

import (
	"sync/atomic"
	_ "unsafe" // for go:linkname

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/agentlens/agentlens/model/internal/vmath"
)

// This file replaces SimpleGo's float32 Logistic (the sigmoid of SiLU, a sixth of a pure-Go forward
// pass): the stock executor calls float64 math.Exp element by element on one goroutine. Here
// vmath.Sigmoid (AVX2 exponential on amd64) runs on up to GOMAXPROCS goroutines. Results differ from the
// stock executor's by float32 rounding (within 4e-7 relative), not bit for bit.

//go:linkname stockLogistic github.com/gomlx/gomlx/backends/simplego.execLogistic
func stockLogistic(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

// logisticRuns counts the buffers the float32 executor computed (tests check it is used).
var logisticRuns atomic.Int64

// parallelMin is the smallest input split across goroutines.
const parallelMin = 1 << 15

// installUnary registers the float32 Logistic executor.
func installUnary() {
	setNodeExecutor(backends.OpTypeLogistic, priorityUser, func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error) {
		if out, ok := logistic(backend, inputs, inputsOwned); ok {
			return out, nil
		}
		return stockLogistic(backend, node, inputs, inputsOwned)
	})
}

// logistic computes the sigmoid of a float32 buffer, in place when the input is owned (taking it over,
// as SimpleGo's executors do, by clearing inputs[0]); ok is false, with nothing allocated, otherwise.
func logistic(backend *simplego.Backend, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, bool) {
	if backend == nil || len(inputs) != 1 || inputs[0] == nil || len(inputsOwned) != 1 {
		return nil, false
	}
	sh, err := backend.BufferShape(inputs[0])
	if err != nil || sh.DType != dtypes.Float32 {
		return nil, false
	}
	x, ok := float32Data(backend, inputs[0], sh.Size())
	if !ok {
		return nil, false
	}
	out, y := inputs[0], x
	if !inputsOwned[0] {
		if out, y, ok = newFloat32(backend, sh.Dimensions...); !ok {
			return nil, false
		}
	}
	parallelSplit(len(x), len(x), func(lo, hi int) { vmath.Sigmoid(y[lo:hi], x[lo:hi]) })
	if inputsOwned[0] {
		inputs[0] = nil
	}
	logisticRuns.Add(1)
	return out, true
}
