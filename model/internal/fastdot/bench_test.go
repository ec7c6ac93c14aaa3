package fastdot

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// BenchmarkEinsum runs a 2048×576×1536 product (SmolLM2-135M MLP up-projection over 2,048 tokens) as a
// GoMLX graph on SimpleGo, with the stock DotGeneral executor and with the installed one. "hf" is the
// Hugging Face weight layout [out, in].
func BenchmarkEinsum(b *testing.B) {
	be := newBackend(b)
	r := rand.New(rand.NewPCG(1, 1))
	const s, d, f = 2048, 576, 1536
	x, _ := randTensor(r, []int{s, d})
	for _, layout := range []struct {
		name, eq string
		w        []int
	}{{"in_out", "sd,df->sf", []int{d, f}}, {"hf", "sd,fd->sf", []int{f, d}}} {
		w, _ := randTensor(r, layout.w)
		exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node { return graph.Einsum(layout.eq, x, w) })
		if err != nil {
			b.Fatal(err)
		}
		for _, impl := range []struct {
			name string
			fn   nodeExecutor
		}{{"stock", stockDotGeneral}, {"fastdot", execDotGeneral}} {
			b.Run(fmt.Sprintf("%dx%dx%d_%s_%s", s, d, f, layout.name, impl.name), func(b *testing.B) {
				setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, impl.fn)
				defer setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, execDotGeneral)
				for b.Loop() {
					out, err := exec.Exec(x, w)
					if err != nil {
						b.Fatal(err)
					}
					out[0].FinalizeAll()
				}
				b.ReportMetric(2*s*d*f*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
