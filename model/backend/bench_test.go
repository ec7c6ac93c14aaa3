package backend_test

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// benchBackends lists the backends benchmarked; xla is skipped when unavailable.
var benchBackends = []struct {
	name string
	get  func(testing.TB) backends.Backend
}{
	{"go", needGo},
	{"xla", needXLA},
}

// resident returns an [rows, cols] f32 tensor of small values materialised on b's device 0.
func resident(b testing.TB, be backends.Backend, rows, cols int) *tensors.Tensor {
	b.Helper()
	flat := make([]float32, rows*cols)
	for i := range flat {
		flat[i] = float32(i%7) * 0.01
	}
	t := tensors.FromFlatDataAndDimensions(flat, rows, cols)
	if err := t.MaterializeOnDevice(be, true, 0); err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkMatMul measures f32 [m,k]·[k,n] with both operands resident on the device, reporting
// GFLOP/s (2mkn per op). Run: AGENTLENS_CACHE=/work/cache go test -run ^$ -bench MatMul ./model/backend/
func BenchmarkMatMul(b *testing.B) {
	sizes := [][3]int{{1024, 1024, 1024}, {2048, 576, 1536}, {1, 896, 4864}}
	for _, bb := range benchBackends {
		for _, s := range sizes {
			m, k, n := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", bb.name, m, k, n), func(b *testing.B) {
				be := bb.get(b)
				exec, err := graph.NewExec(be, graph.MatMul)
				if err != nil {
					b.Fatal(err)
				}
				defer exec.Finalize()
				lhs, rhs := resident(b, be, m, k), resident(b, be, k, n)
				run := func() {
					outs, err := exec.Exec(lhs, rhs)
					if err != nil {
						b.Fatal(err)
					}
					outs[0].MustFinalizeAll()
				}
				run() // compile outside the timed loop
				b.ResetTimer()
				for b.Loop() {
					run()
				}
				b.ReportMetric(2*float64(m)*float64(k)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkWeights compares a GEMV against a 64 MB weight passed as the same resident *tensors.Tensor
// every call ("resident") with the weight passed as a fresh host tensor over the same Go slice, which
// Exec uploads on every call ("upload"; this is also what passing a flat Go value costs, minus the
// conversion).
func BenchmarkWeights(b *testing.B) {
	const d = 4096
	for _, bb := range benchBackends {
		for _, mode := range []string{"resident", "upload"} {
			b.Run(bb.name+"/"+mode, func(b *testing.B) {
				be := bb.get(b)
				exec, err := graph.NewExec(be, graph.MatMul)
				if err != nil {
					b.Fatal(err)
				}
				defer exec.Finalize()
				x := resident(b, be, 1, d)
				w := resident(b, be, d, d)
				flat := make([]float32, d*d)
				run := func() {
					if mode == "upload" {
						w = tensors.FromFlatDataAndDimensions(flat, d, d)
					}
					outs, err := exec.Exec(x, w)
					if err != nil {
						b.Fatal(err)
					}
					outs[0].MustFinalizeAll()
					if mode == "upload" {
						w.MustFinalizeAll()
					}
				}
				run()
				b.ResetTimer()
				for b.Loop() {
					run()
				}
			})
		}
	}
}
