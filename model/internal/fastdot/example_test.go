package fastdot_test

import (
	"fmt"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/agentlens/agentlens/model/internal/fastdot"
)

func ExampleInstall() {
	if err := fastdot.Install(); err != nil {
		fmt.Println("stock DotGeneral kept:", err)
		return
	}
	backend, err := simplego.New("ops_sequential")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer backend.Finalize()
	x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	w := tensors.FromFlatDataAndDimensions([]float32{1, 0, 1, 0, 1, 1}, 2, 3) // [out, in], HF layout
	y, err := graph.ExecOnce(backend, func(x, w *graph.Node) *graph.Node {
		return graph.Einsum("si,oi->so", x, w)
	}, x, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Value())
	// Output: [[4 5] [10 11]]
}
