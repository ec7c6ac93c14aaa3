//go:build cgo && !noxla && linux

package backend_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/agentlens/agentlens/model/backend"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestHeapKept checks that with glibc kept from returning freed memory, an XLA execution with a 64 MiB
// temporary (a [4096, 4096] score matrix, as attention makes) reuses memory once warm instead of faulting
// in fresh zero pages: with glibc's defaults each call costs about one minor fault per 4 KiB page of it
// (16,384 here; measured 17,319).
func TestHeapKept(t *testing.T) {
	if os.Getenv("AGENTLENS_MALLOC") == "default" || os.Getenv("GLIBC_TUNABLES") != "" {
		t.Skip("malloc left at glibc's settings by the environment")
	}
	if !backend.HeapKept() {
		t.Fatal("HeapKept() = false: the constructor's mallopt calls failed")
	}
	b := needXLA(t)
	const rows = 4096
	exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node {
		s := graph.DotGeneral(x, []int{1}, nil, x, []int{1}, nil) // [rows, rows] scores, an XLA temporary
		return graph.ReduceMax(graph.Exp(s), -1)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	x := tensors.FromFlatDataAndDimensions(make([]float32, rows*64), rows, 64)
	faults := func() int64 {
		var r syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
			t.Fatal(err)
		}
		return r.Minflt
	}
	const warm, runs = 16, 16 // the first calls compile and grow the heap to its working size
	var before int64
	for i := range warm + runs {
		if i == warm {
			before = faults()
		}
		outs, err := exec.Exec(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	pages := int64(rows * rows * 4 / os.Getpagesize())
	perRun := (faults() - before) / runs
	t.Logf("%d minor page faults per execution, %d pages in the temporary", perRun, pages)
	if perRun > pages/2 {
		t.Errorf("%d minor page faults per execution with a %d-page temporary, want < %d (memory is not reused)", perRun, pages, pages/2)
	}
}
