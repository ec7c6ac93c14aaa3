package fastdot

import (
	"math"
	"reflect"
	_ "unsafe" // for go:linkname

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// This file replaces SimpleGo's float32 ReduceSum and ReduceMax when the reduced axes are one contiguous
// block (a softmax's max and sum over keys, RMSNorm's mean over d_model, a bias gradient's sum over
// positions): the stock executor advances a multi-axis output iterator for every input element. Here an
// input viewed as [outer, reduced, inner] is reduced row by row, accumulating in the stock order (each
// output element sees the reduced positions in increasing order from the same initial value), so results
// are bit-identical.

//go:linkname stockReduce github.com/gomlx/gomlx/backends/simplego.execReduce
func stockReduce(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

// installReduce registers the contiguous-block reductions.
func installReduce() {
	setNodeExecutor(backends.OpTypeReduceSum, priorityUser, func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error) {
		if out, ok := blockReduce(backend, node, inputs, false); ok {
			return out, nil
		}
		return stockReduce(backend, node, inputs, inputsOwned)
	})
	setNodeExecutor(backends.OpTypeReduceMax, priorityUser, func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error) {
		if out, ok := blockReduce(backend, node, inputs, true); ok {
			return out, nil
		}
		return stockReduce(backend, node, inputs, inputsOwned)
	})
}

// reduceAxes reads a reduce node's axes (its data field holds a []int); ok is false otherwise.
func reduceAxes(node *simplego.Node) ([]int, bool) {
	if node == nil || layout.paramsType == nil {
		return nil, false
	}
	d := reflect.ValueOf(node).Elem().Field(layout.dataField)
	if d.IsNil() || d.Elem().Kind() != reflect.Slice || d.Elem().Type().Elem().Kind() != reflect.Int {
		return nil, false
	}
	s := d.Elem()
	axes := make([]int, s.Len())
	for i := range axes {
		axes[i] = int(s.Index(i).Int())
	}
	return axes, true
}

// blockReduce reduces a float32 input over one contiguous block of increasing axes; ok is false, with
// nothing allocated, for anything else.
func blockReduce(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, isMax bool) (*simplego.Buffer, bool) {
	if backend == nil || len(inputs) != 1 || inputs[0] == nil {
		return nil, false
	}
	axes, ok := reduceAxes(node)
	if !ok || len(axes) == 0 {
		return nil, false
	}
	sh, err := backend.BufferShape(inputs[0])
	if err != nil || sh.DType != dtypes.Float32 {
		return nil, false
	}
	dims := sh.Dimensions
	first := axes[0]
	for i, a := range axes {
		if a != first+i || a >= len(dims) {
			return nil, false
		}
	}
	outer, mid, inner := numel(dims[:first]), numel(dims[first:first+len(axes)]), numel(dims[first+len(axes):])
	x, ok := float32Data(backend, inputs[0], outer*mid*inner)
	if !ok {
		return nil, false
	}
	outDims := append(append([]int(nil), dims[:first]...), dims[first+len(axes):]...)
	outBuf, out, ok := newFloat32(backend, outDims...)
	if !ok {
		return nil, false
	}
	init := float32(0)
	if isMax {
		init = float32(math.Inf(-1))
	}
	for o := 0; o < outer; o++ {
		block := x[o*mid*inner : (o+1)*mid*inner]
		if inner == 1 {
			acc := init
			if isMax {
				for _, v := range block {
					acc = max(acc, v)
				}
			} else {
				for _, v := range block {
					acc += v
				}
			}
			out[o] = acc
			continue
		}
		dst := out[o*inner : (o+1)*inner]
		for i := range dst {
			dst[i] = init
		}
		for m := 0; m < mid; m++ {
			row := block[m*inner : (m+1)*inner]
			if isMax {
				for i, v := range row {
					dst[i] = max(dst[i], v)
				}
			} else {
				for i, v := range row {
					dst[i] += v
				}
			}
		}
	}
	return outBuf, true
}
