package backend_test

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestWeightsStayOnDevice checks what doc.go promises: a *tensors.Tensor passed to Exec is moved to
// the device once and the same device buffer is reused by later executions.
func TestWeightsStayOnDevice(t *testing.T) {
	tests := []struct {
		name       string
		get        func(testing.TB) backends.Backend
		wantShared bool // the tensor's host copy is freed and it becomes a view of device memory
	}{
		{"go", needGo, true},
		{"xla", needXLA, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.get(t)
			exec, err := graph.NewExec(b, graph.MatMul)
			if err != nil {
				t.Fatal(err)
			}
			defer exec.Finalize()
			w := tensors.FromFlatDataAndDimensions(make([]float32, 64*32), 64, 32)
			if err := w.MaterializeOnDevice(b, true, 0); err != nil {
				t.Fatalf("MaterializeOnDevice: %v", err)
			}
			before, err := w.Buffer(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				x := tensors.FromFlatDataAndDimensions(make([]float32, 2*64), 2, 64)
				outs, err := exec.Exec(x, w)
				if err != nil {
					t.Fatalf("Exec #%d: %v", i, err)
				}
				if !outs[0].IsOnDevice(0) {
					t.Errorf("Exec #%d output IsOnDevice(0) = false, want true (outputs stay on the device)", i)
				}
				outs[0].MustFinalizeAll()
			}
			after, err := w.Buffer(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("weight device buffer after 3 executions = %v, want the same buffer %v", after, before)
			}
			if !w.IsOnDevice(0) || w.IsShared() != tc.wantShared {
				t.Errorf("weight IsOnDevice(0) = %v, IsShared() = %v; want true, %v", w.IsOnDevice(0), w.IsShared(), tc.wantShared)
			}
		})
	}
}
