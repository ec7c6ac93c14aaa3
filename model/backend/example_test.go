package backend_test

import (
	"fmt"

	"github.com/agentlens/agentlens/model/backend"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Example creates the pure-Go backend and runs a softmax on it. Use backend.Auto (or an empty name,
// which reads $AGENTLENS_BACKEND) to get XLA when its plugin is in the cache.
func Example() {
	b, info, err := backend.New(backend.Go, backend.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Finalize()
	fmt.Println(info)

	exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.Softmax(x, -1) })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exec.Finalize()
	out, err := exec.Exec(tensors.FromValue([]float32{0, 0, 0, 0}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out[0].Value())
	// Output:
	// backend go (go): requested
	// [0.25 0.25 0.25 0.25]
}

// ExampleNew_auto shows the fallback: with no plugin in the cache, auto runs on the Go backend and
// Info says why.
func ExampleNew_auto() {
	b, info, err := backend.New(backend.Auto, backend.Options{PluginPath: "/nonexistent/" + backend.PluginFileName})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Finalize()
	fmt.Println(info.Requested, "->", info.Name)
	// Output:
	// auto -> go
}
